"""What the sales pages show, read in a few queries each: the kanban's columns and cards, the
deal list, a deal's stage history and tasks, leads, "my tasks", and the edit forms' values.

Every read of deals and leads goes through `access.py`'s visibility, so a sales user's board,
list and counts hold only the deals they may see. Writes are the service's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retentio.activities.models import Activity
from retentio.auth.models import User
from retentio.commerce.models import Product
from retentio.companies.models import Company
from retentio.contacts.models import Contact
from retentio.sales.access import deals_visible, leads_visible
from retentio.sales.models import (
    Deal,
    DealProduct,
    DealStageChange,
    DealStatus,
    DealWatcher,
    Lead,
    LeadStatus,
    LostReason,
    Pipeline,
    Stage,
)
from retentio.sales.schemas import DealIn, DealProductIn
from retentio.sales.service import stages_of
from retentio.web.forms import text

DAY = 86400


def pipelines(session: Session) -> list[Pipeline]:
    return list(
        session.scalars(
            select(Pipeline)
            .where(Pipeline.archived_at.is_(None))
            .order_by(Pipeline.position, Pipeline.id)
        )
    )


def users(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name)))


def _open_task() -> ColumnElement[bool]:
    open_tasks = select(Activity.id).where(Activity.deal_id == Deal.id, Activity.done_at.is_(None))
    return exists(open_tasks)


@dataclass(frozen=True)
class Card:
    deal: Deal
    contact: str | None
    owner: str | None
    days_in_stage: int
    has_next_task: bool


@dataclass
class Column:
    stage: Stage
    cards: list[Card] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((c.deal.amount for c in self.cards), Decimal("0"))


def board(session: Session, user: User, pipeline_id: int, *, now: datetime) -> list[Column]:
    """The pipeline's stages in order, each with the deals the user may see, oldest first."""
    columns = {s.id: Column(s) for s in stages_of(session, pipeline_id)}
    rows = session.execute(
        select(Deal, Contact, User.name, _open_task())
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .outerjoin(User, User.id == Deal.owner_id)
        .where(Deal.pipeline_id == pipeline_id, deals_visible(user))
        .order_by(Deal.stage_entered_at, Deal.id)
    ).all()
    for deal, contact, owner, has_task in rows:
        days = int((now - deal.stage_entered_at).total_seconds() // DAY)
        card = Card(deal, contact.display_name if contact else None, owner, days, bool(has_task))
        columns[deal.stage_id].cards.append(card)
    return list(columns.values())


@dataclass(frozen=True)
class DealFilters:
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: DealStatus | None = None
    owner_id: int | None = None
    text: str | None = None


SORTS: dict[str, Any] = {"created": Deal.created_at, "amount": Deal.amount, "title": Deal.title}


def _deal_conditions(user: User, filters: DealFilters) -> list[ColumnElement[bool]]:
    conditions = [deals_visible(user)]
    if filters.pipeline_id is not None:
        conditions.append(Deal.pipeline_id == filters.pipeline_id)
    if filters.stage_id is not None:
        conditions.append(Deal.stage_id == filters.stage_id)
    if filters.status is not None:
        conditions.append(Deal.status == filters.status)
    if filters.owner_id is not None:
        conditions.append(Deal.owner_id == filters.owner_id)
    if filters.text:
        conditions.append(Deal.title.ilike(f"%{filters.text}%"))
    return conditions


def count_deals(session: Session, user: User, filters: DealFilters) -> int:
    query = select(func.count()).select_from(Deal).where(*_deal_conditions(user, filters))
    return session.scalar(query) or 0


def deal_rows(
    session: Session, user: User, filters: DealFilters, *, sort: str, offset: int, limit: int
) -> list[tuple[Deal, str, str | None, str | None, bool]]:
    """Deals with their stage name, contact, owner and whether a task is open."""
    column = SORTS[sort.lstrip("-")]
    order = column.desc() if sort.startswith("-") else column.asc()
    rows = session.execute(
        select(Deal, Stage.name, Contact, User.name, _open_task())
        .join(Stage, Stage.id == Deal.stage_id)
        .outerjoin(Contact, Contact.id == Deal.contact_id)
        .outerjoin(User, User.id == Deal.owner_id)
        .where(*_deal_conditions(user, filters))
        .order_by(order, Deal.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        (deal, stage, contact.display_name if contact else None, owner, bool(task))
        for deal, stage, contact, owner, task in rows
    ]


@dataclass(frozen=True)
class Stay:
    """One stay of a deal in a stage: from the change that brought it there to the next."""

    stage_id: int
    stage: str
    entered_at: datetime
    seconds: float
    current: bool
    actor: str | None


def history(session: Session, deal_id: int, *, now: datetime) -> list[Stay]:
    rows = session.execute(
        select(DealStageChange, Stage.name, User.name)
        .join(Stage, Stage.id == DealStageChange.to_stage_id)
        .outerjoin(User, User.id == DealStageChange.actor_id)
        .where(DealStageChange.deal_id == deal_id)
        .order_by(DealStageChange.changed_at, DealStageChange.id)
    ).all()
    stays = []
    for index, (change, stage, actor) in enumerate(rows):
        last = index == len(rows) - 1
        until = now if last else rows[index + 1][0].changed_at
        seconds = (until - change.changed_at).total_seconds()
        stays.append(Stay(change.to_stage_id, stage, change.changed_at, seconds, last, actor))
    return stays


def deal_tasks(session: Session, deal_id: int) -> list[tuple[Activity, str | None]]:
    rows = session.execute(
        select(Activity, User.name)
        .outerjoin(User, User.id == Activity.owner_id)
        .where(Activity.deal_id == deal_id)
        .order_by(Activity.done_at.is_not(None), Activity.due_at, Activity.id)
    ).all()
    return [(task, owner) for task, owner in rows]


def deal_products(session: Session, deal_id: int) -> list[tuple[DealProduct, Product]]:
    rows = session.execute(
        select(DealProduct, Product)
        .join(Product, Product.id == DealProduct.product_id)
        .where(DealProduct.deal_id == deal_id)
        .order_by(Product.name)
    ).all()
    return [(item, product) for item, product in rows]


@dataclass(frozen=True)
class DealLinks:
    contact: Contact | None
    company: Company | None
    owner: User | None
    stage: Stage
    pipeline: Pipeline
    lost_reason: LostReason | None


def links(session: Session, deal: Deal) -> DealLinks:
    stage = session.get(Stage, deal.stage_id)
    pipeline = session.get(Pipeline, deal.pipeline_id)
    # Both are foreign keys of the deal.
    assert stage is not None
    assert pipeline is not None
    return DealLinks(
        contact=session.get(Contact, deal.contact_id) if deal.contact_id else None,
        company=session.get(Company, deal.company_id) if deal.company_id else None,
        owner=session.get(User, deal.owner_id) if deal.owner_id else None,
        stage=stage,
        pipeline=pipeline,
        lost_reason=session.get(LostReason, deal.lost_reason_id) if deal.lost_reason_id else None,
    )


# --- the deal form ----------------------------------------------------------------------------

FORM_FIELDS = (
    "title",
    "pipeline_id",
    "stage_id",
    "amount",
    "currency",
    "contact_id",
    "company_id",
    "owner_id",
    "expected_close_on",
    "source",
)


def values_of(deal: Deal) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(deal, name) for name in FORM_FIELDS}
    values["available_to_all"] = deal.available_to_all
    return values


def posted_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name) for name in FORM_FIELDS}
    values["available_to_all"] = bool(form.get("available_to_all"))
    return values


def deal_in(session: Session, values: dict[str, Any], deal: Deal | None) -> DealIn:
    """The posted form as the service's input. What the form does not show (watchers,
    products, UTM, custom fields) is kept from the deal being edited."""
    data = {k: v for k, v in values.items() if v is not None}
    if deal is not None:
        data["watcher_ids"] = list(
            session.scalars(select(DealWatcher.user_id).where(DealWatcher.deal_id == deal.id))
        )
        data["products"] = [
            DealProductIn(product_id=p.product_id, quantity=p.quantity, unit_price=p.unit_price)
            for p, _product in deal_products(session, deal.id)
        ]
        data["utm"], data["custom"] = deal.utm, deal.custom
    return DealIn.model_validate(data)


# --- leads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadFilters:
    status: LeadStatus | None = None
    source: str | None = None
    owner_id: int | None = None


def _lead_conditions(user: User, filters: LeadFilters) -> list[ColumnElement[bool]]:
    conditions = [leads_visible(user)]
    if filters.status is not None:
        conditions.append(Lead.status == filters.status)
    if filters.source:
        conditions.append(Lead.source == filters.source)
    if filters.owner_id is not None:
        conditions.append(Lead.owner_id == filters.owner_id)
    return conditions


def count_leads(session: Session, user: User, filters: LeadFilters) -> int:
    query = select(func.count()).select_from(Lead).where(*_lead_conditions(user, filters))
    return session.scalar(query) or 0


def lead_rows(
    session: Session, user: User, filters: LeadFilters, *, offset: int, limit: int
) -> list[tuple[Lead, str | None]]:
    rows = session.execute(
        select(Lead, User.name)
        .outerjoin(User, User.id == Lead.owner_id)
        .where(*_lead_conditions(user, filters))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [(lead, owner) for lead, owner in rows]


def lead_sources(session: Session) -> list[str]:
    query = select(Lead.source).where(Lead.source.is_not(None)).distinct().order_by(Lead.source)
    return [s for s in session.scalars(query) if s]


def contacts_by_id(session: Session, ids: list[int]) -> list[Contact]:
    if not ids:
        return []
    return list(session.scalars(select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id)))


def deals_by_id(session: Session, user: User, ids: list[int]) -> list[Deal]:
    if not ids:
        return []
    query = select(Deal).where(Deal.id.in_(ids), deals_visible(user)).order_by(Deal.id)
    return list(session.scalars(query))


# --- my tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    task: Activity
    contact: str | None
    deal: str | None
    overdue: bool


def my_tasks(session: Session, user: User, *, now: datetime) -> list[TaskRow]:
    """The user's open tasks: overdue first, then by due time, those without one last."""
    overdue = and_(Activity.due_at.is_not(None), Activity.due_at < now)
    rows = session.execute(
        select(Activity, Contact, Deal.title, overdue)
        .outerjoin(Contact, Contact.id == Activity.contact_id)
        .outerjoin(Deal, Deal.id == Activity.deal_id)
        .where(Activity.owner_id == user.id, Activity.done_at.is_(None))
        .order_by(overdue.desc(), Activity.due_at.is_(None), Activity.due_at, Activity.id)
    ).all()
    return [
        TaskRow(task, contact.display_name if contact else None, deal, bool(late))
        for task, contact, deal, late in rows
    ]


# --- settings: a pipeline's stages ------------------------------------------------------------


def stage_rows(form: FormData) -> list[dict[str, Any]]:
    """The stage rows of the pipeline form in the order their "order" fields give; a row whose
    name was cleared is left out (the stage is removed)."""
    rows = []
    for index in range(len(form.getlist("stage_name"))):
        row = {
            key: _nth(form, f"stage_{key}", index) for key in ("id", "name", "probability", "kind")
        }
        order = _nth(form, "stage_order", index)
        if row["name"]:
            rows.append((int(order) if order.isdigit() else index, index, row))
    return [row for _order, _index, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def _nth(form: FormData, name: str, index: int) -> str:
    values = form.getlist(name)
    value = values[index] if index < len(values) else ""
    return value.strip() if isinstance(value, str) else ""
