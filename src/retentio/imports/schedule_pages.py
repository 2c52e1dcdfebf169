"""HTML pages of scheduled imports: the list, creating and editing one, pausing, deleting.

The worker fetches each due location and imports it like an upload; these pages only keep
the schedules. Times are cron expressions in UTC, with presets for the usual ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.db import utcnow
from retentio.errors import RetentioError
from retentio.imports import labels, queries, service
from retentio.imports.models import ScheduledImport
from retentio.web.deps import SessionDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, field_errors, posted, text, texts
from retentio.web.i18n import gettext as _
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Importer = Annotated[User, Depends(require(Permission.IMPORT))]
LIST = "/imports/schedules"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get(LIST, response_class=HTMLResponse)
def schedule_list(request: Request, session: SessionDep, _user: Importer) -> Response:
    context = {
        "schedules": queries.schedules(session),
        "mapping_names": queries.mapping_names(session),
        "entity_labels": labels.ENTITY_LABELS,
        "presets": dict(labels.CRON_PRESETS),
    }
    return render(request, "imports/schedules.html", context)


@router.get(LIST + "/new", response_class=HTMLResponse)
def schedule_new(request: Request, session: SessionDep, _user: Importer) -> Response:
    values: dict[str, Any] = {
        "entity": "contacts",
        "cron": labels.CRON_PRESETS[0][0],
        "match_by": list(service.MATCH_KEYS),
    }
    return _form(request, session, None, values=values, errors={})


@router.post(LIST + "/new", response_class=HTMLResponse)
def schedule_create(
    request: Request, session: SessionDep, user: Importer, form: FormDep
) -> Response:
    fields = _fields(form)
    try:
        schedule = service.create_schedule(
            session,
            name=fields["name"],
            entity=service.entity_of(fields["entity"]),
            location=fields["location"],
            cron_expr=fields["cron"],
            mapping_id=fields["mapping_id"],
            options=fields["options"],
            folders_allowed=_folders_allowed(user),
            now=utcnow(),
            actor_id=user.id,
        )
    except RetentioError as error:
        session.rollback()
        return _rejected(request, session, None, form, error)
    flash(request, _("Scheduled import “%(name)s” saved.") % {"name": schedule.name})
    return _see_other(LIST)


@router.get(LIST + "/{schedule_id}", response_class=HTMLResponse)
def schedule_edit(
    request: Request, schedule_id: int, session: SessionDep, _user: Importer
) -> Response:
    schedule = service.get_schedule(session, schedule_id)
    values: dict[str, Any] = {
        "name": schedule.name,
        "entity": schedule.entity.value,
        "location": schedule.location,
        "mapping_id": schedule.mapping_id or "",
        "cron": schedule.cron,
        "match_by": schedule.options.get("match_by", list(service.MATCH_KEYS)),
        "overwrite_empty": schedule.options.get("overwrite_empty", False),
    }
    return _form(request, session, schedule, values=values, errors={})


@router.post(LIST + "/{schedule_id}", response_class=HTMLResponse)
def schedule_update(
    request: Request, schedule_id: int, session: SessionDep, user: Importer, form: FormDep
) -> Response:
    schedule = service.get_schedule(session, schedule_id)
    try:
        service.update_schedule(
            session,
            schedule.id,
            _fields(form),
            folders_allowed=_folders_allowed(user),
            now=utcnow(),
            actor_id=user.id,
        )
    except RetentioError as error:
        session.rollback()
        return _rejected(request, session, schedule, form, error)
    flash(request, _("Scheduled import “%(name)s” saved.") % {"name": schedule.name})
    return _see_other(LIST)


@router.post(LIST + "/{schedule_id}/pause")
def schedule_pause(
    request: Request, schedule_id: int, session: SessionDep, user: Importer
) -> Response:
    """Pause an active schedule or resume a paused one (its next run counts from now)."""
    schedule = service.get_schedule(session, schedule_id)
    service.update_schedule(
        session,
        schedule.id,
        {"is_active": not schedule.is_active},
        folders_allowed=_folders_allowed(user),
        now=utcnow(),
        actor_id=user.id,
    )
    message = _("“%(name)s” resumed.") if schedule.is_active else _("“%(name)s” paused.")
    flash(request, message % {"name": schedule.name})
    return _see_other(LIST)


@router.post(LIST + "/{schedule_id}/delete")
def schedule_delete(
    request: Request, schedule_id: int, session: SessionDep, _user: Importer
) -> Response:
    name = service.get_schedule(session, schedule_id).name
    service.delete_schedule(session, schedule_id, actor_id=_user.id)
    flash(request, _("Scheduled import “%(name)s” deleted.") % {"name": name})
    return _see_other(LIST)


def _folders_allowed(user: User) -> bool:
    return role_allows(user.role, Permission.MANAGE_SETTINGS)


def _fields(form: FormData) -> dict[str, Any]:
    """The schedule as posted; a preset, when chosen, wins over the typed expression."""
    mapping = text(form, "mapping_id")
    return {
        "name": text(form, "name") or "",
        "entity": text(form, "entity") or "contacts",
        "location": text(form, "location") or "",
        "cron": text(form, "preset") or text(form, "cron") or "",
        "mapping_id": int(mapping) if mapping and mapping.isdigit() else None,
        "options": {
            "match_by": texts(form, "match_by"),
            "overwrite_empty": text(form, "overwrite_empty") is not None,
        },
    }


def _rejected(
    request: Request,
    session: Session,
    schedule: ScheduledImport | None,
    form: FormData,
    error: RetentioError,
) -> Response:
    values = posted(form)
    values["cron"] = _fields(form)["cron"]
    values["match_by"] = texts(form, "match_by")
    return _form(
        request,
        session,
        schedule,
        values=values,
        errors=field_errors(error),
        status_code=error.status,
    )


def _form(
    request: Request,
    session: Session,
    schedule: ScheduledImport | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "schedule": schedule,
        "values": values,
        "errors": errors,
        "mappings": queries.mappings(session),
        "entity_labels": labels.ENTITY_LABELS,
        "entity_options": [(e.value, _(label)) for e, label in labels.ENTITY_LABELS.items()],
        "match_labels": labels.MATCH_LABELS,
        "presets": labels.CRON_PRESETS,
    }
    return render(request, "imports/schedule_form.html", context, status_code=status_code)
