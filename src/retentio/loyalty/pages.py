"""HTML pages of the loyalty programme: the overview (points outstanding with a chart by
tier, the programme's settings, the tiers with their form) and the ledger search.

Every role may look; only admins (the settings permission, as in the API) change the
programme and tiers. Handlers parse, authorise, call the service, and redirect or re-render
a rejected form with the reasons beside its fields.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.errors import RetentioError
from retentio.loyalty import page_data, queries, service
from retentio.loyalty.api import Admin, Reader
from retentio.loyalty.labels import KIND_LABELS
from retentio.loyalty.models import EntryKind, Tier
from retentio.web.deps import SessionDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, field_errors
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _can_change(user: User) -> bool:
    return role_allows(user.role, Permission.MANAGE_SETTINGS)


@router.get("/loyalty", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: Reader) -> Response:
    return _overview(request, session, user)


def _overview(
    request: Request,
    session: Session,
    user: User,
    *,
    programme: dict[str, Any] | None = None,
    tier: dict[str, Any] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    editing: Tier | None = None,
    status_code: int = 200,
) -> Response:
    owed = queries.outstanding(session)
    context = {
        "owed": owed,
        "bars": page_data.bars(owed),
        "programme": programme or page_data.programme_values(queries.programme(session)),
        "tiers": queries.tiers(session),
        "tier": tier or page_data.tier_values(editing),
        "editing": editing,
        "errors": errors or {},
        "can_change": _can_change(user),
    }
    return render(request, "loyalty/overview.html", context, status_code=status_code)


@router.post("/loyalty/programme", response_class=HTMLResponse)
def save_programme(request: Request, session: SessionDep, user: Admin, form: FormDep) -> Response:
    values = page_data.posted_programme(form)
    try:
        service.update_programme(session, page_data.programme_in(values), actor_id=user.id)
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _overview(
            request,
            session,
            user,
            programme=values,
            errors={"programme": field_errors(error)},
            status_code=_status(error),
        )
    flash(request, _("Loyalty programme saved."))
    return _see_other("/loyalty")


@router.get("/loyalty/tiers/{tier_id:int}", response_class=HTMLResponse)
def edit_tier(request: Request, session: SessionDep, user: Admin, tier_id: int) -> Response:
    return _overview(request, session, user, editing=service.get_tier(session, tier_id))


@router.post("/loyalty/tiers", response_class=HTMLResponse)
def add_tier(request: Request, session: SessionDep, user: Admin, form: FormDep) -> Response:
    return _save_tier(request, session, user, form, None)


@router.post("/loyalty/tiers/{tier_id:int}", response_class=HTMLResponse)
def change_tier(
    request: Request, session: SessionDep, user: Admin, form: FormDep, tier_id: int
) -> Response:
    return _save_tier(request, session, user, form, service.get_tier(session, tier_id))


def _save_tier(
    request: Request, session: Session, user: User, form: Any, tier: Tier | None
) -> Response:
    values = page_data.posted_tier(form)
    try:
        data = page_data.tier_in(values)
        if tier is None:
            service.create_tier(session, data, actor_id=user.id)
        else:
            service.update_tier(session, tier.id, data, actor_id=user.id)
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _overview(
            request,
            session,
            user,
            tier=values,
            editing=tier,
            errors={"tier": field_errors(error)},
            status_code=_status(error),
        )
    flash(request, _("Tier saved."))
    return _see_other("/loyalty#tiers")


@router.post("/loyalty/tiers/{tier_id:int}/delete", response_class=HTMLResponse)
def remove_tier(request: Request, session: SessionDep, _user: Admin, tier_id: int) -> Response:
    service.delete_tier(session, tier_id, actor_id=_user.id)
    flash(request, _("Tier deleted."))
    return _see_other("/loyalty#tiers")


def _status(error: ValidationError | RetentioError) -> int:
    return error.status if isinstance(error, RetentioError) else 422


@router.get("/loyalty/ledger", response_class=HTMLResponse)
def ledger(request: Request, session: SessionDep, user: Reader) -> Response:
    listing = Listing.of(request, sorts=(), default_sort="-created")
    kind = listing.get("kind")
    start, end = listing.get_date("from"), listing.get_date("to")
    flt = queries.LedgerFilter(
        contact_id=listing.get_int("contact"),
        kind=EntryKind(kind) if kind in set(EntryKind) else None,
        created_from=page_data.day_start(start) if start else None,
        created_to=page_data.day_start(end, next_day=True) if end else None,
    )
    rows, total = queries.ledger_page(
        session,
        user,
        flt,
        offset=(listing.page - 1) * listing.per_page,
        limit=listing.per_page,
    )
    context = {
        "listing": listing,
        "pager": listing.pager(total),
        "rows": rows,
        "kind_labels": KIND_LABELS,
        "kind_options": [(kind.value, _(label)) for kind, label in KIND_LABELS.items()],
    }
    return render(request, "loyalty/ledger.html", context)
