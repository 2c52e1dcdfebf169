"""Reading contacts: the filtered, sorted, paged list and the pieces of a card."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, and_, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.contacts.access import visible_clause
from retentio.contacts.models import (
    Contact,
    ContactIdentity,
    ContactTag,
    ContactWatcher,
    IdentityKind,
    Tag,
)

SortKey = Literal["name", "-name", "created", "-created", "city", "-city", "updated", "-updated"]
SORT_COLUMNS: dict[str, Any] = {
    "name": (Contact.last_name, Contact.first_name),
    "created": (Contact.created_at,),
    "updated": (Contact.updated_at,),
    "city": (Contact.city,),
}


@dataclass
class ContactFilter:
    search: str | None = None
    tag: str | None = None
    owner_id: int | None = None
    city: str | None = None
    source: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    include_anonymous: bool = False
    ids: list[int] | None = None


def filtered(user: User, flt: ContactFilter) -> Select[Contact]:
    """The contacts this user may see that match the filter, unsorted."""
    conditions: list[ColumnElement[bool]] = [Contact.deleted_at.is_(None), visible_clause(user)]
    if not flt.include_anonymous:
        conditions.append(Contact.is_anonymous.is_(False))
    if flt.search:
        conditions.append(_search_clause(flt.search))
    if flt.tag:
        conditions.append(
            exists(
                select(ContactTag.contact_id)
                .join(Tag, Tag.id == ContactTag.tag_id)
                .where(ContactTag.contact_id == Contact.id, Tag.name == flt.tag)
            )
        )
    if flt.owner_id is not None:
        conditions.append(Contact.owner_id == flt.owner_id)
    if flt.city:
        conditions.append(Contact.city == flt.city)
    if flt.source:
        conditions.append(Contact.source == flt.source)
    for key, value in flt.custom.items():
        conditions.append(cast(Contact.custom[key].as_string(), String) == value)
    if flt.ids is not None:
        conditions.append(Contact.id.in_(flt.ids))
    return select(Contact).where(and_(*conditions))


def _search_clause(text: str) -> ColumnElement[bool]:
    pattern = f"%{text.strip().lower()}%"
    digits = "".join(ch for ch in text if ch.isdigit())
    options: list[ColumnElement[bool]] = [
        func.lower(Contact.first_name).like(pattern),
        func.lower(Contact.last_name).like(pattern),
        func.lower(Contact.email).like(pattern),
        exists(
            select(ContactIdentity.id).where(
                ContactIdentity.contact_id == Contact.id,
                ContactIdentity.kind == IdentityKind.EMAIL,
                ContactIdentity.value.like(pattern),
            )
        ),
    ]
    if len(digits) >= 4:
        options.append(Contact.phone.like(f"%{digits[-10:]}%"))
    return or_(*options)


def page(
    session: Session,
    user: User,
    flt: ContactFilter,
    *,
    sort: str = "-created",
    page_number: int = 1,
    per_page: int = 50,
) -> tuple[Sequence[Contact], int]:
    query = filtered(user, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    columns = SORT_COLUMNS.get(sort.lstrip("-"), SORT_COLUMNS["created"])
    order = [c.desc() if sort.startswith("-") else c.asc() for c in columns]
    rows = session.scalars(
        query.order_by(*order, Contact.id.desc())
        .offset((max(page_number, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, total


def tags_by_contact(session: Session, contact_ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {cid: [] for cid in contact_ids}
    if not contact_ids:
        return result
    rows = session.execute(
        select(ContactTag.contact_id, Tag.name)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(ContactTag.contact_id.in_(contact_ids))
        .order_by(Tag.name)
    )
    for contact_id, name in rows:
        result[contact_id].append(name)
    return result


def watcher_ids(session: Session, contact_id: int) -> list[int]:
    return list(
        session.scalars(
            select(ContactWatcher.user_id)
            .where(ContactWatcher.contact_id == contact_id)
            .order_by(ContactWatcher.user_id)
        )
    )


def all_tags(session: Session) -> list[str]:
    return list(session.scalars(select(Tag.name).order_by(Tag.name)))


def distinct_values(session: Session, column: Any) -> list[str]:
    """Values present in a column, for filter drop-downs (cities, sources)."""
    return list(
        session.scalars(
            select(column)
            .where(column.is_not(None), Contact.deleted_at.is_(None))
            .distinct()
            .order_by(column)
            .limit(500)
        )
    )
