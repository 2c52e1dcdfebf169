"""HTML pages of feedback and tickets: the surveys list, a survey's form and card (NPS, its
trend by month, by segment, exit reasons, answers), and the ticket queue with SLA breach
badges, a ticket's form and card (notes, replies, status changes).

Handlers parse, authorise (reading needs VIEW; surveys change with MARKETING and tickets with
EDIT_CUSTOMERS, as in the API), call a service and render or redirect back to the card.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.db import utcnow
from retentio.errors import RetentioError
from retentio.feedback import page_data, queries, service
from retentio.feedback.api import Reader, SurveyWriter, TicketWriter
from retentio.feedback.labels import (
    PRIORITY_LABELS,
    SURVEY_KIND_LABELS,
    TICKET_KIND_LABELS,
    TICKET_STATUS_LABELS,
)
from retentio.feedback.models import Survey, Ticket, TicketKind, TicketStatus
from retentio.feedback.schemas import NoteIn, StatusIn
from retentio.web.dashboard import PLOTLY_VERSION
from retentio.web.deps import SessionDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, field_errors, text
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
E = TypeVar("E", bound=StrEnum)
PER_PAGE = 50


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _options(labels: Mapping[E, str]) -> list[tuple[str, str]]:
    return [(key.value, _(label)) for key, label in labels.items()]


def _enum(kind: type[E], value: str | None) -> E | None:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


# --- surveys ---------------------------------------------------------------------------------


@router.get("/feedback", response_class=HTMLResponse)
def survey_list(request: Request, session: SessionDep, user: Reader) -> Response:
    listing = Listing.of(request, sorts=(), default_sort="-created")
    surveys = queries.surveys(session, archived=listing.flag("archived"))
    context = {
        "listing": listing,
        "surveys": surveys,
        "answers": queries.answer_counts(session, [s.id for s in surveys]),
        "can_change": role_allows(user.role, Permission.MARKETING),
        "kind_labels": SURVEY_KIND_LABELS,
    }
    return render(request, "feedback/list.html", context)


@router.get("/feedback/new", response_class=HTMLResponse)
def survey_new(request: Request, _user: SurveyWriter) -> Response:
    return _survey_form(request, None, page_data.survey_values(None), {})


@router.post("/feedback/new", response_class=HTMLResponse)
def survey_create(
    request: Request, session: SessionDep, _user: SurveyWriter, form: FormDep
) -> Response:
    values = page_data.posted_survey_values(form)
    try:
        survey = service.create_survey(session, page_data.survey_in(values), now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _survey_rejected(request, None, values, error)
    flash(request, _("Survey created."))
    return _see_other(f"/feedback/{survey.id}")


@router.get("/feedback/{survey_id:int}/edit", response_class=HTMLResponse)
def survey_edit(
    request: Request, session: SessionDep, _user: SurveyWriter, survey_id: int
) -> Response:
    survey = service.get_survey(session, survey_id)
    return _survey_form(request, survey, page_data.survey_values(survey), {})


@router.post("/feedback/{survey_id:int}/edit", response_class=HTMLResponse)
def survey_update(
    request: Request, session: SessionDep, _user: SurveyWriter, form: FormDep, survey_id: int
) -> Response:
    survey = service.get_survey(session, survey_id)
    values = page_data.posted_survey_values(form)
    try:
        service.update_survey(session, survey_id, page_data.survey_in(values))
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _survey_rejected(request, survey, values, error)
    flash(request, _("Survey saved."))
    return _see_other(f"/feedback/{survey_id}")


@router.post("/feedback/{survey_id:int}/archive")
def survey_archive(
    request: Request, session: SessionDep, _user: SurveyWriter, survey_id: int
) -> Response:
    service.archive_survey(session, survey_id, now=utcnow())
    flash(request, _("Survey archived: its links take no more answers."))
    return _see_other(f"/feedback/{survey_id}")


def _survey_rejected(
    request: Request,
    survey: Survey | None,
    values: dict[str, Any],
    error: ValidationError | RetentioError,
) -> Response:
    status = error.status if isinstance(error, RetentioError) else 422
    return _survey_form(request, survey, values, field_errors(error), status_code=status)


def _survey_form(
    request: Request,
    survey: Survey | None,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    context = {
        "survey": survey,
        "values": values,
        "errors": errors,
        "kind_options": _options(SURVEY_KIND_LABELS),
    }
    return render(request, "feedback/form.html", context, status_code=status_code)


@router.get("/feedback/{survey_id:int}", response_class=HTMLResponse)
def survey_card(request: Request, session: SessionDep, user: Reader, survey_id: int) -> Response:
    survey = service.get_survey(session, survey_id)
    context = {
        "survey": survey,
        "card": page_data.survey_card(session, survey, viewer=user),
        "can_change": role_allows(user.role, Permission.MARKETING),
        "kind_labels": SURVEY_KIND_LABELS,
        "plotly_version": PLOTLY_VERSION,
    }
    return render(request, "feedback/card.html", context)


# --- tickets ---------------------------------------------------------------------------------


def _can_handle(user: User) -> bool:
    return role_allows(user.role, Permission.EDIT_CUSTOMERS)


def _ticket_labels() -> dict[str, Any]:
    return {
        "kind_labels": TICKET_KIND_LABELS,
        "priority_labels": PRIORITY_LABELS,
        "status_labels": TICKET_STATUS_LABELS,
    }


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, session: SessionDep, user: Reader) -> Response:
    """The queue, filtered by status, kind and assignee; unfinished tickets first."""
    listing = Listing.of(request, sorts=(), default_sort="due")
    listing.per_page = PER_PAGE
    filters = queries.TicketFilter(
        status=_enum(TicketStatus, listing.get("status")),
        kind=_enum(TicketKind, listing.get("kind")),
        assignee_id=listing.get_int("assignee_id"),
    )
    pager = listing.pager(queries.count_tickets(session, filters))
    rows = queries.tickets(
        session, filters, viewer=user, now=utcnow(), limit=pager.per_page, offset=pager.offset
    )
    context = {
        "listing": listing,
        "pager": pager,
        "rows": rows,
        "can_change": _can_handle(user),
        "status_options": _options(TICKET_STATUS_LABELS),
        "kind_options": _options(TICKET_KIND_LABELS),
        "assignees": page_data.assignee_options(session),
        **_ticket_labels(),
    }
    return render(request, "feedback/tickets.html", context)


@router.get("/tickets/new", response_class=HTMLResponse)
def ticket_new(request: Request, session: SessionDep, _user: TicketWriter) -> Response:
    contact_id = request.query_params.get("contact_id")
    values = page_data.ticket_values(
        None, contact_id=int(contact_id) if contact_id and contact_id.isdigit() else None
    )
    return _ticket_form(request, session, None, values, {})


@router.post("/tickets/new", response_class=HTMLResponse)
def ticket_create(
    request: Request, session: SessionDep, _user: TicketWriter, form: FormDep
) -> Response:
    values = page_data.posted_ticket_values(form)
    try:
        ticket = service.create_ticket(session, page_data.ticket_in(values), now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _ticket_rejected(request, session, None, values, error)
    flash(request, _("Ticket created."))
    return _see_other(f"/tickets/{ticket.id}")


@router.get("/tickets/{ticket_id:int}/edit", response_class=HTMLResponse)
def ticket_edit(
    request: Request, session: SessionDep, _user: TicketWriter, ticket_id: int
) -> Response:
    ticket = service.get_ticket(session, ticket_id)
    return _ticket_form(request, session, ticket, page_data.ticket_values(ticket), {})


@router.post("/tickets/{ticket_id:int}/edit", response_class=HTMLResponse)
def ticket_update(
    request: Request, session: SessionDep, _user: TicketWriter, form: FormDep, ticket_id: int
) -> Response:
    ticket = service.get_ticket(session, ticket_id)
    values = page_data.posted_ticket_values(form)
    try:
        service.update_ticket(session, ticket_id, page_data.ticket_in(values), now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _ticket_rejected(request, session, ticket, values, error)
    flash(request, _("Ticket saved."))
    return _see_other(f"/tickets/{ticket_id}")


def _ticket_rejected(
    request: Request,
    session: Session,
    ticket: Ticket | None,
    values: dict[str, Any],
    error: ValidationError | RetentioError,
) -> Response:
    status = error.status if isinstance(error, RetentioError) else 422
    return _ticket_form(request, session, ticket, values, field_errors(error), status_code=status)


def _ticket_form(
    request: Request,
    session: Session,
    ticket: Ticket | None,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    context = {
        "ticket": ticket,
        "values": values,
        "errors": errors,
        "kind_options": _options(TICKET_KIND_LABELS),
        "priority_options": _options(PRIORITY_LABELS),
        "assignees": page_data.assignee_options(session),
    }
    return render(request, "feedback/ticket_form.html", context, status_code=status_code)


@router.get("/tickets/{ticket_id:int}", response_class=HTMLResponse)
def ticket_card(request: Request, session: SessionDep, user: Reader, ticket_id: int) -> Response:
    ticket = service.get_ticket(session, ticket_id)
    context = {
        "ticket": ticket,
        "breach": queries.breach(ticket, utcnow()),
        "notes": queries.notes(session, ticket_id),
        "next_statuses": [s for s in TicketStatus if s in service.TRANSITIONS[ticket.status]],
        "can_change": _can_handle(user),
        **_ticket_labels(),
    }
    return render(request, "feedback/ticket.html", context)


@router.post("/tickets/{ticket_id:int}/notes")
def ticket_note(
    request: Request, session: SessionDep, user: TicketWriter, form: FormDep, ticket_id: int
) -> Response:
    try:
        data = NoteIn(body=text(form, "body") or "", internal=form.get("reply") != "true")
        service.add_note(session, ticket_id, data, author_id=user.id, now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        flash(request, next(iter(field_errors(error).values())), "error")
        return _see_other(f"/tickets/{ticket_id}")
    flash(request, _("Note added."))
    return _see_other(f"/tickets/{ticket_id}")


@router.post("/tickets/{ticket_id:int}/status")
def ticket_status(
    request: Request, session: SessionDep, _user: TicketWriter, form: FormDep, ticket_id: int
) -> Response:
    satisfaction = text(form, "satisfaction")
    try:
        data = StatusIn.model_validate(
            {"status": text(form, "status"), "satisfaction": satisfaction or None}
        )
        service.change_status(session, ticket_id, data, now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        flash(request, next(iter(field_errors(error).values())), "error")
        return _see_other(f"/tickets/{ticket_id}")
    flash(request, _("Ticket status changed."))
    return _see_other(f"/tickets/{ticket_id}")
