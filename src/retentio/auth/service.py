"""Rules of the auth domain: accounts, login with throttling, API tokens.

Services flush and never commit: the request or CLI command that calls them owns the
transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from retentio.auth import queries
from retentio.auth.models import ApiToken, LoginThrottle, Role, User
from retentio.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from retentio.errors import Conflict, InvalidInput, NotFound, TooManyAttempts
from retentio.kit.upsert import insert_or_ignore

TOKEN_PREFIX = "rt_"  # noqa: S105 - a public marker, not a secret


class EmailTaken(Conflict):
    code = "email_taken"


class PasswordTooShort(InvalidInput):
    code = "password_too_short"


class LastAdmin(Conflict):
    code = "last_admin"


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int
    ip_max_failures: int
    lockout: timedelta


def create_user(session: Session, *, email: str, name: str, role: Role, password: str) -> User:
    email = queries.normalize_email(email)
    if queries.user_by_email(session, email) is not None:
        raise EmailTaken(f"A user with e-mail {email} already exists.", details={"field": "email"})
    _check_password(password)
    user = User(email=email, name=name.strip(), role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def update_user(
    session: Session,
    user: User,
    *,
    name: str | None = None,
    role: Role | None = None,
    is_active: bool | None = None,
) -> User:
    demotes_admin = user.role == Role.ADMIN and (
        (role is not None and role != Role.ADMIN) or is_active is False
    )
    if demotes_admin and _active_admin_count(session) <= 1:
        raise LastAdmin("At least one active admin must remain.")
    if name is not None:
        user.name = name.strip()
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            user.session_epoch += 1
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = hash_password(password)
    user.session_epoch += 1
    session.flush()


def set_locale(session: Session, user: User, locale: str) -> None:
    user.locale = locale
    session.flush()


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    client_ip: str,
    policy: ThrottlePolicy,
    now: datetime,
) -> User | None:
    """The user for these credentials, or None; failures are counted even for unknown e-mails."""
    email_key, ip_key = f"email:{queries.normalize_email(email)}", f"ip:{client_ip}"
    if _is_locked(session, [email_key, ip_key], now):
        raise TooManyAttempts("Too many failed attempts. Try again later.")
    user = queries.user_by_email(session, email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        _record_failure(session, email_key, policy.max_failures, policy.lockout, now)
        _record_failure(session, ip_key, policy.ip_max_failures, policy.lockout, now)
        return None
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == email_key))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    session.flush()
    return user


def create_token(session: Session, user: User, *, name: str) -> tuple[ApiToken, str]:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name.strip(), token_hash=_digest(secret), prefix=secret[:10]
    )
    session.add(token)
    session.flush()
    return token, secret


def revoke_token(session: Session, user: User, token_id: int, *, now: datetime) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(f"API token {token_id} does not exist.")
    token.revoked_at = token.revoked_at or now
    session.flush()


def user_for_token(session: Session, secret: str, *, now: datetime) -> User | None:
    token = queries.active_token(session, _digest(secret))
    if token is None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    # Only touch the row once a minute: a token used by a busy integration must not turn every
    # read request into a write.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
        session.flush()
    return user


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(
            f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
            details={"field": "password"},
        )


def _active_admin_count(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).where(User.role == Role.ADMIN, User.is_active.is_(True))
        )
        or 0
    )


def _is_locked(session: Session, keys: list[str], now: datetime) -> bool:
    locked = session.scalar(
        select(func.count()).where(LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now)
    )
    return bool(locked)


def _record_failure(
    session: Session, key: str, max_failures: int, lockout: timedelta, now: datetime
) -> None:
    # Three atomic statements instead of read-modify-write, so parallel attempts all count.
    insert_or_ignore(session, LoginThrottle, {"key": key, "failures": 0, "window_started_at": now})
    row = LoginThrottle.__table__.c
    session.execute(
        update(LoginThrottle)
        .where(row.key == key, row.window_started_at < now - lockout)
        .values(failures=0, window_started_at=now, locked_until=None)
    )
    session.execute(update(LoginThrottle).where(row.key == key).values(failures=row.failures + 1))
    session.execute(
        update(LoginThrottle)
        .where(row.key == key, row.failures >= max_failures)
        .values(locked_until=now + lockout)
    )
