"""HTML pages of campaigns: the list with each campaign's figures, the form (new and edit, with
its variants), and the card with the actions its status allows, a test send to oneself, and
the report: figures, progress while sending, the effect against the holdout, variants, charts.

Handlers parse, authorise (reading needs VIEW, changing needs MARKETING — the API's Reader and
Writer), call a service and render or redirect back to the card. A campaign due now is started
by the worker, enqueued after the request's session commits, as the API does.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retentio.audit import service as audit
from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.campaigns import page_data, proofs, queries, service, tasks
from retentio.campaigns.api import Reader, Writer
from retentio.campaigns.labels import GROUP_LABELS, METRIC_LABELS, STATUS_LABELS
from retentio.campaigns.models import Campaign, CampaignStatus
from retentio.consent.labels import CHANNEL_LABELS, PURPOSE_LABELS
from retentio.db import utcnow
from retentio.errors import InvalidInput, RetentioError
from retentio.messaging import tasks as messaging_tasks
from retentio.messaging.models import MessageContent, SendingAccount, Topic
from retentio.web.dashboard import PLOTLY_VERSION
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, text
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
E = TypeVar("E", bound=StrEnum)

PER_PAGE = 25
# What each status lets the author do on the card (the service refuses the rest anyway).
ACTIONS: dict[CampaignStatus, tuple[str, ...]] = {
    CampaignStatus.DRAFT: ("edit", "send_now", "schedule", "cancel"),
    CampaignStatus.SCHEDULED: ("edit", "send_now", "schedule", "unschedule", "cancel"),
    CampaignStatus.SENDING: ("pause", "cancel"),
    CampaignStatus.PAUSED: ("resume", "cancel"),
    CampaignStatus.DONE: (),
    CampaignStatus.CANCELLED: (),
}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _can_change(user: User) -> bool:
    return role_allows(user.role, Permission.MARKETING)


# --- the list --------------------------------------------------------------------------------


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(request: Request, session: SessionDep, user: Reader) -> Response:
    """Newest first, filtered by status, paged like the other lists (in Python: they are few)."""
    listing = Listing.of(request, sorts=(), default_sort="-created")
    wanted = listing.get("status")
    campaigns = [c for c in queries.campaigns(session) if not wanted or c.status.value == wanted]
    listing.per_page = PER_PAGE
    pager = listing.pager(len(campaigns))
    shown = campaigns[pager.offset : pager.offset + pager.per_page]
    context = {
        "listing": listing,
        "pager": pager,
        "rows": page_data.rows_for(session, shown, now=utcnow()),
        "can_change": _can_change(user),
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
    }
    return render(request, "campaigns/list.html", context)


# --- the form --------------------------------------------------------------------------------


@router.get("/campaigns/new", response_class=HTMLResponse)
def campaign_new(request: Request, session: SessionDep, _user: Writer) -> Response:
    return _form(request, session, None, page_data.new_values(), {})


@router.post("/campaigns/new", response_class=HTMLResponse)
def campaign_create(request: Request, session: SessionDep, user: Writer, form: FormDep) -> Response:
    values = page_data.posted_values(form)
    if _reshaped(values, form):
        return _form(request, session, None, values, {})
    try:
        campaign = service.create_campaign(session, page_data.campaign_in(values, {}), user=user)
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, session, None, values, error)
    flash(request, _("Campaign created as a draft."))
    return _see_other(f"/campaigns/{campaign.id}")


@router.get("/campaigns/{campaign_id:int}/edit", response_class=HTMLResponse)
def campaign_edit(
    request: Request, session: SessionDep, _user: Writer, campaign_id: int
) -> Response:
    campaign = service.get(session, campaign_id)
    if campaign.status not in service.EDITABLE:
        flash(request, _("Only a draft or a scheduled campaign can be edited."), "error")
        return _see_other(f"/campaigns/{campaign_id}")
    return _form(request, session, campaign, page_data.values_of(session, campaign), {})


@router.post("/campaigns/{campaign_id:int}/edit", response_class=HTMLResponse)
def campaign_update(
    request: Request, session: SessionDep, _user: Writer, form: FormDep, campaign_id: int
) -> Response:
    campaign = service.get(session, campaign_id)
    values = page_data.posted_values(form)
    if _reshaped(values, form):
        return _form(request, session, campaign, values, {})
    try:
        data = page_data.campaign_in(values, page_data.locales_of(session, campaign_id))
        service.update_campaign(session, campaign_id, data)
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, session, campaign, values, error)
    flash(request, _("Campaign saved."))
    return _see_other(f"/campaigns/{campaign_id}")


def _reshaped(values: dict[str, Any], form: FormData) -> bool:
    """The "add variant" and "remove" buttons post the form to get it back with one variant
    more or less: no script needed, and nothing typed is lost."""
    variants = values["variants"]
    if form.get("add_variant") and len(variants) < page_data.MAX_VARIANTS:
        variants.append(page_data.blank_variant(len(variants)))
        return True
    removed = text(form, "remove_variant")
    if removed is not None and removed.isdigit() and len(variants) > 1:
        variants.pop(min(int(removed), len(variants) - 1))
        return True
    return bool(form.get("add_variant"))


def _rejected(
    request: Request,
    session: Session,
    campaign: Campaign | None,
    values: dict[str, Any],
    error: ValidationError | RetentioError,
) -> Response:
    status = error.status if isinstance(error, RetentioError) else 422
    errors = page_data.form_errors(error)
    return _form(request, session, campaign, values, errors, status_code=status)


def _form(
    request: Request,
    session: Session,
    campaign: Campaign | None,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> Response:
    choices = page_data.choices(session)
    context = {
        "campaign": campaign,
        "values": values,
        "flat": page_data.flat_values(values),
        "errors": errors,
        "choices": choices,
        "max_variants": page_data.MAX_VARIANTS,
        "channel_labels": CHANNEL_LABELS,
        "channel_options": _options(CHANNEL_LABELS),
        "purpose_options": _options(PURPOSE_LABELS),
        "metric_options": _options(METRIC_LABELS),
        "topic_options": [(t.id, t.name) for t in choices.topics],
        "utm_fields": page_data.UTM_FIELDS,
    }
    return render(request, "campaigns/form.html", context, status_code=status_code)


def _options(labels: Mapping[E, str]) -> list[tuple[str, str]]:
    return [(key.value, _(label)) for key, label in labels.items()]


# --- the card --------------------------------------------------------------------------------


@router.get("/campaigns/{campaign_id:int}", response_class=HTMLResponse)
def campaign_card(
    request: Request, session: SessionDep, user: Reader, campaign_id: int
) -> Response:
    campaign = service.get(session, campaign_id)
    variants = service.variants_of(session, campaign.id)
    names = page_data.segment_names(session)
    context = {
        "campaign": campaign,
        "card": page_data.card(session, campaign, now=utcnow()),
        "variants": variants,
        "subjects": {
            v.id: content.subject
            for v in variants
            if (content := session.get(MessageContent, v.content_id)) is not None
        },
        "weights": {v.id: v.weight for v in variants},
        "account": session.get(SendingAccount, campaign.account_id),
        "topic": session.get(Topic, campaign.topic_id) if campaign.topic_id else None,
        "segment": names.get(campaign.segment_id, "—"),
        "excluded": [names.get(s, "—") for s in campaign.exclude_segment_ids],
        "actions": ACTIONS[campaign.status] if _can_change(user) else (),
        "can_change": _can_change(user),
        "schedule_zone": page_data.SCHEDULE_ZONE,
        "status_labels": STATUS_LABELS,
        "status_labels_json": json.dumps({s.value: _(label) for s, label in STATUS_LABELS.items()}),
        "channel_labels": CHANNEL_LABELS,
        "purpose_labels": PURPOSE_LABELS,
        "metric_labels": METRIC_LABELS,
        "group_labels": GROUP_LABELS,
        "plotly_version": PLOTLY_VERSION,
    }
    return render(request, "campaigns/card.html", context)


def _optional_id(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@router.get("/campaigns/{campaign_id:int}/preview", response_class=HTMLResponse)
def campaign_preview(
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    campaign_id: int,
    contact_id: str | None = None,
    variant_id: str | None = None,
) -> Response:
    """The message as the contact would see it, alone in a sandboxed page: the HTML comes from
    a template author, so it gets no script and no access to the app's origin."""
    headers = {"Content-Security-Policy": "sandbox", "Cache-Control": "no-store"}
    try:
        rendered = proofs.preview(
            session,
            campaign_id,
            contact_id=_optional_id(contact_id),
            variant_id=_optional_id(variant_id),
            user=user,
            settings=settings,
        )
    except InvalidInput as error:
        return HTMLResponse(html.escape(error.message), status_code=422, headers=headers)
    body = rendered.html or f"<pre>{html.escape(rendered.text)}</pre>"
    return HTMLResponse(body, headers=headers)


@router.post("/campaigns/{campaign_id:int}/send-now")
def campaign_send_now(
    request: Request,
    session: SessionDep,
    _user: Writer,
    background: BackgroundTasks,
    campaign_id: int,
) -> Response:
    # Before the launch: when it fails, `_launch` rolls back, and the entry goes with it.
    audit.record(
        session, entity="campaign", entity_id=campaign_id, action="schedule", actor_id=_user.id
    )
    return _launch(request, session, background, campaign_id, at=None)


@router.post("/campaigns/{campaign_id:int}/schedule")
def campaign_schedule(
    request: Request,
    session: SessionDep,
    _user: Writer,
    form: FormDep,
    background: BackgroundTasks,
    campaign_id: int,
) -> Response:
    try:
        at = page_data.schedule_at(text(form, "at"))
    except RetentioError as error:
        flash(request, error.message, "error")
        return _see_other(f"/campaigns/{campaign_id}")
    audit.record(
        session, entity="campaign", entity_id=campaign_id, action="schedule", actor_id=_user.id
    )
    return _launch(request, session, background, campaign_id, at=at)


def _launch(
    request: Request,
    session: Session,
    background: BackgroundTasks,
    campaign_id: int,
    *,
    at: Any,
) -> Response:
    now = utcnow()
    try:
        campaign = service.schedule(session, campaign_id, at=at, now=now)
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
        return _see_other(f"/campaigns/{campaign_id}")
    if campaign.scheduled_at is not None and campaign.scheduled_at <= now:
        # A background task runs after the response, so after the session committed: the
        # worker finds the campaign scheduled.
        background.add_task(tasks.start_campaign, campaign.id)
        flash(request, _("The campaign is starting."))
    else:
        flash(request, _("Campaign scheduled."))
    return _see_other(f"/campaigns/{campaign_id}")


@router.post("/campaigns/{campaign_id:int}/unschedule")
def campaign_unschedule(
    request: Request, session: SessionDep, _user: Writer, campaign_id: int
) -> Response:
    return _act(request, session, campaign_id, _("Back to draft."), service.unschedule)


@router.post("/campaigns/{campaign_id:int}/pause")
def campaign_pause(
    request: Request, session: SessionDep, _user: Writer, campaign_id: int
) -> Response:
    return _act(request, session, campaign_id, _("Campaign paused."), service.pause, now=utcnow())


@router.post("/campaigns/{campaign_id:int}/resume")
def campaign_resume(
    request: Request,
    session: SessionDep,
    _user: Writer,
    background: BackgroundTasks,
    campaign_id: int,
) -> Response:
    response = _act(
        request, session, campaign_id, _("Campaign resumed."), service.resume, now=utcnow()
    )
    background.add_task(messaging_tasks.send_outbox)  # the released messages, after commit
    return response


@router.post("/campaigns/{campaign_id:int}/cancel")
def campaign_cancel(
    request: Request, session: SessionDep, _user: Writer, campaign_id: int
) -> Response:
    audit.record(
        session, entity="campaign", entity_id=campaign_id, action="cancel", actor_id=_user.id
    )
    return _act(
        request, session, campaign_id, _("Campaign cancelled."), service.cancel, now=utcnow()
    )


def _act(
    request: Request,
    session: Session,
    campaign_id: int,
    done: str,
    move: Any,
    **options: Any,
) -> Response:
    try:
        move(session, campaign_id, **options)
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
    else:
        flash(request, done)
    return _see_other(f"/campaigns/{campaign_id}")


@router.post("/campaigns/{campaign_id:int}/test")
def campaign_test(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Writer,
    form: FormDep,
    campaign_id: int,
) -> Response:
    try:
        sent_to = proofs.send_proof(
            session,
            campaign_id,
            address=text(form, "address"),
            contact_id=_id(form, "contact_id"),
            variant_id=_id(form, "variant_id"),
            user=user,
            settings=settings,
            now=utcnow(),
        )
    except RetentioError as error:
        session.rollback()
        flash(request, _("The test was not sent: %(reason)s") % {"reason": error.message}, "error")
    else:
        flash(request, _("Test sent to %(address)s.") % {"address": sent_to})
    return _see_other(f"/campaigns/{campaign_id}")


def _id(form: FormData, name: str) -> int | None:
    raw = text(form, name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise InvalidInput(_("An id is a whole number."), details={"field": name})
    return int(raw)
