"""HTML pages of imports: upload a file, map its columns over a preview, dry-run or import it,
follow the job live, read and download its rejected rows; the history and saved mappings.

An upload is stored first and named by an unguessable token; the mapping step reads the file
again on each render (the first rows only), so nothing waits in the session between steps.
Jobs go to the background worker once the request has committed (`imports.background`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, ImmutableMultiDict, UploadFile

from retentio.audit import service as audit
from retentio.auth import queries as auth_queries
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.errors import RetentioError
from retentio.imports import background, labels, page_data, queries, schedule_pages, service
from retentio.imports.mapping import IGNORE
from retentio.imports.models import ImportJob, SavedMapping
from retentio.imports.page_data import NEW_FIELD, Upload
from retentio.imports.reader import read_rows
from retentio.settings import Settings
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, text, texts
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
# First: `/imports/schedules` must not be taken for a job id by `/imports/{job_id}`.
router.include_router(schedule_pages.router)
Importer = Annotated[User, Depends(require(Permission.IMPORT))]
JOBS_PER_PAGE = 20
REJECTIONS_PER_PAGE = 50


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/imports", response_class=HTMLResponse)
def import_home(request: Request, session: SessionDep, _user: Importer) -> Response:
    return _home(request, session, errors={})


def _home(
    request: Request, session: Session, *, errors: dict[str, str], status_code: int = 200
) -> Response:
    listing = Listing(
        request.url.path,
        dict(request.query_params),
        sorts=(),
        default_sort="-created",
        per_page=JOBS_PER_PAGE,
    )
    pager = listing.pager(0)
    jobs, total = queries.jobs_page(session, offset=pager.offset, limit=listing.per_page)
    owners = {j.created_by for j in jobs if j.created_by is not None}
    context = {
        "listing": listing,
        "pager": listing.pager(total),
        "jobs": jobs,
        "user_names": auth_queries.names_by_id(session, owners),
        "mappings": queries.mappings(session),
        "entity_labels": labels.ENTITY_LABELS,
        "status_labels": labels.STATUS_LABELS,
        "errors": errors,
    }
    return render(request, "imports/index.html", context, status_code=status_code)


@router.post("/imports/upload", response_class=HTMLResponse)
def upload(
    request: Request, session: SessionDep, settings: SettingsDep, _user: Importer, form: FormDep
) -> Response:
    """Store the file, then show its mapping step."""
    sent = form.get("file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        return _home(request, session, errors={"file": _("Choose a file.")}, status_code=422)
    saved = _saved(session, text(form, "saved"))
    entity = saved.entity if saved else service.entity_of(text(form, "entity"))
    path = service.store_upload(settings.data_dir, sent.filename, sent.file)
    query = {
        "entity": entity.value,
        "name": sent.filename,
        **({"saved": saved.id} if saved else {}),
    }
    return _see_other(f"/imports/upload/{service.upload_token(path)}?{urlencode(query)}")


def _saved(session: Session, raw: str | None) -> SavedMapping | None:
    return queries.saved_mapping(session, int(raw)) if raw and raw.isdigit() else None


@router.get("/imports/upload/{token}", response_class=HTMLResponse)
def mapping_step(
    request: Request, token: str, session: SessionDep, settings: SettingsDep, _user: Importer
) -> Response:
    params = request.query_params
    saved = _saved(session, params.get("saved"))
    up = _upload(settings, token, params)
    if saved is not None and saved.entity != up.entity:
        saved = None
    step = page_data.mapping_step(session, up, saved=saved)
    return _mapping_page(request, step, page_data.options_of(saved), saved=saved)


def _upload(settings: Settings, token: str, values: ImmutableMultiDict[str, Any]) -> Upload:
    """The upload and how to read it, from the query string or the posted form."""

    def value(name: str) -> str | None:
        raw = values.get(name)
        # Not stripped: a tab is a delimiter, not blank space.
        return raw if isinstance(raw, str) and raw.strip(" ") else None

    return Upload(
        token=token,
        path=service.stored_upload(settings.data_dir, token),
        filename=(value("name") or "upload").strip()[:300],
        entity=service.entity_of(value("entity")),
        encoding=value("encoding"),
        delimiter=value("delimiter"),
        sheet=value("sheet"),
    )


def _mapping_page(
    request: Request,
    step: page_data.MappingStep,
    options: dict[str, Any],
    *,
    saved: SavedMapping | None = None,
    error: str | None = None,
    mapping_name: str = "",
    status_code: int = 200,
) -> Response:
    context = {
        "step": step,
        "options": options,
        "saved_id": saved.id if saved else None,
        "error": error or step.error,
        "mapping_name": mapping_name,
        "new_field": NEW_FIELD,
        "entity_labels": labels.ENTITY_LABELS,
        "match_labels": labels.MATCH_LABELS,
        "encodings": labels.ENCODINGS,
        "delimiters": labels.DELIMITERS,
    }
    status = status_code if not step.error else 422
    return render(request, "imports/map.html", context, status_code=status)


@router.post("/imports/upload/{token}", response_class=HTMLResponse)
def start_import(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    user: Importer,
    form: FormDep,
    tasks: BackgroundTasks,
) -> Response:
    """Dry run or import: create the job from the chosen mapping and start it."""
    up = _upload(settings, token, form)
    header, _rows = read_rows(up.path, page_data.file_format(up))
    chosen = {i: text(form, f"column-{i}") or IGNORE for i in range(len(header))}
    options = {
        "match_by": texts(form, "match_by"),
        "overwrite_empty": text(form, "overwrite_empty") is not None,
        "dry_run": form.get("action") == "dry_run",
    }
    try:
        job = _create_job(session, up, header, chosen, options, form, actor_id=user.id)
    except RetentioError as error:
        session.rollback()
        step = page_data.mapping_step(session, up, chosen=chosen)
        return _mapping_page(
            request,
            step,
            {**service.clean_options(options)},
            error=error.message,
            mapping_name=text(form, "mapping_name") or "",
            status_code=error.status,
        )
    if background.start_after_commit(session, tasks, job.id):
        audit.record(session, entity="import", entity_id=job.id, action="start", actor_id=user.id)
    return _see_other(f"/imports/{job.id}")


def _create_job(
    session: Session,
    up: Upload,
    header: list[str],
    chosen: dict[int, str],
    options: dict[str, Any],
    form: FormData,
    *,
    actor_id: int,
) -> ImportJob:
    mapping: dict[str, str] = {}
    for index, name in enumerate(header):
        target = chosen[index]
        if target == NEW_FIELD:
            target = service.field_for_column(session, name)
        mapping[name] = target
    mapping_name = text(form, "mapping_name")
    if mapping_name:
        service.save_mapping(
            session,
            name=mapping_name,
            entity=up.entity,
            mapping=mapping,
            options={**options, "dry_run": False},
            actor_id=actor_id,
        )
    return service.create_job(
        session,
        entity=up.entity,
        path=up.path,
        filename=up.filename,
        mapping=mapping,
        options=options,
        encoding=up.encoding,
        delimiter=up.delimiter,
        sheet=up.sheet,
        actor_id=actor_id,
    )


@router.post("/imports/mappings/{mapping_id}/delete")
def delete_mapping(
    request: Request, mapping_id: int, session: SessionDep, _user: Importer
) -> Response:
    saved = queries.saved_mapping(session, mapping_id)
    name = saved.name
    service.delete_mapping(session, mapping_id, actor_id=_user.id)
    flash(request, _("Mapping “%(name)s” deleted.") % {"name": name})
    return _see_other("/imports#mappings")


@router.get("/imports/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: int, session: SessionDep, _user: Importer) -> Response:
    job = queries.job(session, job_id)
    listing = Listing(
        request.url.path,
        dict(request.query_params),
        sorts=(),
        default_sort="row",
        per_page=REJECTIONS_PER_PAGE,
    )
    offset = listing.pager(0).offset
    rejections, total = queries.rejections_page(
        session, job.id, offset=offset, limit=listing.per_page
    )
    creator = auth_queries.names_by_id(session, {job.created_by} if job.created_by else set())
    context = {
        "job": job,
        "dry_run": bool(job.options.get("dry_run")),
        "created_by": creator.get(job.created_by) if job.created_by else None,
        "listing": listing,
        "pager": listing.pager(total),
        "rejections": rejections,
        "entity_labels": labels.ENTITY_LABELS,
        "status_labels": labels.STATUS_LABELS,
        "status_labels_json": json.dumps({s.value: _(t) for s, t in labels.STATUS_LABELS.items()}),
        "match_labels": labels.MATCH_LABELS,
    }
    return render(request, "imports/job.html", context)


@router.post("/imports/{job_id}/import")
def import_checked(
    request: Request,
    job_id: int,
    session: SessionDep,
    user: Importer,
    tasks: BackgroundTasks,
) -> Response:
    """After a dry run: import the same file with the same mapping for real."""
    job = service.import_for_real(session, queries.job(session, job_id), actor_id=user.id)
    if background.start_after_commit(session, tasks, job.id):
        audit.record(session, entity="import", entity_id=job.id, action="start", actor_id=user.id)
    flash(request, _("Import started."))
    return _see_other(f"/imports/{job.id}")


@router.post("/imports/{job_id}/run")
def resume(job_id: int, session: SessionDep, _user: Importer, tasks: BackgroundTasks) -> Response:
    """Start a waiting job or resume a failed one from its last committed row."""
    job = queries.job(session, job_id)
    if background.start_after_commit(session, tasks, job.id):
        audit.record(session, entity="import", entity_id=job.id, action="start", actor_id=_user.id)
    return _see_other(f"/imports/{job.id}")
