"""Reads of the sales domain: pipelines, deal and lead lists with their filters (always within
what the user may see, `access.py`), a deal's stage history with time in each stage, watchers
and whether a deal has a next task. Writes live in `service.py`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from retentio.activities.models import Activity
from retentio.auth.models import User
from retentio.sales.access import deals_visible, leads_visible
from retentio.sales.models import (
    Deal,
    DealStageChange,
    DealStatus,
    DealWatcher,
    Lead,
    LeadStatus,
    LostReason,
    Pipeline,
    Stage,
)

EXPORT_BATCH = 1000


@dataclass(frozen=True)
class DealFilter:
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: DealStatus | None = None
    owner_id: int | None = None
    search: str | None = None


@dataclass(frozen=True)
class LeadFilter:
    status: LeadStatus | None = None
    source: str | None = None
    owner_id: int | None = None
    search: str | None = None


@dataclass(frozen=True)
class StageStay:
    """One row of a deal's history: it entered `to_stage_id` at `changed_at` and stayed
    `seconds_in_stage` (None while it is still there)."""

    from_stage_id: int | None
    to_stage_id: int
    changed_at: datetime
    actor_id: int | None
    seconds_in_stage: float | None


def pipelines(session: Session) -> list[tuple[Pipeline, list[Stage]]]:
    """Active pipelines in order, each with its stages in order (two queries)."""
    found = session.scalars(
        select(Pipeline)
        .where(Pipeline.archived_at.is_(None))
        .order_by(Pipeline.position, Pipeline.id)
    ).all()
    stages: dict[int, list[Stage]] = {p.id: [] for p in found}
    for stage in session.scalars(
        select(Stage).where(Stage.pipeline_id.in_(stages)).order_by(Stage.position)
    ):
        stages[stage.pipeline_id].append(stage)
    return [(p, stages[p.id]) for p in found]


def lost_reasons(session: Session) -> Sequence[LostReason]:
    return session.scalars(
        select(LostReason).where(LostReason.archived_at.is_(None)).order_by(LostReason.name)
    ).all()


def _like(text: str) -> str:
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filtered_deals(user: User, flt: DealFilter) -> Select[Deal]:
    conditions: list[ColumnElement[bool]] = [deals_visible(user)]
    if flt.pipeline_id is not None:
        conditions.append(Deal.pipeline_id == flt.pipeline_id)
    if flt.stage_id is not None:
        conditions.append(Deal.stage_id == flt.stage_id)
    if flt.status is not None:
        conditions.append(Deal.status == flt.status)
    if flt.owner_id is not None:
        conditions.append(Deal.owner_id == flt.owner_id)
    if flt.search and flt.search.strip():
        conditions.append(func.lower(Deal.title).like(_like(flt.search), escape="\\"))
    return select(Deal).where(*conditions)


def deal_page(
    session: Session, user: User, flt: DealFilter, *, page_number: int = 1, per_page: int = 50
) -> tuple[Sequence[Deal], int]:
    """Newest first."""
    query = filtered_deals(user, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Deal.created_at.desc(), Deal.id.desc())
        .offset((max(page_number, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, total


def deals_for_export(session: Session, user: User, flt: DealFilter) -> Iterator[Deal]:
    """Every matching deal by id, read in batches (keyset) so a large export stays small."""
    last = 0
    while True:
        batch = session.scalars(
            filtered_deals(user, flt).where(Deal.id > last).order_by(Deal.id).limit(EXPORT_BATCH)
        ).all()
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        last = batch[-1].id


def with_open_task(session: Session, deal_ids: Iterable[int]) -> set[int]:
    """Those of the deals that have an open task (a next step); the others are flagged."""
    ids = list(deal_ids)
    if not ids:
        return set()
    return set(
        session.scalars(
            select(Activity.deal_id)
            .where(Activity.deal_id.in_(ids), Activity.done_at.is_(None))
            .distinct()
        )
    )


def watchers_of(session: Session, deal_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = list(deal_ids)
    result: dict[int, list[int]] = {i: [] for i in ids}
    if not ids:
        return result
    for deal_id, user_id in session.execute(
        select(DealWatcher.deal_id, DealWatcher.user_id)
        .where(DealWatcher.deal_id.in_(ids))
        .order_by(DealWatcher.user_id)
    ):
        result[deal_id].append(user_id)
    return result


def history(session: Session, deal_id: int) -> list[StageStay]:
    """The deal's stage changes in order; each stay lasts until the next change."""
    changes = session.scalars(
        select(DealStageChange)
        .where(DealStageChange.deal_id == deal_id)
        .order_by(DealStageChange.changed_at, DealStageChange.id)
    ).all()
    ends: list[datetime | None] = [c.changed_at for c in changes[1:]] + [None]
    return [
        StageStay(
            from_stage_id=c.from_stage_id,
            to_stage_id=c.to_stage_id,
            changed_at=c.changed_at,
            actor_id=c.actor_id,
            seconds_in_stage=(end - c.changed_at).total_seconds() if end else None,
        )
        for c, end in zip(changes, ends, strict=True)
    ]


def filtered_leads(user: User, flt: LeadFilter) -> Select[Lead]:
    conditions: list[ColumnElement[bool]] = [leads_visible(user)]
    if flt.status is not None:
        conditions.append(Lead.status == flt.status)
    if flt.source is not None:
        conditions.append(Lead.source == flt.source)
    if flt.owner_id is not None:
        conditions.append(Lead.owner_id == flt.owner_id)
    if flt.search and flt.search.strip():
        pattern = _like(flt.search)
        conditions.append(
            or_(
                func.lower(Lead.title).like(pattern, escape="\\"),
                func.lower(Lead.name).like(pattern, escape="\\"),
                func.lower(Lead.email).like(pattern, escape="\\"),
                func.lower(Lead.company_name).like(pattern, escape="\\"),
            )
        )
    return select(Lead).where(*conditions)


def lead_page(
    session: Session, user: User, flt: LeadFilter, *, page_number: int = 1, per_page: int = 50
) -> tuple[Sequence[Lead], int]:
    """Newest first."""
    query = filtered_leads(user, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Lead.created_at.desc(), Lead.id.desc())
        .offset((max(page_number, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, total
