"""HTML pages of the sales pipeline: the kanban board of a pipeline with its funnel, the deal
list, the deal card (fields, stage history, tasks, products) and form, leads with conversion,
"my tasks", and Settings → Pipelines (stages and lost reasons).

Reading needs VIEW and sees what `access.py` lets the user see (a deal out of sight is a 404
page); acting needs SALES, settings need MANAGE_SETTINGS. The kanban's drop posts to the same
move route as its no-script form: asked for JSON (the board's script) it answers JSON, otherwise
it redirects back to the board.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from retentio.activities import service as tasks
from retentio.activities.schemas import TaskIn
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.db import utcnow
from retentio.errors import InvalidInput, NotFound, RetentioError
from retentio.sales import analytics, page_data, queries, service
from retentio.sales.access import visible_deal, visible_lead
from retentio.sales.labels import (
    DEAL_STATUS_LABELS,
    LEAD_STATUS_LABELS,
    STAGE_KIND_LABELS,
    TASK_KIND_LABELS,
)
from retentio.sales.models import Deal, DealStatus, LeadStatus, StageKind
from retentio.sales.schemas import ConvertIn, MoveIn, PipelineIn, StageIn
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.errors import wants_json
from retentio.web.flash import flash
from retentio.web.forms import FormDep, field_errors, text
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[User, Depends(require(Permission.VIEW))]
Seller = Annotated[User, Depends(require(Permission.SALES))]
Manager = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]

PER_PAGE = 50
FUNNEL_DAYS = 90  # the board's funnel follows the deals created in the last quarter
BLANK_STAGES = 3  # empty rows under a pipeline's stages, to add some without a script


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _can_sell(user: User) -> bool:
    return role_allows(user.role, Permission.SALES)


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


# --- the board --------------------------------------------------------------------------------


@router.get("/deals", response_class=HTMLResponse)
def board(request: Request, session: SessionDep, user: Reader) -> Response:
    pipelines = page_data.pipelines(session)
    chosen = _int(request.query_params.get("pipeline"))
    pipeline = next((p for p in pipelines if p.id == chosen), pipelines[0] if pipelines else None)
    now = utcnow()
    context: dict[str, Any] = {"pipelines": pipelines, "pipeline": pipeline}
    if pipeline is not None:
        since = now - timedelta(days=FUNNEL_DAYS)
        # `until` a moment ahead: a deal created this second belongs to the period.
        until = now + timedelta(seconds=1)
        funnel = analytics.funnel(session, pipeline.id, user=user, since=since, until=until)
        win_rate = analytics.win_rate(session, pipeline.id, user=user, since=since, until=until)
        context |= {
            "columns": page_data.board(session, user, pipeline.id, now=now),
            "funnel": funnel,
            "win_rate": win_rate,
            "funnel_days": FUNNEL_DAYS,
            "reasons": queries.lost_reasons(session),
            "can_sell": _can_sell(user),
        }
    return render(request, "sales/board.html", context)


@router.post("/deals/{deal_id:int}/move", response_model=None)
def move(
    request: Request, session: SessionDep, user: Seller, form: FormDep, deal_id: int
) -> Response:
    """The kanban's drop (JSON asked) and its keyboard form (redirect back). A lost stage
    without a reason sends the form to the deal's card, which asks for one."""
    data = MoveIn(
        stage_id=_int(text(form, "stage_id")) or 0,
        version=_int(text(form, "version")),
        lost_reason_id=_int(text(form, "lost_reason_id")),
        lost_comment=text(form, "lost_comment") or "",
    )
    back = text(form, "next") or "/deals"
    if wants_json(request):
        deal = service.move_deal(session, user, deal_id, data, now=utcnow())
        return JSONResponse({"id": deal.id, "stage_id": deal.stage_id, "version": deal.version})
    try:
        service.move_deal(session, user, deal_id, data, now=utcnow())
    except InvalidInput as error:
        session.rollback()
        flash(request, error.message, "error")
        if error.details and error.details.get("field") == "lost_reason_id":
            return _see_other(f"/deals/{deal_id}#move")
        return _see_other(back)
    except NotFound:
        raise
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
        return _see_other(back)
    flash(request, _("Deal moved."))
    return _see_other(back if back.startswith("/") else "/deals")


# --- the list ---------------------------------------------------------------------------------


@router.get("/deals/list", response_class=HTMLResponse)
def deal_list(request: Request, session: SessionDep, user: Reader) -> Response:
    listing = Listing.of(request, sorts=page_data.SORTS, default_sort="-created")
    listing.per_page = PER_PAGE
    status = listing.get("status")
    filters = page_data.DealFilters(
        pipeline_id=listing.get_int("pipeline"),
        stage_id=listing.get_int("stage"),
        status=DealStatus(status) if status in set(DealStatus) else None,
        owner_id=listing.get_int("owner"),
        text=listing.get("q"),
    )
    pager = listing.pager(page_data.count_deals(session, user, filters))
    rows = page_data.deal_rows(
        session, user, filters, sort=listing.sort, offset=pager.offset, limit=pager.per_page
    )
    pipelines = page_data.pipelines(session)
    stages = service.stages_of(session, filters.pipeline_id) if filters.pipeline_id else []
    context = {
        "listing": listing,
        "pager": pager,
        "rows": rows,
        "pipelines": pipelines,
        "stages": stages,
        "users": page_data.users(session),
        "status_labels": DEAL_STATUS_LABELS,
        "can_sell": _can_sell(user),
    }
    return render(request, "sales/list.html", context)


# --- the card ---------------------------------------------------------------------------------


@router.get("/deals/{deal_id:int}", response_class=HTMLResponse)
def deal_card(request: Request, session: SessionDep, user: Reader, deal_id: int) -> Response:
    deal = visible_deal(session, user, deal_id)
    now = utcnow()
    context = {
        "deal": deal,
        "links": page_data.links(session, deal),
        "stages": service.stages_of(session, deal.pipeline_id),
        "history": page_data.history(session, deal.id, now=now),
        "tasks": page_data.deal_tasks(session, deal.id),
        "products": page_data.deal_products(session, deal.id),
        "reasons": queries.lost_reasons(session),
        "users": page_data.users(session),
        "status_labels": DEAL_STATUS_LABELS,
        "task_kinds": TASK_KIND_LABELS,
        "lost": StageKind.LOST,
        "now": now,
        "can_sell": _can_sell(user),
    }
    return render(request, "sales/card.html", context)


@router.post("/deals/{deal_id:int}/tasks", response_class=HTMLResponse)
def add_task(
    request: Request, session: SessionDep, user: Seller, form: FormDep, deal_id: int
) -> Response:
    visible_deal(session, user, deal_id)
    due = text(form, "due_at")
    try:
        data = TaskIn(
            kind=text(form, "kind") or "call",
            title=text(form, "title") or "",
            deal_id=deal_id,
            owner_id=_int(text(form, "owner_id")),
            # The form's local date-time is taken as UTC, as the other pages' dates are.
            due_at=datetime.fromisoformat(due).replace(tzinfo=UTC) if due else None,
        )
        tasks.create_task(session, user, data, now=utcnow())
    except (ValidationError, ValueError, InvalidInput):
        session.rollback()
        flash(request, _("The task needs a title and a valid due date."), "error")
        return _see_other(f"/deals/{deal_id}#tasks")
    flash(request, _("Task added."))
    return _see_other(f"/deals/{deal_id}#tasks")


@router.post("/tasks/{task_id:int}/done", response_class=HTMLResponse)
def complete_task(
    request: Request, session: SessionDep, user: Seller, form: FormDep, task_id: int
) -> Response:
    tasks.complete_task(session, user, task_id, now=utcnow())
    flash(request, _("Task done."))
    back = text(form, "next") or "/tasks/my"
    return _see_other(back if back.startswith("/") else "/tasks/my")


# --- the form ---------------------------------------------------------------------------------


@router.get("/deals/new", response_class=HTMLResponse)
def deal_new(request: Request, session: SessionDep, user: Seller) -> Response:
    pipelines = page_data.pipelines(session)
    values: dict[str, Any] = {
        "pipeline_id": pipelines[0].id if pipelines else None,
        "currency": "RUB",
        "owner_id": user.id,
        "contact_id": _int(request.query_params.get("contact_id")),
        "company_id": _int(request.query_params.get("company_id")),
    }
    return _form(request, session, None, values, {})


@router.post("/deals/new", response_class=HTMLResponse)
def deal_create(request: Request, session: SessionDep, user: Seller, form: FormDep) -> Response:
    values = page_data.posted_values(form)
    try:
        data = page_data.deal_in(session, values, None)
        deal = service.create_deal(session, data, actor=user, now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, session, None, values, error)
    flash(request, _("Deal created."))
    return _see_other(f"/deals/{deal.id}")


@router.get("/deals/{deal_id:int}/edit", response_class=HTMLResponse)
def deal_edit(request: Request, session: SessionDep, user: Seller, deal_id: int) -> Response:
    deal = visible_deal(session, user, deal_id)
    return _form(request, session, deal, page_data.values_of(deal), {})


@router.post("/deals/{deal_id:int}/edit", response_class=HTMLResponse)
def deal_update(
    request: Request, session: SessionDep, user: Seller, form: FormDep, deal_id: int
) -> Response:
    deal = visible_deal(session, user, deal_id)
    values = page_data.posted_values(form)
    try:
        data = page_data.deal_in(session, values, deal)
        service.update_deal(session, user, deal_id, data, now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, session, deal, values, error)
    flash(request, _("Deal saved."))
    return _see_other(f"/deals/{deal_id}")


def _rejected(
    request: Request,
    session: Session,
    deal: Deal | None,
    values: dict[str, Any],
    error: ValidationError | RetentioError,
) -> Response:
    if isinstance(error, NotFound):
        raise error
    status = error.status if isinstance(error, RetentioError) else 422
    return _form(request, session, deal, values, field_errors(error), status_code=status)


def _form(
    request: Request,
    session: Session,
    deal: Deal | None,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    pipelines = page_data.pipelines(session)
    stages = [
        (s.id, f"{p.name} — {s.name}") for p in pipelines for s in service.stages_of(session, p.id)
    ]
    context = {
        "deal": deal,
        "values": values,
        "errors": errors,
        "pipeline_options": [(p.id, p.name) for p in pipelines],
        "stage_options": stages,
        "owner_options": [(u.id, u.name) for u in page_data.users(session)],
    }
    return render(request, "sales/form.html", context, status_code=status_code)


# --- leads ------------------------------------------------------------------------------------


@router.get("/leads", response_class=HTMLResponse)
def lead_list(request: Request, session: SessionDep, user: Reader) -> Response:
    listing = Listing.of(request, sorts=(), default_sort="-created")
    listing.per_page = PER_PAGE
    status = listing.get("status")
    filters = page_data.LeadFilters(
        status=LeadStatus(status) if status in set(LeadStatus) else None,
        source=listing.get("source"),
        owner_id=listing.get_int("owner"),
    )
    pager = listing.pager(page_data.count_leads(session, user, filters))
    context = {
        "listing": listing,
        "pager": pager,
        "rows": page_data.lead_rows(
            session, user, filters, offset=pager.offset, limit=pager.per_page
        ),
        "sources": page_data.lead_sources(session),
        "users": page_data.users(session),
        "status_labels": LEAD_STATUS_LABELS,
    }
    return render(request, "sales/leads.html", context)


@router.get("/leads/{lead_id:int}", response_class=HTMLResponse)
def lead_card(
    request: Request, session: SessionDep, settings: SettingsDep, user: Reader, lead_id: int
) -> Response:
    lead = visible_lead(session, user, lead_id)
    found = service.duplicates(session, lead, settings.default_region)
    context = {
        "lead": lead,
        "duplicate_contacts": page_data.contacts_by_id(session, found.contacts),
        "duplicate_deals": page_data.deals_by_id(session, user, found.open_deals),
        "pipelines": page_data.pipelines(session),
        "status_labels": LEAD_STATUS_LABELS,
        "statuses": (LeadStatus.NEW, LeadStatus.IN_PROGRESS, LeadStatus.JUNK),
        "converted": LeadStatus.CONVERTED,
        "can_sell": _can_sell(user),
    }
    return render(request, "sales/lead.html", context)


@router.post("/leads/{lead_id:int}/status", response_class=HTMLResponse)
def lead_status(
    request: Request, session: SessionDep, user: Seller, form: FormDep, lead_id: int
) -> Response:
    wanted = text(form, "status")
    if wanted not in set(LeadStatus):
        raise InvalidInput("status: choose a status.", details={"field": "status"})
    try:
        service.set_lead_status(session, user, lead_id, LeadStatus(wanted))
    except NotFound:
        raise
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
        return _see_other(f"/leads/{lead_id}")
    flash(request, _("Lead updated."))
    return _see_other(f"/leads/{lead_id}")


@router.post("/leads/{lead_id:int}/convert", response_class=HTMLResponse)
def lead_convert(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Seller,
    form: FormDep,
    lead_id: int,
) -> Response:
    """Attach to the chosen contact (and open deal) or create them; then show the deal."""
    try:
        data = ConvertIn(
            contact_id=_int(text(form, "contact_id")),
            deal_id=_int(text(form, "deal_id")),
            pipeline_id=_int(text(form, "pipeline_id")),
            deal_title=text(form, "deal_title"),
            amount=text(form, "amount") or "0",
        )
        deal = service.convert_lead(
            session, user, lead_id, data, default_region=settings.default_region, now=utcnow()
        )
    except NotFound:
        raise
    except (ValidationError, RetentioError) as error:
        session.rollback()
        message = error.message if isinstance(error, RetentioError) else str(error)
        flash(request, message, "error")
        return _see_other(f"/leads/{lead_id}#convert")
    flash(request, _("Lead converted."))
    return _see_other(f"/deals/{deal.id}")


# --- my tasks ---------------------------------------------------------------------------------


@router.get("/tasks/my", response_class=HTMLResponse)
def my_tasks(request: Request, session: SessionDep, user: Reader) -> Response:
    now = utcnow()
    context = {
        "rows": page_data.my_tasks(session, user, now=now),
        "task_kinds": TASK_KIND_LABELS,
        "can_sell": _can_sell(user),
    }
    return render(request, "sales/tasks.html", context)


# --- settings: pipelines and lost reasons -----------------------------------------------------


@router.get("/settings/pipelines", response_class=HTMLResponse)
def pipeline_settings(request: Request, session: SessionDep, _user: Manager) -> Response:
    context = {
        "pipelines": [(p, service.stages_of(session, p.id)) for p in page_data.pipelines(session)],
        "reasons": queries.lost_reasons(session),
        "kind_labels": STAGE_KIND_LABELS,
    }
    return render(request, "sales/pipelines.html", context)


@router.get("/settings/pipelines/new", response_class=HTMLResponse)
def pipeline_new(request: Request, _user: Manager) -> Response:
    rows = [
        {"id": "", "name": name, "probability": p, "kind": kind.value}
        for name, p, kind in service.DEFAULT_STAGES
    ]
    return _pipeline_form(request, None, {"name": ""}, rows, {})


@router.post("/settings/pipelines/new", response_class=HTMLResponse)
def pipeline_create(
    request: Request, session: SessionDep, _user: Manager, form: FormDep
) -> Response:
    return _save_pipeline(request, session, form, None, actor_id=_user.id)


@router.get("/settings/pipelines/{pipeline_id:int}", response_class=HTMLResponse)
def pipeline_edit(
    request: Request, session: SessionDep, _user: Manager, pipeline_id: int
) -> Response:
    pipeline = service.get_pipeline(session, pipeline_id)
    rows = [
        {"id": s.id, "name": s.name, "probability": s.probability, "kind": s.kind.value}
        for s in service.stages_of(session, pipeline_id)
    ]
    return _pipeline_form(request, pipeline_id, {"name": pipeline.name}, rows, {})


@router.post("/settings/pipelines/{pipeline_id:int}", response_class=HTMLResponse)
def pipeline_update(
    request: Request, session: SessionDep, _user: Manager, form: FormDep, pipeline_id: int
) -> Response:
    service.get_pipeline(session, pipeline_id)
    return _save_pipeline(request, session, form, pipeline_id, actor_id=_user.id)


def _save_pipeline(
    request: Request, session: Session, form: Any, pipeline_id: int | None, *, actor_id: int
) -> Response:
    rows = page_data.stage_rows(form)
    name = text(form, "name") or ""
    try:
        stages = [
            StageIn(
                id=_int(str(r["id"])),
                name=str(r["name"]),
                probability=int(r["probability"] or 0),
                kind=StageKind(r["kind"]),
            )
            for r in rows
        ]
        data = PipelineIn(name=name, stages=stages)
        service.save_pipeline(session, data, pipeline_id=pipeline_id, actor_id=actor_id)
    except (ValidationError, RetentioError, ValueError) as error:
        session.rollback()
        errors = (
            field_errors(error)
            if isinstance(error, ValidationError | RetentioError)
            else {"__all__": str(error)}
        )
        status = error.status if isinstance(error, RetentioError) else 422
        return _pipeline_form(
            request, pipeline_id, {"name": name}, rows, errors, status_code=status
        )
    flash(request, _("Pipeline saved."))
    return _see_other("/settings/pipelines")


def _pipeline_form(
    request: Request,
    pipeline_id: int | None,
    values: dict[str, Any],
    rows: list[dict[str, Any]],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    blank = {"id": "", "name": "", "probability": "", "kind": StageKind.OPEN.value}
    context = {
        "pipeline_id": pipeline_id,
        "values": values,
        "rows": [*rows, *([blank] * BLANK_STAGES)],
        "errors": errors,
        "kind_labels": STAGE_KIND_LABELS,
    }
    return render(request, "sales/pipeline_form.html", context, status_code=status_code)


@router.post("/settings/pipelines/lost-reasons", response_class=HTMLResponse)
def lost_reason_add(
    request: Request, session: SessionDep, _user: Manager, form: FormDep
) -> Response:
    try:
        service.add_lost_reason(session, text(form, "name") or "", actor_id=_user.id)
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
        return _see_other("/settings/pipelines#reasons")
    flash(request, _("Lost reason added."))
    return _see_other("/settings/pipelines#reasons")
