"""Who is calling: the session cookie or an `Authorization: Bearer` API token."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from retentio.auth import service
from retentio.auth.models import Role, User
from retentio.auth.permissions import Permission, role_allows
from retentio.db import utcnow
from retentio.errors import NotAuthenticated, PermissionDenied
from retentio.web.deps import SessionDep

SESSION_USER = "uid"
SESSION_EPOCH = "epoch"


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, as the layout needs it."""

    id: int
    email: str
    name: str
    role: Role

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(id=user.id, email=user.email, name=user.name, role=user.role)


def optional_user(request: Request, session: SessionDep) -> User | None:
    user = _identify(request, session)
    # The layout gets a detached copy: error pages render after the session has rolled back.
    request.state.user = Viewer.of(user) if user else None
    return user


def _identify(request: Request, session: SessionDep) -> User | None:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        user = service.user_for_token(session, authorization[7:].strip(), now=utcnow())
        if user is None:
            raise NotAuthenticated("The API token is unknown or revoked.")
        return user
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if (
        user is None
        or not user.is_active
        or user.session_epoch != request.session.get(SESSION_EPOCH)
    ):
        request.session.pop(SESSION_USER, None)
        return None
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]


def current_user(user: OptionalUser) -> User:
    if user is None:
        raise NotAuthenticated("Log in to continue.")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require(permission: Permission) -> Callable[[User], User]:
    """A dependency that lets the call through only for roles holding `permission`."""

    def check(user: CurrentUser) -> User:
        if not role_allows(user.role, permission):
            raise PermissionDenied("Your role does not allow this action.")
        return user

    return check


def log_in(request: Request, user: User) -> None:
    # A fresh session on login: nothing from before authentication (e.g. a planted token) survives.
    locale = request.session.get("locale")
    request.session.clear()
    request.session.update({SESSION_USER: user.id, SESSION_EPOCH: user.session_epoch})
    if locale:
        request.session["locale"] = locale


def log_out(request: Request) -> None:
    request.session.clear()
