"""Reads of the auth domain."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.auth.models import ApiToken, User


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.email)).all()


def names_by_id(session: Session, user_ids: Collection[int]) -> dict[int, str]:
    """Display names of these users, in one query (for "who did it" columns)."""
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.name).where(User.id.in_(set(user_ids))))
    return dict(rows.all())


def user_choices(session: Session, *, keep: Collection[int] = ()) -> list[tuple[int, str]]:
    """Active users by name, for owner and watcher drop-downs; `keep` adds users already
    chosen (a disabled owner stays selected rather than being cleared by the next save)."""
    chosen = User.is_active.is_(True) | User.id.in_(set(keep)) if keep else User.is_active.is_(True)
    rows = session.execute(select(User.id, User.name).where(chosen).order_by(User.name, User.id))
    return [(user_id, name) for user_id, name in rows]


def count_users(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def tokens_of(session: Session, user_id: int) -> Sequence[ApiToken]:
    return session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    ).all()


def active_token(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    )


def normalize_email(email: str) -> str:
    return email.strip().lower()
