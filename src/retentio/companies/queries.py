"""Reading companies: the filtered, sorted, paged list, names for links, and a company's people."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.companies.models import Company
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact
from retentio.errors import NotFound

SORT_COLUMNS: dict[str, tuple[Any, ...]] = {
    "name": (Company.name,),
    "city": (Company.city,),
    "industry": (Company.industry,),
    "created": (Company.created_at,),
}
CHOICES_LIMIT = 1000


@dataclass(frozen=True)
class CompanyFilter:
    search: str | None = None
    city: str | None = None
    industry: str | None = None


def filtered(flt: CompanyFilter) -> Select[Company]:
    conditions: list[ColumnElement[bool]] = [Company.deleted_at.is_(None)]
    if flt.search:
        pattern = f"%{flt.search.strip().lower()}%"
        conditions.append(
            or_(
                func.lower(Company.name).like(pattern),
                Company.inn.like(f"{flt.search.strip()}%"),
                func.lower(Company.website).like(pattern),
            )
        )
    if flt.city:
        conditions.append(Company.city == flt.city)
    if flt.industry:
        conditions.append(Company.industry == flt.industry)
    return select(Company).where(and_(*conditions))


def page(
    session: Session,
    flt: CompanyFilter,
    *,
    sort: str = "name",
    page_number: int = 1,
    per_page: int = 50,
) -> tuple[Sequence[Company], int]:
    query = filtered(flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    columns = SORT_COLUMNS.get(sort.lstrip("-"), SORT_COLUMNS["name"])
    order = [c.desc() if sort.startswith("-") else c.asc() for c in columns]
    rows = session.scalars(
        query.order_by(*order, Company.id)
        .offset((max(page_number, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, total


def live_company(session: Session, company_id: int) -> Company:
    company = session.get(Company, company_id)
    if company is None or company.deleted_at is not None:
        raise NotFound(f"Company {company_id} does not exist.")
    return company


def company_or_none(session: Session, company_id: int) -> Company | None:
    """A company for a link, deleted ones included (the link is then shown struck through)."""
    return session.get(Company, company_id)


def contact_counts(session: Session, user: User, company_ids: Collection[int]) -> dict[int, int]:
    """How many live contacts this user may see work at each company, in one query."""
    if not company_ids:
        return {}
    rows = session.execute(
        select(Contact.company_id, func.count())
        .where(
            Contact.company_id.in_(company_ids),
            Contact.deleted_at.is_(None),
            visible_clause(user),
        )
        .group_by(Contact.company_id)
    )
    return {company_id: count for company_id, count in rows if company_id is not None}


def contacts_of(
    session: Session, user: User, company_id: int, *, limit: int = 200
) -> Sequence[Contact]:
    return session.scalars(
        select(Contact)
        .where(Contact.company_id == company_id, Contact.deleted_at.is_(None), visible_clause(user))
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
        .limit(limit)
    ).all()


def names_by_id(session: Session, company_ids: Collection[int]) -> dict[int, str]:
    if not company_ids:
        return {}
    rows = session.execute(select(Company.id, Company.name).where(Company.id.in_(set(company_ids))))
    return dict(rows.all())


def choices(
    session: Session, *, keep: int | None = None, limit: int = CHOICES_LIMIT
) -> list[tuple[int, str]]:
    """Companies for a drop-down, by name; `keep` (the current one) is always among them."""
    rows = session.execute(
        select(Company.id, Company.name)
        .where(Company.deleted_at.is_(None))
        .order_by(Company.name, Company.id)
        .limit(limit)
    )
    found = [(company_id, name) for company_id, name in rows]
    if keep is not None and all(company_id != keep for company_id, _ in found):
        found += names_by_id(session, [keep]).items()
    return found


def distinct_values(session: Session, column: Any) -> list[str]:
    """Values present in a column, for filter drop-downs (cities, industries)."""
    return list(
        session.scalars(
            select(column)
            .where(column.is_not(None), Company.deleted_at.is_(None))
            .distinct()
            .order_by(column)
            .limit(500)
        )
    )
