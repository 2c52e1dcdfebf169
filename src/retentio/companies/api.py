"""JSON API of companies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlalchemy import func, select

from retentio.auth.deps import CurrentUser, require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.companies import service
from retentio.companies.models import Company
from retentio.companies.schemas import CompanyFields, CompanyRead
from retentio.db import utcnow
from retentio.errors import NotFound
from retentio.web.deps import SessionDep

router = APIRouter(prefix="/companies", tags=["companies"])
Editor = Annotated[User, Depends(require(Permission.EDIT_CUSTOMERS))]


def _company(session: SessionDep, company_id: int) -> Company:
    company = session.get(Company, company_id)
    if company is None or company.deleted_at is not None:
        raise NotFound(f"Company {company_id} does not exist.")
    return company


@router.get("", response_model=list[CompanyRead])
def list_companies(
    session: SessionDep,
    _user: CurrentUser,
    q: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Sequence[Company]:
    query = select(Company).where(Company.deleted_at.is_(None))
    if q:
        query = query.where(func.lower(Company.name).like(f"%{q.lower()}%") | (Company.inn == q))
    return session.scalars(query.order_by(Company.name).limit(limit).offset(offset)).all()


@router.post("", response_model=CompanyRead, status_code=status.HTTP_201_CREATED)
def create_company(body: CompanyFields, session: SessionDep, user: Editor) -> Company:
    return service.create_company(session, body, actor_id=user.id)


@router.get("/{company_id}", response_model=CompanyRead)
def get_company(company_id: int, session: SessionDep, _user: CurrentUser) -> Company:
    return _company(session, company_id)


@router.patch("/{company_id}", response_model=CompanyRead)
def update_company(
    company_id: int, body: CompanyFields, session: SessionDep, user: Editor
) -> Company:
    return service.update_company(session, _company(session, company_id), body, actor_id=user.id)


@router.delete("/{company_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_company(company_id: int, session: SessionDep, user: Editor) -> None:
    service.delete_company(session, _company(session, company_id), actor_id=user.id, now=utcnow())
