"""JSON API of sales under `/api/v1`: pipelines and lost reasons (settings), deals (list,
card, create, edit, the kanban's move, stage history, tasks, CSV export) and leads (intake,
status, duplicates, conversion).

Sales users and admins act (the sales permission); settings need MANAGE_SETTINGS; every role
may read — and a sales user reads only their deals and leads: any other id is 404 (access.py).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from retentio.activities import queries as task_queries
from retentio.activities.schemas import TaskRead
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.kit.csv_safety import neutralise
from retentio.sales import queries, service
from retentio.sales.access import visible_deal, visible_lead
from retentio.sales.models import Deal, DealStatus, LeadStatus, Pipeline, Stage
from retentio.sales.schemas import (
    ConvertIn,
    DealIn,
    DealRead,
    Duplicates,
    LeadIn,
    LeadRead,
    MoveIn,
    PipelineIn,
    PipelineRead,
    StageChangeRead,
    StageRead,
)
from retentio.web.deps import SessionDep, SettingsDep

router = APIRouter(tags=["sales"])
Reader = Annotated[User, Depends(require(Permission.VIEW))]
Writer = Annotated[User, Depends(require(Permission.SALES))]
Configurer = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]


class DealCard(DealRead):
    watcher_ids: list[int]
    # False flags a deal nobody has planned a next step for.
    has_next_task: bool


class DealPage(BaseModel):
    items: list[DealCard]
    total: int
    page: int
    per_page: int


class LeadPage(BaseModel):
    items: list[LeadRead]
    total: int
    page: int
    per_page: int


class LostReasonIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class LostReasonRead(BaseModel):
    id: int
    name: str


class LeadStatusIn(BaseModel):
    status: LeadStatus


# --- pipelines and lost reasons -------------------------------------------------------------


def _pipeline_read(pipeline: Pipeline, stages: Sequence[Stage]) -> PipelineRead:
    return PipelineRead(
        id=pipeline.id,
        name=pipeline.name,
        stages=[StageRead.model_validate(s) for s in stages],
    )


@router.get("/pipelines", response_model=list[PipelineRead])
def list_pipelines(session: SessionDep, _user: Reader) -> list[PipelineRead]:
    """Every active pipeline with its stages in order; a new shop gets the default one."""
    service.ensure_default_pipeline(session)
    return [_pipeline_read(p, s) for p, s in queries.pipelines(session)]


@router.post("/pipelines", response_model=PipelineRead, status_code=status.HTTP_201_CREATED)
def create_pipeline(body: PipelineIn, session: SessionDep, _user: Configurer) -> PipelineRead:
    pipeline = service.save_pipeline(session, body, actor_id=_user.id)
    return _pipeline_read(pipeline, service.stages_of(session, pipeline.id))


@router.put("/pipelines/{pipeline_id}", response_model=PipelineRead)
def update_pipeline(
    pipeline_id: int, body: PipelineIn, session: SessionDep, _user: Configurer
) -> PipelineRead:
    """Stages given with their id keep their deals and history; one left out must be empty."""
    pipeline = service.save_pipeline(session, body, pipeline_id=pipeline_id, actor_id=_user.id)
    return _pipeline_read(pipeline, service.stages_of(session, pipeline.id))


@router.get("/lost-reasons", response_model=list[LostReasonRead])
def list_lost_reasons(session: SessionDep, _user: Reader) -> list[LostReasonRead]:
    service.ensure_default_pipeline(session)
    return [LostReasonRead(id=r.id, name=r.name) for r in queries.lost_reasons(session)]


@router.post("/lost-reasons", response_model=LostReasonRead, status_code=status.HTTP_201_CREATED)
def add_lost_reason(body: LostReasonIn, session: SessionDep, _user: Configurer) -> LostReasonRead:
    reason = service.add_lost_reason(session, body.name, actor_id=_user.id)
    return LostReasonRead(id=reason.id, name=reason.name)


# --- deals ----------------------------------------------------------------------------------


def _deal_filter(
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    status: DealStatus | None = None,
    owner_id: int | None = None,
    q: Annotated[str | None, Query(description="Title contains")] = None,
) -> queries.DealFilter:
    return queries.DealFilter(
        pipeline_id=pipeline_id, stage_id=stage_id, status=status, owner_id=owner_id, search=q
    )


DealFilterDep = Annotated[queries.DealFilter, Depends(_deal_filter)]


def _cards(session: Session, deals: Sequence[Deal]) -> list[DealCard]:
    ids = [d.id for d in deals]
    watchers = queries.watchers_of(session, ids)
    planned = queries.with_open_task(session, ids)
    return [
        DealCard.model_validate(
            {
                **DealRead.model_validate(d).model_dump(),
                "watcher_ids": watchers[d.id],
                "has_next_task": d.id in planned,
            }
        )
        for d in deals
    ]


@router.get("/deals", response_model=DealPage)
def list_deals(
    session: SessionDep,
    user: Reader,
    flt: DealFilterDep,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DealPage:
    """The deals the caller may see, newest first."""
    rows, total = queries.deal_page(session, user, flt, page_number=page, per_page=per_page)
    return DealPage(items=_cards(session, rows), total=total, page=page, per_page=per_page)


EXPORT_COLUMNS = (
    "id",
    "title",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "contact_id",
    "company_id",
    "owner_id",
    "source",
    "expected_close_on",
    "created_at",
)


def _csv_lines(deals: Iterator[Deal]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + flush()  # the BOM makes Excel read UTF-8
    for deal in deals:
        values = [getattr(deal, c) for c in EXPORT_COLUMNS]
        # A deal title is typed by anyone: a leading "=" must not run in a spreadsheet.
        writer.writerow(["" if v is None else neutralise(str(v)) for v in values])
        yield flush()


@router.get(
    "/deals/export.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The deals as CSV"}},
)
def export_deals(session: SessionDep, user: Reader, flt: DealFilterDep) -> StreamingResponse:
    """The deals of a list filter — the same parameters as the list — that the caller may
    see. Built before the response starts (the request's session closes with it)."""
    body = list(_csv_lines(queries.deals_for_export(session, user, flt)))
    name = f"deals-{utcnow().date().isoformat()}.csv"
    return StreamingResponse(
        iter(body),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/deals", response_model=DealCard, status_code=status.HTTP_201_CREATED)
def create_deal(body: DealIn, session: SessionDep, user: Writer) -> DealCard:
    return _cards(session, [service.create_deal(session, body, actor=user, now=utcnow())])[0]


@router.get("/deals/{deal_id}", response_model=DealCard)
def get_deal(deal_id: int, session: SessionDep, user: Reader) -> DealCard:
    return _cards(session, [visible_deal(session, user, deal_id)])[0]


@router.put("/deals/{deal_id}", response_model=DealCard)
def update_deal(deal_id: int, body: DealIn, session: SessionDep, user: Writer) -> DealCard:
    """Replace the fields; a different stage is a move and goes into the history."""
    deal = service.update_deal(session, user, deal_id, body, now=utcnow())
    return _cards(session, [deal])[0]


@router.post("/deals/{deal_id}/move", response_model=DealCard)
def move_deal(deal_id: int, body: MoveIn, session: SessionDep, user: Writer) -> DealCard:
    """The kanban's drop: 409 `stale_deal` when `version` is not the current one; a lost stage
    needs `lost_reason_id`."""
    deal = service.move_deal(session, user, deal_id, body, now=utcnow())
    return _cards(session, [deal])[0]


@router.get("/deals/{deal_id}/history", response_model=list[StageChangeRead])
def deal_history(deal_id: int, session: SessionDep, user: Reader) -> list[StageChangeRead]:
    """Every stage the deal entered, with the seconds it stayed (null: still there)."""
    visible_deal(session, user, deal_id)
    return [
        StageChangeRead(
            from_stage_id=s.from_stage_id,
            to_stage_id=s.to_stage_id,
            changed_at=s.changed_at,
            actor_id=s.actor_id,
            seconds_in_stage=s.seconds_in_stage,
        )
        for s in queries.history(session, deal_id)
    ]


@router.get("/deals/{deal_id}/tasks", response_model=list[TaskRead])
def deal_tasks(deal_id: int, session: SessionDep, user: Reader) -> list[TaskRead]:
    visible_deal(session, user, deal_id)
    return [TaskRead.model_validate(t) for t in task_queries.deal_tasks(session, deal_id)]


# --- leads ----------------------------------------------------------------------------------


def _lead_filter(
    status: LeadStatus | None = None,
    source: str | None = None,
    owner_id: int | None = None,
    q: Annotated[str | None, Query(description="Title, name, e-mail or company contains")] = None,
) -> queries.LeadFilter:
    return queries.LeadFilter(status=status, source=source, owner_id=owner_id, search=q)


@router.get("/leads", response_model=LeadPage)
def list_leads(
    session: SessionDep,
    user: Reader,
    flt: Annotated[queries.LeadFilter, Depends(_lead_filter)],
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> LeadPage:
    rows, total = queries.lead_page(session, user, flt, page_number=page, per_page=per_page)
    return LeadPage(
        items=[LeadRead.model_validate(r) for r in rows], total=total, page=page, per_page=per_page
    )


@router.post("/leads", response_model=LeadRead, status_code=status.HTTP_201_CREATED)
def create_lead(
    body: LeadIn, session: SessionDep, _user: Writer, settings: SettingsDep
) -> LeadRead:
    """API intake: the same `external_id` again answers with the lead made the first time."""
    lead = service.create_lead(session, body, default_region=settings.default_region, now=utcnow())
    return LeadRead.model_validate(lead)


@router.get("/leads/{lead_id}", response_model=LeadRead)
def get_lead(lead_id: int, session: SessionDep, user: Reader) -> LeadRead:
    return LeadRead.model_validate(visible_lead(session, user, lead_id))


@router.post("/leads/{lead_id}/status", response_model=LeadRead)
def set_lead_status(
    lead_id: int, body: LeadStatusIn, session: SessionDep, user: Writer
) -> LeadRead:
    return LeadRead.model_validate(service.set_lead_status(session, user, lead_id, body.status))


@router.get("/leads/{lead_id}/duplicates", response_model=Duplicates)
def lead_duplicates(
    lead_id: int, session: SessionDep, user: Reader, settings: SettingsDep
) -> Duplicates:
    """Contacts with the lead's e-mail or phone and their open deals."""
    lead = visible_lead(session, user, lead_id)
    return service.duplicates(session, lead, settings.default_region)


@router.post(
    "/leads/{lead_id}/convert", response_model=DealCard, status_code=status.HTTP_201_CREATED
)
def convert_lead(
    lead_id: int, body: ConvertIn, session: SessionDep, user: Writer, settings: SettingsDep
) -> DealCard:
    """409 `duplicates_found` lists the known contacts and their open deals in `details`;
    send again with `contact_id` (and `deal_id` to attach to an open deal)."""
    deal = service.convert_lead(
        session, user, lead_id, body, default_region=settings.default_region, now=utcnow()
    )
    return _cards(session, [deal])[0]
