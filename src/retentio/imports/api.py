"""JSON API of imports: upload a file as a job, run it, follow it, read its rejected rows;
saved mappings; scheduled imports.

A job is created by the upload and started by `POST /{id}/run`, so a script can look at the
detected format and mapping first. Everything here needs the import permission.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Query, UploadFile, status
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter, ValidationError

from retentio.audit import service as audit
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.db import utcnow
from retentio.errors import InvalidInput
from retentio.imports import background, queries, rejected_csv, service
from retentio.imports.mapping import ImportEntity
from retentio.imports.schemas import (
    JOB_EXAMPLE,
    ImportOptions,
    JobRead,
    MappingIn,
    MappingRead,
    RejectionPage,
    RejectionRead,
    ScheduleIn,
    SchedulePatch,
    ScheduleRead,
)
from retentio.kit.downloads import attachment
from retentio.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/imports", tags=["imports"])
Importer = Annotated[User, Depends(require(Permission.IMPORT))]
_MAPPING = TypeAdapter(dict[str, str])
JOB_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"example": JOB_EXAMPLE}}}
}


# --- saved mappings and schedules (before /{job_id}, which would capture their paths) -------


@router.get("/mappings", response_model=list[MappingRead])
def list_mappings(session: SessionDep, _user: Importer) -> list[MappingRead]:
    return [MappingRead.model_validate(m) for m in queries.mappings(session)]


@router.post(
    "/mappings",
    response_model=MappingRead,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "name": "1C клиенты",
                        "entity": "contacts",
                        "mapping": {"Код": "external_id", "ФИО": "full_name", "Телефон": "phone"},
                        "options": {"match_by": ["external_id", "phone"]},
                    }
                }
            }
        }
    },
)
def create_mapping(body: MappingIn, session: SessionDep, _user: Importer) -> MappingRead:
    saved = service.save_mapping(
        session,
        name=body.name,
        entity=body.entity,
        mapping=body.mapping,
        options=body.options.model_dump(),
        actor_id=_user.id,
    )
    return MappingRead.model_validate(saved)


@router.delete("/mappings/{mapping_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_mapping(mapping_id: int, session: SessionDep, _user: Importer) -> None:
    service.delete_mapping(session, mapping_id, actor_id=_user.id)


@router.get("/schedules", response_model=list[ScheduleRead])
def list_schedules(session: SessionDep, _user: Importer) -> list[ScheduleRead]:
    return [ScheduleRead.model_validate(s) for s in queries.schedules(session)]


@router.post(
    "/schedules",
    response_model=ScheduleRead,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "name": "Прайс из Google Sheets",
                        "entity": "products",
                        "location": "https://docs.google.com/spreadsheets/d/e/…/pub?output=csv",
                        "mapping_id": None,
                        "cron": "0 3 * * *",
                    }
                }
            }
        }
    },
)
def create_schedule(body: ScheduleIn, session: SessionDep, user: Importer) -> ScheduleRead:
    schedule = service.create_schedule(
        session,
        name=body.name,
        entity=body.entity,
        location=body.location,
        cron_expr=body.cron,
        mapping_id=body.mapping_id,
        options=body.options.model_dump(),
        folders_allowed=_folders_allowed(user),
        now=utcnow(),
        actor_id=user.id,
        is_active=body.is_active,
    )
    return ScheduleRead.model_validate(schedule)


@router.get("/schedules/{schedule_id}", response_model=ScheduleRead)
def get_schedule(schedule_id: int, session: SessionDep, _user: Importer) -> ScheduleRead:
    return ScheduleRead.model_validate(service.get_schedule(session, schedule_id))


@router.patch("/schedules/{schedule_id}", response_model=ScheduleRead)
def update_schedule(
    schedule_id: int, body: SchedulePatch, session: SessionDep, user: Importer
) -> ScheduleRead:
    """Change some fields; `{"is_active": false}` pauses, `true` resumes from now."""
    changes = body.model_dump(exclude_unset=True)
    schedule = service.update_schedule(
        session,
        schedule_id,
        changes,
        folders_allowed=_folders_allowed(user),
        now=utcnow(),
        actor_id=user.id,
    )
    return ScheduleRead.model_validate(schedule)


@router.delete("/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(schedule_id: int, session: SessionDep, _user: Importer) -> None:
    service.delete_schedule(session, schedule_id, actor_id=_user.id)


def _folders_allowed(user: User) -> bool:
    return role_allows(user.role, Permission.MANAGE_SETTINGS)


# --- jobs --------------------------------------------------------------------------------------


@router.post(
    "",
    response_model=JobRead,
    status_code=status.HTTP_201_CREATED,
    responses={201: {"content": {"application/json": {"example": JOB_EXAMPLE}}}},
)
def create_import(
    session: SessionDep,
    settings: SettingsDep,
    user: Importer,
    file: Annotated[UploadFile, File(description="CSV, XLSX, XLS or ODS")],
    entity: Annotated[ImportEntity | None, Form(description="Default: the saved mapping's")] = None,
    mapping: Annotated[
        str | None,
        Form(
            description='JSON object column → field, e.g. {"Имя": "first_name", "Тел": "phone"}; '
            "default: mapped automatically from the column names"
        ),
    ] = None,
    mapping_name: Annotated[str | None, Form(description="Use a saved mapping")] = None,
    options: Annotated[
        str | None,
        Form(description='JSON, e.g. {"match_by": ["email"], "overwrite_empty": false}'),
    ] = None,
    encoding: Annotated[str | None, Form(description="Default: detected")] = None,
    delimiter: Annotated[str | None, Form(description="Default: detected")] = None,
    sheet: Annotated[str | None, Form(description="Spreadsheets; default: the first")] = None,
) -> JobRead:
    """Upload a file as an import job (not started: `POST /imports/{id}/run` starts it).

    `curl -H "Authorization: Bearer $TOKEN" -F file=@clients.csv -F entity=contacts
    https://crm.example/api/v1/imports`
    """
    saved = service.mapping_by_name(session, mapping_name) if mapping_name else None
    if saved is not None and entity is not None and entity != saved.entity:
        raise InvalidInput(
            f"entity: the mapping {saved.name!r} is for {saved.entity.value}.",
            details={"field": "entity"},
        )
    chosen = entity or (saved.entity if saved else None)
    if chosen is None:
        raise InvalidInput("entity: say what the rows are.", details={"field": "entity"})
    job = service.create_job_from_upload(
        session,
        data_dir=settings.data_dir,
        filename=file.filename or "upload",
        stream=file.file,
        entity=chosen,
        mapping=_json_mapping(mapping) if mapping else (saved.mapping if saved else None),
        options={**(saved.options if saved else {}), **_json_options(options)},
        encoding=encoding or None,
        delimiter=delimiter or None,
        sheet=sheet or None,
        actor_id=user.id,
    )
    return JobRead.of(job)


def _json_mapping(raw: str) -> dict[str, str]:
    try:
        return _MAPPING.validate_json(raw)
    except ValidationError as error:
        raise InvalidInput(
            'mapping: a JSON object of column → field, e.g. {"Имя": "first_name"}.',
            details={"field": "mapping"},
        ) from error


def _json_options(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        return ImportOptions.model_validate(json.loads(raw)).model_dump(exclude_unset=True)
    except (ValueError, ValidationError) as error:
        raise InvalidInput(
            'options: a JSON object like {"match_by": ["email"], "overwrite_empty": true}.',
            details={"field": "options"},
        ) from error


@router.get("/{job_id}", response_model=JobRead, responses=JOB_RESPONSE)
def get_import(job_id: int, session: SessionDep, _user: Importer) -> JobRead:
    """Status, counts and progress (`position` of `total_rows`); the job page polls this."""
    return JobRead.of(queries.job(session, job_id))


@router.post(
    "/{job_id}/run",
    response_model=JobRead,
    status_code=status.HTTP_202_ACCEPTED,
    responses={202: {"content": {"application/json": {"example": JOB_EXAMPLE}}}},
)
def run_import(
    job_id: int, session: SessionDep, tasks: BackgroundTasks, _user: Importer
) -> JobRead:
    """Start a waiting job, or resume a failed one where it stopped. Calling it again while
    the job runs, or after it is done, changes nothing."""
    job = queries.job(session, job_id)
    if background.start_after_commit(session, tasks, job.id):
        audit.record(session, entity="import", entity_id=job.id, action="start", actor_id=_user.id)
    session.refresh(job)
    return JobRead.of(job)


@router.get("/{job_id}/rejections", response_model=RejectionPage)
def list_rejections(
    job_id: int,
    session: SessionDep,
    _user: Importer,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RejectionPage:
    queries.job(session, job_id)
    rows, total = queries.rejections_page(
        session, job_id, offset=(page - 1) * per_page, limit=per_page
    )
    return RejectionPage(
        items=[RejectionRead.model_validate(r) for r in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


@router.get(
    "/{job_id}/rejections.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "Rejected rows to fix"}},
)
def rejections_csv(
    job_id: int, session: SessionDep, settings: SettingsDep, _user: Importer
) -> StreamingResponse:
    """The rejected rows under the file's own header plus a `Reason` column: fix the cells,
    delete the column or keep it (it is ignored), and import the file again."""
    job = queries.job(session, job_id)
    body = rejected_csv.stream(
        settings.database_url, job.id, rejected_csv.header_of(job), rejected_csv.delimiter_of(job)
    )
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(rejected_csv.filename_of(job))},
    )
