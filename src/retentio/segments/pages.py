"""HTML pages of segments: the list with sizes and trends, the builder (new and edit), the card
with its rule in words, counts, trend chart and members, static segments from an uploaded list,
and deletion.

Handlers parse, authorise (reading needs VIEW, changing needs MARKETING), call a query or a
service and render; the request's session commits afterwards, and a new or changed dynamic
segment's refresh is enqueued after that commit. Members follow the contact list's visibility:
a sales user sees only their contacts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from retentio.auth.deps import CurrentUser, require
from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.db import utcnow
from retentio.errors import InvalidInput, RetentioError
from retentio.kit.text import N_
from retentio.segments import page_data, queries, service
from retentio.segments import tasks as segment_tasks
from retentio.segments.catalog import load_catalog
from retentio.segments.models import Segment, SegmentKind
from retentio.segments.prebuilt import ensure_prebuilt
from retentio.segments.words import describe
from retentio.settings import Settings
from retentio.web.dashboard import PLOTLY_VERSION
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.flash import flash
from retentio.web.forms import GENERAL, FormDep, field_errors, text
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Marketer = Annotated[User, Depends(require(Permission.MARKETING))]

PREVIEW_URL = "/api/v1/segments/preview"
EXPORT_URL = "/api/v1/segments/{id}/export?format={format}"
MEMBERS_PER_PAGE = 50
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
LIST_DELIMITERS = (",", ";", "\t")
NEVER = datetime.min.replace(tzinfo=UTC)
LIST_SORTS: dict[str, Callable[[Segment], Any]] = {
    "name": lambda s: (page_data.display_name(s).casefold(), s.id),
    "size": lambda s: (s.size, s.id),
    "refreshed": lambda s: (s.refreshed_at or NEVER, s.id),
}
KIND_LABELS = {SegmentKind.DYNAMIC: N_("dynamic"), SegmentKind.STATIC: N_("static")}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _can_change(user: User) -> bool:
    return role_allows(user.role, Permission.MARKETING)


# --- the list --------------------------------------------------------------------------------


@router.get("/segments", response_class=HTMLResponse)
def segment_list(
    request: Request, session: SessionDep, user: CurrentUser, tasks: BackgroundTasks
) -> Response:
    """Every segment, sorted and paged like the other lists (in Python: they are few)."""
    if not queries.has_prebuilt(session):
        # First visit, as the API's list does: the prebuilt segments, refreshed after commit.
        for segment_id in ensure_prebuilt(session):
            _refresh_after_commit(tasks, segment_id)
    listing = Listing.of(request, sorts=tuple(LIST_SORTS), default_sort="name")
    segments = sorted(queries.segments(session), key=LIST_SORTS[listing.sort.lstrip("-")])
    if listing.sort.startswith("-"):
        segments.reverse()
    pager = listing.pager(len(segments))
    shown = segments[pager.offset : pager.offset + pager.per_page]
    context = {
        "listing": listing,
        "pager": pager,
        "rows": page_data.rows_for(session, shown, today=utcnow().date()),
        "names": {s.id: page_data.display_name(s) for s in shown},
        "can_change": _can_change(user),
        "kind_labels": KIND_LABELS,
        "spark": {"width": page_data.SPARK_WIDTH, "height": page_data.SPARK_HEIGHT},
    }
    return render(request, "segments/list.html", context)


# --- the builder -----------------------------------------------------------------------------


@router.get("/segments/new", response_class=HTMLResponse)
def segment_new(request: Request, session: SessionDep, _user: Marketer) -> Response:
    return _builder(request, session, None, values={}, rule=None, errors=[])


@router.post("/segments/new", response_class=HTMLResponse)
def segment_create(
    request: Request,
    session: SessionDep,
    user: Marketer,
    form: FormDep,
    tasks: BackgroundTasks,
) -> Response:
    rule = _posted_rule(form)
    try:
        segment = service.create_segment(
            session,
            name=_required_name(form),
            kind=SegmentKind.DYNAMIC,
            rule=rule,
            description=text(form, "description") or "",
            actor_id=user.id,
        )
    except RetentioError as error:
        session.rollback()
        return _builder_rejected(request, session, None, form, rule, error)
    _refresh_after_commit(tasks, segment.id)
    flash(request, _("Segment created. Its members are being counted."))
    return _see_other(f"/segments/{segment.id}")


@router.get("/segments/{segment_id:int}/edit", response_class=HTMLResponse)
def segment_edit(
    request: Request, session: SessionDep, _user: Marketer, segment_id: int
) -> Response:
    segment = queries.get(session, segment_id)
    values = {"name": segment.name, "description": segment.description}
    return _builder(request, session, segment, values=values, rule=segment.rule, errors=[])


@router.post("/segments/{segment_id:int}/edit", response_class=HTMLResponse)
def segment_update(
    request: Request,
    session: SessionDep,
    _user: Marketer,
    form: FormDep,
    tasks: BackgroundTasks,
    segment_id: int,
) -> Response:
    segment = queries.get(session, segment_id)
    dynamic = segment.kind == SegmentKind.DYNAMIC
    rule = _posted_rule(form) if dynamic else None
    try:
        service.update_segment(
            session,
            segment.id,
            name=_required_name(form),
            description=text(form, "description") or "",
            rule=rule,
        )
    except RetentioError as error:
        session.rollback()
        return _builder_rejected(request, session, segment, form, rule, error)
    if dynamic:
        _refresh_after_commit(tasks, segment.id)
    flash(request, _("Segment saved."))
    return _see_other(f"/segments/{segment.id}")


def _refresh_after_commit(tasks: BackgroundTasks, segment_id: int) -> None:
    # Background tasks run after the response, so after the request's session committed: the
    # worker never looks for a segment row that is not there yet.
    tasks.add_task(segment_tasks.refresh_segment, segment_id)


def _required_name(form: FormData) -> str:
    name = text(form, "name")
    if name is None:
        raise InvalidInput(_("Give the segment a name."), details={"field": "name"})
    return name


def _posted_rule(form: FormData) -> Any:
    """The builder's rule JSON; a missing or broken one is an empty rule the engine checks."""
    try:
        return json.loads(text(form, "rule") or '{"all": []}')
    except ValueError:
        return {"all": []}


def _builder_rejected(
    request: Request,
    session: Session,
    segment: Segment | None,
    form: FormData,
    rule: Any,
    error: RetentioError,
) -> Response:
    """The builder again with what was typed: rule errors go next to their conditions (the
    script places them by path), the others next to the name or above the form."""
    items = error.details if isinstance(error.details, list) else []
    rule_errors = [i for i in items if str(i.get("field", "")).startswith("rule")]
    if rule_errors:
        errors = {GENERAL: _("The rule has errors: see the marked conditions.")}
    else:
        errors = field_errors(error)  # the name's own error beside it, the rest above the form
    values = {"name": text(form, "name") or "", "description": text(form, "description") or ""}
    return _builder(
        request,
        session,
        segment,
        values=values,
        rule=rule,
        errors=rule_errors,
        form_errors=errors,
        status_code=error.status,
    )


def _builder(
    request: Request,
    session: Session,
    segment: Segment | None,
    *,
    values: dict[str, Any],
    rule: Any,
    errors: list[dict[str, str]],
    form_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    dynamic = segment is None or segment.kind == SegmentKind.DYNAMIC
    config = (
        page_data.builder_config(
            session,
            rule=rule,
            errors=errors,
            preview_url=PREVIEW_URL,
            segment_id=segment.id if segment else None,
        )
        if dynamic
        else None
    )
    context = {
        "segment": segment,
        "values": values,
        "errors": form_errors or {},
        "config": config,
        "suggestions": page_data.suggestions(session) if dynamic else None,
        "channels": page_data.CHANNEL_LABELS,
    }
    return render(request, "segments/builder.html", context, status_code=status_code)


# --- the card --------------------------------------------------------------------------------


@router.get("/segments/{segment_id:int}", response_class=HTMLResponse)
def segment_card(
    request: Request, session: SessionDep, user: CurrentUser, segment_id: int
) -> Response:
    segment = queries.get(session, segment_id)
    now = utcnow()
    listing = Listing.of(request, sorts=(), default_sort="-entered")
    members, total = queries.members_page(
        session, segment.id, user=user, page=listing.page, per_page=MEMBERS_PER_PAGE
    )
    names = {s.id: page_data.display_name(s) for s in queries.segments(session)}
    words = (
        describe(segment.rule, load_catalog(session), names)
        if segment.kind == SegmentKind.DYNAMIC
        else None
    )
    context = {
        "card": page_data.card(session, user, segment, today=now.date(), now=now),
        "name": page_data.display_name(segment),
        "words": words,
        "listing": listing,
        "pager": listing.pager(total),
        "members": members,
        "channels": page_data.CHANNEL_LABELS,
        "kind_labels": KIND_LABELS,
        "can_change": _can_change(user),
        "export_csv": EXPORT_URL.format(id=segment.id, format="csv"),
        "export_xlsx": EXPORT_URL.format(id=segment.id, format="xlsx"),
        "plotly_version": PLOTLY_VERSION,
    }
    return render(request, "segments/card.html", context)


@router.post("/segments/{segment_id:int}/delete")
def segment_delete(
    request: Request, session: SessionDep, _user: Marketer, segment_id: int
) -> Response:
    segment = queries.get(session, segment_id)
    name = page_data.display_name(segment)
    try:
        service.archive_segment(session, segment.id, now=utcnow())
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
        return _see_other(f"/segments/{segment_id}")
    flash(request, _("Segment “%(name)s” deleted.") % {"name": name})
    return _see_other("/segments")


# --- static segments from a list ---------------------------------------------------------


@router.get("/segments/new/static", response_class=HTMLResponse)
def static_new(request: Request, _user: Marketer) -> Response:
    return render(request, "segments/static_form.html", {"values": {}, "errors": {}})


@router.post("/segments/new/static", response_class=HTMLResponse)
def static_create(
    request: Request, session: SessionDep, settings: SettingsDep, user: Marketer, form: FormDep
) -> Response:
    """Create a static segment and fill it from the uploaded (or pasted) list in one go."""
    try:
        values = _listed_values(form)
        segment = service.create_segment(
            session,
            name=_required_name(form),
            kind=SegmentKind.STATIC,
            description=text(form, "description") or "",
            actor_id=user.id,
        )
        result = _add_list(session, settings, segment, values)
    except RetentioError as error:
        session.rollback()
        field = error.details.get("field") if isinstance(error.details, dict) else None
        posted = {"name": text(form, "name") or "", "description": text(form, "description")}
        context = {"values": posted, "errors": {field or GENERAL: error.message}}
        return render(request, "segments/static_form.html", context, status_code=error.status)
    return _list_result(request, segment, result, len(values))


@router.post("/segments/{segment_id:int}/list", response_class=HTMLResponse)
def static_add_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _user: Marketer,
    form: FormDep,
    segment_id: int,
) -> Response:
    segment = queries.get(session, segment_id)
    try:
        values = _listed_values(form)
        result = _add_list(session, settings, segment, values)
    except RetentioError as error:
        session.rollback()
        flash(request, error.message, "error")
        return _see_other(f"/segments/{segment_id}")
    return _list_result(request, segment, result, len(values))


def _add_list(
    session: Session, settings: Settings, segment: Segment, values: list[str]
) -> service.ListResult:
    result = service.add_from_list(
        session, segment.id, values, region=settings.default_region, now=utcnow()
    )
    service.refresh_segment(session, segment.id, now=utcnow())  # static: records today's size
    return result


def _list_result(
    request: Request, segment: Segment, result: service.ListResult, listed: int
) -> Response:
    context = {
        "segment": segment,
        "name": page_data.display_name(segment),
        "result": result,
        "listed": listed,
    }
    return render(request, "segments/list_result.html", context)


def _listed_values(form: FormData) -> list[str]:
    """One value per line (the first cell of a CSV row), from the file or the text box; a
    header such as "email" matches nobody and is reported with the unmatched values."""
    sent, pasted = form.get("file"), form.get("values")
    lines = pasted.splitlines() if isinstance(pasted, str) else []
    if isinstance(sent, UploadFile) and sent.filename:
        data = sent.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise InvalidInput(_("The file is larger than 20 MB."), details={"field": "file"})
        lines = [*_decode(data).splitlines(), *lines]
    values = [cell for cell in map(_first_cell, lines) if cell]
    if not values:
        raise InvalidInput(
            _("Upload a file or paste e-mails, phones or ids, one per line."),
            details={"field": "file"},
        )
    return values


def _decode(data: bytes) -> str:
    # Spreadsheet programs here save CSV as UTF-8 (with a BOM) or Windows-1251.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def _first_cell(line: str) -> str:
    for delimiter in LIST_DELIMITERS:
        line = line.split(delimiter, 1)[0]
    return line.strip().strip('"').strip()
