"""HTML pages of contacts: the list with filters and bulk actions, the card with its timeline,
the create and edit form, notes, merging, export and erasure.

Handlers parse, authorise through `contacts.access` (a contact the user may not see is a 404,
never a 403), call a query or a service and render; the request's session commits afterwards.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retentio.auth import queries as auth_queries
from retentio.auth.deps import CurrentUser, require
from retentio.auth.models import User
from retentio.auth.pages import safe_next
from retentio.auth.permissions import Permission, role_allows
from retentio.commerce.labels import STATUS_LABELS
from retentio.companies import queries as company_queries
from retentio.consent.labels import CHANNEL_LABELS, PURPOSE_LABELS
from retentio.contacts import access, identities, page_data, privacy, queries, service
from retentio.contacts.duplicates import Reason
from retentio.contacts.forms import LABELS, fields_from_form, form_values
from retentio.contacts.merge import count_history, merge_contacts
from retentio.contacts.models import Contact
from retentio.db import utcnow
from retentio.errors import InvalidInput, NotFound, PermissionDenied, RetentioError
from retentio.feedback import page_data as feedback_page_data
from retentio.fields import queries as field_queries
from retentio.fields.forms import active
from retentio.fields.models import FieldEntity
from retentio.journeys import queries as journey_queries
from retentio.journeys.labels import STATE_LABELS as JOURNEY_STATE_LABELS
from retentio.kit.text import N_
from retentio.loyalty import queries as loyalty_queries
from retentio.loyalty.labels import KIND_LABELS as LOYALTY_KIND_LABELS
from retentio.profiles.labels import CHURN_BAND_LABELS, EXPLANATIONS, SEGMENT_LABELS, STAGE_LABELS
from retentio.recommend import page_data as recommend_page_data
from retentio.segments import page_data as segment_pages
from retentio.segments import queries as segment_queries
from retentio.segments import service as segment_service
from retentio.settings import Settings
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, field_errors, ints, posted, text
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Editor = Annotated[User, Depends(require(Permission.EDIT_CUSTOMERS))]
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]

SORTS = tuple(queries.SORT_COLUMNS)
BULK_LIMIT = 1000
NOBODY = "none"
REASON_LABELS = {
    Reason.EMAIL: N_("same mailbox"),
    Reason.NAME_COMPANY: N_("same name and company"),
    Reason.NAME_BIRTHDAY: N_("same name and birthday"),
}
HISTORY_LABELS = {
    "orders": N_("Orders"),
    "events": N_("Events"),
    "consent_events": N_("Consent records"),
    "contact_identities": N_("E-mails, phones and ids"),
    "contact_notes": N_("Notes"),
    "form_submissions": N_("Form submissions"),
    "contact_tags": N_("Tags"),
    "contact_watchers": N_("Watchers"),
    "consent_states": N_("Current consent answers"),
}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/contacts", response_class=HTMLResponse)
def contact_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    listing = Listing.of(request, sorts=SORTS, default_sort="-created")
    options = page_data.filter_options(session)
    contacts, total = queries.page(
        session,
        user,
        _filter(listing, options),
        sort=listing.sort,
        page_number=listing.page,
        per_page=listing.per_page,
    )
    context = {
        "listing": listing,
        "pager": listing.pager(total),
        "rows": page_data.rows_for(session, contacts),
        "options": options,
        "can_edit": role_allows(user.role, Permission.EDIT_CUSTOMERS),
        # "Add to static segment" is a change to a segment: marketing's, not every editor's.
        "static_segments": (
            segment_pages.static_segments(session)
            if role_allows(user.role, Permission.MARKETING)
            else []
        ),
    }
    return render(request, "contacts/list.html", context)


def _filter(listing: Listing, options: page_data.FilterOptions) -> queries.ContactFilter:
    key, value = listing.get("field"), listing.get("value")
    known = {d.key for d in options.fields}
    return queries.ContactFilter(
        search=listing.get("q"),
        tag=listing.get("tag"),
        owner_id=listing.get_int("owner"),
        city=listing.get("city"),
        source=listing.get("source"),
        custom={key: value} if key in known and value else {},
        include_anonymous=listing.flag("anonymous"),
    )


@router.post("/contacts/bulk")
def contact_bulk(request: Request, session: SessionDep, user: Editor, form: FormDep) -> Response:
    """Tag, assign or delete the selected contacts; ids the user may not see are ignored."""
    back = safe_next(text(form, "next") or "/contacts")
    contacts = page_data.visible_contacts(session, user, ints(form, "ids")[:BULK_LIMIT])
    if not contacts:
        flash(request, _("Select at least one contact first."), "warning")
        return _see_other(back)
    try:
        message = _bulk(session, user, contacts, form.get("action"), form)
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
        return _see_other(back)
    flash(request, message)
    return _see_other(back)


def _bulk(
    session: Session, user: User, contacts: list[Contact], action: object, form: FormData
) -> str:
    match action:
        case "tag":
            tag = text(form, "tag") or ""
            count = service.add_tag(session, [c.id for c in contacts], tag)
            return _("Tag “%(tag)s” added to contacts: %(count)s.") % {"tag": tag, "count": count}
        case "owner":
            choice = text(form, "owner_id")
            if choice is None or not (choice == NOBODY or choice.isdigit()):
                raise InvalidInput(_("Choose the new owner first."), details={"field": "owner_id"})
            owner_id = None if choice == NOBODY else int(choice)
            count = service.assign_owner(session, contacts, owner_id, actor_id=user.id)
            return _("Owner changed for contacts: %(count)s.") % {"count": count}
        case "delete":
            count = service.soft_delete(session, contacts, actor_id=user.id, now=utcnow())
            return _("Contacts deleted: %(count)s.") % {"count": count}
        case "segment":
            return _add_to_segment(session, user, contacts, form)
    raise InvalidInput(_("Choose a bulk action."), details={"field": "action"})


def _add_to_segment(session: Session, user: User, contacts: list[Contact], form: FormData) -> str:
    if not role_allows(user.role, Permission.MARKETING):
        raise PermissionDenied(_("Your role does not allow changing segments."))
    segment_id = ints(form, "segment_id")
    if not segment_id:
        raise InvalidInput(_("Choose a static segment first."), details={"field": "segment_id"})
    segment = segment_queries.get(session, segment_id[0])
    added = segment_service.add_contacts(
        session, segment.id, [c.id for c in contacts], now=utcnow()
    )
    # Static segments have no rule to refresh: this records today's size for the trend.
    segment_service.refresh_segment(session, segment.id, now=utcnow())
    return _("Added to segment “%(name)s”: %(count)s.") % {
        "name": segment_pages.display_name(segment),
        "count": added,
    }


@router.get("/contacts/new", response_class=HTMLResponse)
def contact_new(request: Request, session: SessionDep, user: Editor) -> Response:
    return _form_page(request, session, None, values={"owner_id": user.id}, errors={})


@router.post("/contacts/new", response_class=HTMLResponse)
def contact_create(
    request: Request, session: SessionDep, settings: SettingsDep, user: Editor, form: FormDep
) -> Response:
    definitions = field_queries.definitions(session, FieldEntity.CONTACT)
    try:
        data = fields_from_form(form, definitions, creating=True)
        contact = service.create_contact(session, data, _write_context(user, settings))
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, session, None, form, error)
    flash(request, _("Contact created."))
    return _see_other(f"/contacts/{contact.id}")


@router.get("/contacts/{contact_id:int}", response_class=HTMLResponse)
def contact_card(
    request: Request, session: SessionDep, user: CurrentUser, contact_id: int
) -> Response:
    try:
        contact = access.visible_contact(session, user, contact_id)
    except NotFound:
        survivor = page_data.survivor_of(session, user, contact_id)
        if survivor is None:
            raise
        flash(request, _("Contact #%(id)s was merged into this one.") % {"id": contact_id}, "info")
        return _see_other(f"/contacts/{survivor}")
    context = {
        "card": page_data.card(session, user, contact),
        "can_edit": role_allows(user.role, Permission.EDIT_CUSTOMERS),
        "can_erase": role_allows(user.role, Permission.MANAGE_USERS),
        "labels": LABELS,
        "channel_labels": CHANNEL_LABELS,
        "purpose_labels": PURPOSE_LABELS,
        "status_labels": STATUS_LABELS,
        "reason_labels": REASON_LABELS,
        "history_labels": HISTORY_LABELS,
        "segment_labels": SEGMENT_LABELS,
        "band_labels": CHURN_BAND_LABELS,
        "stage_labels": STAGE_LABELS,
        "explanations": EXPLANATIONS,
        "journey_enrollments": journey_queries.contact_enrollments(session, contact.id),
        "journey_state_labels": JOURNEY_STATE_LABELS,
        "loyalty": loyalty_queries.contact_points(session, contact.id),
        "loyalty_kind_labels": LOYALTY_KIND_LABELS,
        "feedback_block": feedback_page_data.contact_block(session, contact.id),
        "recommend_block": recommend_page_data.contact_block(session, contact.id),
    }
    return render(request, "contacts/card.html", context)


@router.get("/contacts/{contact_id:int}/edit", response_class=HTMLResponse)
def contact_edit(request: Request, session: SessionDep, user: Editor, contact_id: int) -> Response:
    contact = access.editable_contact(session, user, contact_id)
    values = form_values(
        contact,
        tags=queries.tags_by_contact(session, [contact.id])[contact.id],
        watcher_ids=queries.watcher_ids(session, contact.id),
        definitions=field_queries.definitions(session, FieldEntity.CONTACT),
    )
    return _form_page(request, session, contact, values=values, errors={})


@router.post("/contacts/{contact_id:int}/edit", response_class=HTMLResponse)
def contact_update(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Editor,
    form: FormDep,
    contact_id: int,
) -> Response:
    contact = access.editable_contact(session, user, contact_id)
    definitions = field_queries.definitions(session, FieldEntity.CONTACT)
    try:
        data = fields_from_form(form, definitions, creating=False)
        service.update_contact(session, contact, data, _write_context(user, settings))
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, session, contact, form, error)
    flash(request, _("Contact saved."))
    return _see_other(f"/contacts/{contact.id}")


def _write_context(user: User, settings: Settings) -> service.WriteContext:
    return service.WriteContext(actor_id=user.id, default_region=settings.default_region)


def _rejected(
    request: Request,
    session: Session,
    contact: Contact | None,
    form: FormData,
    error: ValidationError | RetentioError,
) -> Response:
    status = error.status if isinstance(error, RetentioError) else 422
    return _form_page(
        request,
        session,
        contact,
        values=posted(form),
        errors=field_errors(error),
        status_code=status,
    )


def _form_page(
    request: Request,
    session: Session,
    contact: Contact | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "contact": contact,
        "values": values,
        "errors": errors,
        "labels": LABELS,
        "users": auth_queries.user_choices(session, keep=_chosen_users(values)),
        "companies": company_queries.choices(session, keep=_int(values.get("company_id"))),
        "definitions": active(field_queries.definitions(session, FieldEntity.CONTACT)),
        "identities": identities.identities_of(session, contact.id) if contact else [],
    }
    return render(request, "contacts/form.html", context, status_code=status_code)


def _chosen_users(values: dict[str, Any]) -> set[int]:
    watchers = values.get("watcher_ids") or []
    listed = [values.get("owner_id"), *([watchers] if isinstance(watchers, str) else watchers)]
    return {n for n in map(_int, listed) if n is not None}


def _int(value: object) -> int | None:
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None


@router.post("/contacts/{contact_id:int}/notes")
def note_add(
    request: Request,
    session: SessionDep,
    user: Editor,
    contact_id: int,
    body: Annotated[str, Form()] = "",
) -> Response:
    contact = access.editable_contact(session, user, contact_id)
    try:
        service.add_note(session, contact, body, author_id=user.id)
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
    else:
        flash(request, _("Note added."))
    return _see_other(f"/contacts/{contact_id}#timeline")


@router.get("/contacts/{contact_id:int}/merge", response_class=HTMLResponse)
def merge_confirm(
    request: Request,
    session: SessionDep,
    user: Editor,
    contact_id: int,
    other: int | None = None,
) -> Response:
    """What merging `other` into this contact would move, before anything moves."""
    winner = access.editable_contact(session, user, contact_id)
    if other is None or other == winner.id:
        flash(request, _("Give the number of another contact to merge into this one."), "warning")
        return _see_other(f"/contacts/{contact_id}")
    loser = access.editable_contact(session, user, other)
    context = {
        "winner": winner,
        "loser": loser,
        "winner_counts": count_history(session, winner.id),
        "loser_counts": count_history(session, loser.id),
        "history_labels": HISTORY_LABELS,
    }
    return render(request, "contacts/merge.html", context)


@router.post("/contacts/{contact_id:int}/merge")
def merge(
    request: Request,
    session: SessionDep,
    user: Editor,
    contact_id: int,
    other_id: Annotated[int, Form()],
) -> Response:
    winner = access.editable_contact(session, user, contact_id)
    loser = access.editable_contact(session, user, other_id)
    name = loser.display_name
    try:
        merge_contacts(session, winner=winner, loser=loser, actor_id=user.id, now=utcnow())
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
    else:
        flash(request, _("%(name)s was merged into this contact.") % {"name": name})
    return _see_other(f"/contacts/{contact_id}")


@router.get("/contacts/{contact_id:int}/export")
def export(session: SessionDep, user: CurrentUser, contact_id: int) -> Response:
    """Everything stored about the person, as a JSON download (a subject access request)."""
    contact = access.visible_contact(session, user, contact_id)
    body = privacy.export_contact(session, contact, actor_id=user.id)
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="contact-{contact.id}.json"'},
    )


@router.get("/contacts/{contact_id:int}/erase", response_class=HTMLResponse)
def erase_confirm(request: Request, session: SessionDep, user: Admin, contact_id: int) -> Response:
    contact = access.visible_contact(session, user, contact_id)
    return render(request, "contacts/erase.html", {"contact": contact})


@router.post("/contacts/{contact_id:int}/erase")
def erase(request: Request, session: SessionDep, user: Admin, contact_id: int) -> Response:
    contact = access.visible_contact(session, user, contact_id)
    privacy.erase_contact(session, contact, actor_id=user.id, now=utcnow())
    flash(request, _("Personal data of contact #%(id)s was erased.") % {"id": contact.id})
    return _see_other(f"/contacts/{contact.id}")
