"""HTML pages of journeys: the list with each journey's counts, the gallery of ready-made
journeys, the form of a new one, and the card: the journey drawn as a flow with live counts
per step, its editor (steps, trigger, goal, policies), the actions its status allows, the
enrollments and the report against the holdout.

Handlers parse, authorise (reading needs VIEW, changing needs MARKETING — the API's Reader and
Writer), call a service and render or redirect back to the card. Changes the worker should
see at once enqueue a pass after the request's session commits, as the API does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.campaigns.page_data import choices, segment_names
from retentio.consent.labels import CHANNEL_LABELS, PURPOSE_LABELS
from retentio.db import utcnow
from retentio.errors import RetentioError
from retentio.journeys import page_data, queries, scenarios, service, tasks
from retentio.journeys.api import MOVES, Action, Reader, Writer
from retentio.journeys.labels import (
    GROUP_LABELS,
    REENTRY_LABELS,
    STATE_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    TRIGGER_LABELS,
    UNIT_LABELS,
)
from retentio.journeys.models import EnrollmentState, Group, Journey, JourneyStatus
from retentio.kit.text import N_
from retentio.web.dashboard import PLOTLY_VERSION
from retentio.web.deps import SessionDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, text
from retentio.web.i18n import current_locale
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 25
# What each status lets the author do on the card (the service refuses the rest anyway).
ACTIONS: dict[JourneyStatus, tuple[str, ...]] = {
    JourneyStatus.DRAFT: ("edit", "activate", "archive"),
    JourneyStatus.ACTIVE: ("edit", "pause", "archive"),
    JourneyStatus.PAUSED: ("edit", "resume", "archive"),
    JourneyStatus.ARCHIVED: (),
}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _can_change(user: User) -> bool:
    return role_allows(user.role, Permission.MARKETING)


def _changed(background: BackgroundTasks) -> None:
    # The worker's pass runs after the response, so after the session committed.
    tasks.forget_listened()
    background.add_task(tasks.advance_journeys)


# --- the list and the gallery ------------------------------------------------------------------


@router.get("/journeys", response_class=HTMLResponse)
def journey_list(request: Request, session: SessionDep, user: Reader) -> Response:
    """Newest first, filtered by status, paged like the other lists (in Python: they are few)."""
    listing = Listing.of(request, sorts=(), default_sort="-created")
    wanted = listing.get("status")
    journeys = queries.journeys(session, include_archived=wanted == JourneyStatus.ARCHIVED.value)
    journeys = [j for j in journeys if not wanted or j.status.value == wanted]
    listing.per_page = PER_PAGE
    pager = listing.pager(len(journeys))
    shown = journeys[pager.offset : pager.offset + pager.per_page]
    names = segment_names(session)
    context = {
        "listing": listing,
        "pager": pager,
        "journeys": shown,
        "counts": page_data.counts_of(session, [j.id for j in shown]),
        "triggers": {j.id: page_data.trigger_words(j.trigger, names) for j in shown},
        "can_change": _can_change(user),
        "status_labels": STATUS_LABELS,
    }
    return render(request, "journeys/list.html", context)


@router.get("/journeys/templates", response_class=HTMLResponse)
def journey_gallery(request: Request, user: Reader) -> Response:
    # Translated here: a scenario's text may hold a "%", which `_()` in templates formats.
    cards = [(s.key, _(s.name), _(s.description)) for s in scenarios.SCENARIOS.values()]
    context = {"scenarios": cards, "can_change": _can_change(user)}
    return render(request, "journeys/gallery.html", context)


@router.post("/journeys/templates/{key}")
def journey_from_template(
    request: Request, session: SessionDep, user: Writer, key: str
) -> Response:
    try:
        journey = scenarios.create_from_scenario(
            session,
            key,
            account_id=None,
            language=current_locale.get(),
            user=user,
            now=utcnow(),
        )
    except RetentioError as error:
        session.rollback()
        details = error.details if isinstance(error.details, dict) else {}
        message = (
            _("Add an e-mail sending account in Settings first: ready-made journeys send e-mails.")
            if details.get("field") == "account_id"
            else error.message
        )
        flash(request, message, "error")
        return _see_other("/journeys/templates")
    flash(request, _("Journey created as a draft: check its messages, then activate it."))
    return _see_other(f"/journeys/{journey.id}")


# --- a new journey -----------------------------------------------------------------------------


@router.get("/journeys/new", response_class=HTMLResponse)
def journey_new(request: Request, session: SessionDep, _user: Writer) -> Response:
    return _new_form(request, session, page_data.new_values(), {})


@router.post("/journeys/new", response_class=HTMLResponse)
def journey_create(request: Request, session: SessionDep, user: Writer, form: FormDep) -> Response:
    values = page_data.posted_values(form)
    try:
        data = page_data.journey_in(values, steps=False)
        journey = service.create_journey(session, data, user=user, now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        status = error.status if isinstance(error, RetentioError) else 422
        errors = page_data.form_errors(error, [])
        return _new_form(request, session, values, errors, status_code=status)
    flash(request, _("Journey created as a draft: add its steps."))
    return _see_other(f"/journeys/{journey.id}")


def _new_form(
    request: Request,
    session: Session,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    context = {"values": values, "errors": errors} | _choices(session)
    return render(request, "journeys/new.html", context, status_code=status_code)


def _choices(session: Session) -> dict[str, Any]:
    found = choices(session)
    return {
        "accounts": [(a.id, a.name) for a in found.accounts],
        "topics": [(t.id, t.name) for t in found.topics],
        "segments": found.segments,
        "trigger_options": [(k, _(v)) for k, v in TRIGGER_LABELS.items()],
        "trigger_kind_fields": page_data.TRIGGER_KIND_FIELDS,
        "unit_options": [(k, _(v)) for k, v in UNIT_LABELS.items()],
        "reentry_options": [(k, _(v)) for k, v in REENTRY_LABELS.items()],
        "step_options": [(k, _(v)) for k, v in STEP_LABELS.items()],
        "channel_options": [(k.value, _(v)) for k, v in CHANNEL_LABELS.items()],
        "purpose_options": [(k.value, _(v)) for k, v in PURPOSE_LABELS.items()],
    }


# --- the card and its editor -----------------------------------------------------------------


@router.get("/journeys/{journey_id:int}", response_class=HTMLResponse)
def journey_card(request: Request, session: SessionDep, user: Reader, journey_id: int) -> Response:
    journey = service.get(session, journey_id)
    steps = [s.model_dump(mode="json") for s in queries.steps_of(session, journey).steps]
    return _card(request, session, user, journey, page_data.values_of(journey, steps), {})


@router.post("/journeys/{journey_id:int}/edit", response_class=HTMLResponse)
def journey_update(
    request: Request,
    session: SessionDep,
    user: Writer,
    form: FormDep,
    background: BackgroundTasks,
    journey_id: int,
) -> Response:
    """Saves the whole definition as posted; "add a step" and "delete" post it too and get the
    editor back with one step more or less, unsaved: nothing typed is lost."""
    journey = service.get(session, journey_id)
    values = page_data.posted_values(form)
    reshaped = _reshaped(session, values, form)
    if reshaped is not None:
        note = {"__note__": _("Not saved yet: press Save to keep the change.")}
        return _card(request, session, user, journey, reshaped, note)
    try:
        data = page_data.journey_in(values)
        service.update_journey(session, journey_id, data, now=utcnow())
    except (ValidationError, RetentioError) as error:
        session.rollback()
        status = error.status if isinstance(error, RetentioError) else 422
        errors = page_data.form_errors(error, page_data.steps_of(values))
        return _card(request, session, user, journey, values, errors, status_code=status)
    _changed(background)
    flash(request, _("Journey saved."))
    return _see_other(f"/journeys/{journey_id}")


def _reshaped(session: Session, values: dict[str, str], form: Any) -> dict[str, str] | None:
    steps = page_data.steps_of(values)
    added = text(form, "add_step")
    if added is not None and len(steps) < 60:
        after = int(added) if added.isdigit() and int(added) < len(steps) else None
        prefix = f"steps-{after}-" if after is not None else ""
        kind = text(form, f"{prefix}add_kind") or "wait"
        if kind not in STEP_LABELS:
            kind = "wait"
        exit_field = text(form, f"{prefix}add_exit") or ""
        for step in steps:
            step.pop("add_kind", None)
            step.pop("add_exit", None)
        steps = page_data.add_step(
            steps, after, kind, exit_field, page_data.default_account(session)
        )
        return page_data.with_steps(values, steps)
    removed = text(form, "delete_step")
    if removed is not None and removed.isdigit() and int(removed) < len(steps):
        return page_data.with_steps(values, page_data.remove_step(steps, int(removed)))
    return None


def _card(
    request: Request,
    session: Session,
    user: User,
    journey: Journey,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    stats = queries.stats(session, journey.id)
    steps = page_data.steps_of(values)
    listing = Listing.of(request, sorts=(), default_sort="-entered")
    listing.per_page = PER_PAGE
    state = listing.get("state")
    total, enrollments = queries.enrollments(
        session,
        journey.id,
        state=EnrollmentState(state) if state in set(EnrollmentState) else None,
        step=listing.get("step"),
        offset=(listing.page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    report = queries.report(session, journey, now=utcnow())
    can_change = _can_change(user)
    context = {
        "journey": journey,
        "version": queries.version_numbers(session, journey.id).get(journey.version_id or 0, 1),
        "trigger_words": page_data.trigger_words(journey.trigger, segment_names(session)),
        "values": values,
        "errors": {k: v for k, v in errors.items() if k != "__note__"},
        "note": errors.get("__note__"),
        "steps": steps,
        "flow": page_data.flow(steps, stats.steps),
        "stats": stats,
        "active_count": stats.states.get(EnrollmentState.ACTIVE, 0),
        "converted_count": stats.states.get(EnrollmentState.CONVERTED, 0),
        "completed_count": stats.states.get(EnrollmentState.COMPLETED, 0),
        "exited_count": stats.states.get(EnrollmentState.EXITED, 0),
        "step_keys": [s.get("key", "") for s in steps],
        "actions": ACTIONS[journey.status] if can_change else (),
        "editable": can_change and journey.status != JourneyStatus.ARCHIVED,
        "listing": listing,
        "pager": listing.pager(total),
        "enrollments": enrollments,
        "contact_names": page_data.contact_names(session, enrollments),
        "report": report,
        "treated": report.groups.get(Group.TREATED),
        "holdout": report.groups.get(Group.HOLDOUT),
        "charts": page_data.charts(report),
        "message_states": page_data.message_states(report),
        "plotly_version": PLOTLY_VERSION,
        "status_labels": STATUS_LABELS,
        "state_labels": STATE_LABELS,
        "group_labels": GROUP_LABELS,
        "step_labels": STEP_LABELS,
        "state_options": [(s.value, _(label)) for s, label in STATE_LABELS.items()],
        "exits_of": page_data.exits_of,
        "branches_of": page_data.branches_of,
        "step_has_error": page_data.step_errors,
    } | _choices(session)
    return render(request, "journeys/card.html", context, status_code=status_code)


# --- actions -----------------------------------------------------------------------------------


DONE = {
    Action.ACTIVATE: N_("Journey activated."),
    Action.PAUSE: N_("Journey paused."),
    Action.RESUME: N_("Journey resumed."),
    Action.ARCHIVE: N_("Journey archived."),
}


@router.post("/journeys/{journey_id:int}/{action}")
def journey_act(
    request: Request,
    session: SessionDep,
    _user: Writer,
    background: BackgroundTasks,
    journey_id: int,
    action: Action,
) -> Response:
    # Before the move: when it fails, `_act` rolls back, and the entry goes with it.
    audit.record(session, entity="journey", entity_id=journey_id, action=action, actor_id=_user.id)
    return _act(request, session, background, journey_id, _(DONE[action]), MOVES[action])


def _act(
    request: Request,
    session: Session,
    background: BackgroundTasks,
    journey_id: int,
    done: str,
    move: Any,
) -> Response:
    try:
        move(session, journey_id, now=utcnow())
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
    else:
        _changed(background)
        flash(request, done)
    return _see_other(f"/journeys/{journey_id}")
