"""JSON API of the auth domain: who am I, users (admin), personal API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from retentio.audit import service as audit
from retentio.auth import queries, service
from retentio.auth.deps import CurrentUser, require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.auth.schemas import (
    TokenCreate,
    TokenCreated,
    TokenRead,
    UserCreate,
    UserRead,
    UserUpdate,
)
from retentio.db import utcnow
from retentio.web.deps import SessionDep

router = APIRouter(tags=["auth"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]


@router.get("/me", response_model=UserRead)
def me(user: CurrentUser) -> User:
    return user


@router.get("/users", response_model=list[UserRead])
def list_users(session: SessionDep, _admin: Admin) -> list[User]:
    return list(queries.list_users(session))


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, session: SessionDep, _admin: Admin) -> User:
    user = service.create_user(
        session, email=body.email, name=body.name, role=body.role, password=body.password
    )
    audit.record(session, entity="user", entity_id=user.id, action="create", actor_id=_admin.id)
    return user


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: int, body: UserUpdate, session: SessionDep, _admin: Admin) -> User:
    user = service.get_user(session, user_id)
    audit.record(session, entity="user", entity_id=user_id, action="update", actor_id=_admin.id)
    return service.update_user(
        session, user, name=body.name, role=body.role, is_active=body.is_active
    )


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(session: SessionDep, user: CurrentUser) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in queries.tokens_of(session, user.id)]


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, session: SessionDep, user: CurrentUser) -> TokenCreated:
    token, secret = service.create_token(session, user, name=body.name)
    audit.record(session, entity="api_token", entity_id=token.id, action="create", actor_id=user.id)
    return TokenCreated(**TokenRead.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: int, session: SessionDep, user: CurrentUser) -> None:
    service.revoke_token(session, user, token_id, now=utcnow())
    audit.record(session, entity="api_token", entity_id=token_id, action="revoke", actor_id=user.id)
