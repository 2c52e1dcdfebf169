"""Rules for writing companies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.auth.models import User
from retentio.companies.models import Company
from retentio.companies.schemas import CompanyFields
from retentio.errors import Conflict, InvalidInput
from retentio.fields.models import FieldEntity
from retentio.fields.service import clean_values

SIMPLE = ("name", "industry", "size", "city", "website", "owner_id")


class InnTaken(Conflict):
    code = "inn_taken"


def create_company(session: Session, data: CompanyFields, *, actor_id: int | None) -> Company:
    if not data.name:
        raise InvalidInput("name: a company needs a name.", details={"field": "name"})
    company = Company(name=data.name, custom={})
    _apply(session, company, data, creating=True)
    session.add(company)
    session.flush()
    audit.record(
        session, entity="company", entity_id=company.id, action="create", actor_id=actor_id
    )
    return company


def update_company(
    session: Session, company: Company, data: CompanyFields, *, actor_id: int | None
) -> Company:
    _apply(session, company, data, creating=False)
    session.flush()
    audit.record(
        session,
        entity="company",
        entity_id=company.id,
        action="update",
        actor_id=actor_id,
        changes={k: getattr(data, k) for k in data.model_fields_set if k != "custom"},
    )
    return company


def delete_company(
    session: Session, company: Company, *, actor_id: int | None, now: datetime
) -> None:
    company.deleted_at = now
    audit.record(
        session, entity="company", entity_id=company.id, action="delete", actor_id=actor_id
    )
    session.flush()


def _apply(session: Session, company: Company, data: CompanyFields, *, creating: bool) -> None:
    given = data.model_fields_set
    owner_id = data.owner_id if "owner_id" in given else None
    if owner_id is not None and session.get(User, owner_id) is None:
        raise InvalidInput(
            f"owner_id: user {owner_id} does not exist.", details={"field": "owner_id"}
        )
    for name in SIMPLE:
        if name in given:
            setattr(company, name, getattr(data, name))
    if "available_to_all" in given:
        company.available_to_all = bool(data.available_to_all)
    if "inn" in given and data.inn != company.inn:
        holder = (
            session.scalar(select(Company.id).where(Company.inn == data.inn)) if data.inn else None
        )
        if holder is not None:
            raise InnTaken(
                f"inn: company {holder} already has INN {data.inn}.", details={"field": "inn"}
            )
        company.inn = data.inn
    if "custom" in given or creating:
        company.custom = clean_values(
            session,
            FieldEntity.COMPANY,
            data.custom or {},
            current=None if creating else company.custom,
        )
