"""Creating import jobs, saved mappings and scheduled imports; storing uploaded files.

Saved mappings and schedules are settings: each change of one is recorded in the audit log
(entities "import_mapping" and "import_schedule") here, for the API and the pages alike.
"""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from retentio.fields.models import FieldEntity, FieldType
from retentio.fields.queries import definition, definitions
from retentio.fields.service import define_field
from retentio.imports.mapping import CUSTOM_PREFIX, TARGETS, ImportEntity, auto_map
from retentio.imports.models import ImportJob, JobStatus, SavedMapping, ScheduledImport
from retentio.imports.reader import detect_format, read_rows
from retentio.kit import cron

MATCH_KEYS = ("external_id", "email", "phone")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class MappingNameTaken(Conflict):
    code = "mapping_name_taken"


def store_upload(data_dir: Path, filename: str, stream: IO[bytes]) -> Path:
    """Keep an uploaded file under the data directory, under a name nobody can choose."""
    folder = data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    safe = _SAFE_NAME.sub("_", Path(filename).name)[-80:] or "upload"
    target = folder / f"{uuid.uuid4().hex}_{safe}"
    with target.open("wb") as out:
        shutil.copyfileobj(stream, out)
    return target


def custom_keys(session: Session, entity: ImportEntity) -> list[str]:
    if entity != ImportEntity.CONTACTS:
        return []
    return [d.key for d in definitions(session, FieldEntity.CONTACT) if not d.archived]


def create_job(
    session: Session,
    *,
    entity: ImportEntity,
    path: Path,
    filename: str,
    mapping: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    actor_id: int | None = None,
    schedule_id: int | None = None,
) -> ImportJob:
    cleaned = clean_options(options or {})
    fmt = detect_format(
        path,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        has_header=cleaned.get("has_header", True),
    )
    header, _rows = read_rows(path, fmt)
    chosen = (
        mapping if mapping is not None else auto_map(entity, header, custom_keys(session, entity))
    )
    _check_mapping(session, entity, header, chosen)
    job = ImportJob(
        entity=entity,
        filename=filename,
        stored_path=str(path),
        encoding=fmt.encoding,
        delimiter=fmt.delimiter,
        sheet=fmt.sheet,
        mapping=chosen,
        options=cleaned,
        created_by=actor_id,
        schedule_id=schedule_id,
    )
    session.add(job)
    session.flush()
    return job


def clean_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options a job keeps. `has_header` appears only when False (the file's first row is
    data, its columns are "column 1", "column 2", …), so jobs and saved mappings with a header
    row keep exactly the options they always had."""
    match_by = [k for k in options.get("match_by", MATCH_KEYS) if k in MATCH_KEYS]
    cleaned: dict[str, Any] = {
        "match_by": match_by or list(MATCH_KEYS),
        "overwrite_empty": bool(options.get("overwrite_empty", False)),
        "dry_run": bool(options.get("dry_run", False)),
    }
    if not bool(options.get("has_header", True)):
        cleaned["has_header"] = False
    return cleaned


def _check_mapping(
    session: Session, entity: ImportEntity, header: list[str], mapping: dict[str, str]
) -> None:
    known = set(TARGETS[entity]) | {CUSTOM_PREFIX + k for k in custom_keys(session, entity)}
    for column, target in mapping.items():
        if column not in header:
            raise InvalidInput(
                f"mapping: the file has no column {column!r}.", details={"field": "mapping"}
            )
        if target and target not in known:
            raise InvalidInput(
                f"mapping: {target!r} is not a field of {entity.value}.",
                details={"field": f"mapping.{column}"},
            )
    targets = [t for t in mapping.values() if t]
    if len(targets) != len(set(targets)):
        raise InvalidInput(
            "mapping: two columns are mapped to the same field.", details={"field": "mapping"}
        )
    if not targets:
        raise InvalidInput("mapping: no column is mapped to a field.", details={"field": "mapping"})


def save_mapping(
    session: Session,
    *,
    name: str,
    entity: ImportEntity,
    mapping: dict[str, str],
    options: dict[str, Any],
    actor_id: int | None,
) -> SavedMapping:
    if session.scalar(select(SavedMapping.id).where(SavedMapping.name == name)) is not None:
        raise MappingNameTaken(f"A mapping named {name!r} exists.", details={"field": "name"})
    saved = SavedMapping(
        name=name.strip(), entity=entity, mapping=mapping, options=clean_options(options)
    )
    session.add(saved)
    session.flush()
    changes = {
        "name": saved.name,
        "entity": saved.entity.value,
        "mapping": saved.mapping,
        "options": saved.options,
    }
    audit.record(
        session,
        entity="import_mapping",
        entity_id=saved.id,
        action="create",
        actor_id=actor_id,
        changes=changes,
    )
    return saved


def mapping_by_name(session: Session, name: str) -> SavedMapping:
    saved = session.scalar(select(SavedMapping).where(SavedMapping.name == name))
    if saved is None:
        raise NotFound(f"No saved mapping named {name!r}.")
    return saved


# --- uploads waiting for their mapping -------------------------------------------------------

_UPLOAD_TOKEN = re.compile(r"^[0-9a-f]{32}_[A-Za-z0-9._-]{1,80}$")


def upload_token(path: Path) -> str:
    """How the mapping step names a stored upload: its file name, unguessable by design."""
    return path.name


def stored_upload(data_dir: Path, token: str) -> Path:
    """The stored file a token names; a token cannot point outside the uploads folder."""
    path = data_dir / "imports" / token
    if not _UPLOAD_TOKEN.match(token) or not path.is_file():
        raise NotFound("The uploaded file is gone: upload it again.")
    return path


# --- custom fields made from a column ----------------------------------------------------------

# Russian letters in Latin (the passport transliteration, ъ and ь dropped), for field keys.
_CYRILLIC_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        (
            *("a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o"),
            *("p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e"),
            *("yu", "ya"),
        ),
        strict=True,
    )
)
_NOT_KEY = re.compile(r"[^a-z0-9]+")


def field_for_column(session: Session, column: str) -> str:
    """Define a text custom field of contacts named after a column; returns its target.

    The key is the column name in Latin letters ("Любимый цвет" → `lyubimyy_tsvet`), made
    unique with a number when taken; the label is the column name as written.
    """
    base = _field_key(column)
    key, number = base, 1
    while definition(session, FieldEntity.CONTACT, key) is not None:
        number += 1
        key = f"{base[:55]}_{number}"
    define_field(
        session,
        entity=FieldEntity.CONTACT,
        key=key,
        label=column.strip()[:200] or key,
        type=FieldType.STRING,
    )
    return CUSTOM_PREFIX + key


def _field_key(column: str) -> str:
    latin = "".join(_CYRILLIC_LATIN.get(ch, ch) for ch in column.lower())
    key = _NOT_KEY.sub("_", latin).strip("_")[:50]
    if not key or not key[0].isalpha():
        key = f"field_{key}".rstrip("_")
    return key


# --- running and re-running jobs ---------------------------------------------------------------


def claim_run(session: Session, job_id: int) -> bool:
    """Mark a waiting or failed job as running; True for exactly one of concurrent callers.

    The conditional UPDATE is the lock: a second "run" of the same job finds it running and
    starts nothing, so pressing the button twice never imports a file twice.
    """
    claimed = session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == job_id,
            ImportJob.status.in_([JobStatus.PENDING, JobStatus.FAILED]),
        )
        .values(status=JobStatus.RUNNING)
        .returning(ImportJob.id)
    ).first()
    return claimed is not None


def release_unqueued(session: Session, job_id: int, *, reason: str) -> bool:
    """A job claimed for a run that could not be handed to the worker goes back to failed, so
    it can be started again instead of showing "running" for ever. True if it was released."""
    released = session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == JobStatus.RUNNING)
        .values(status=JobStatus.FAILED, error=reason)
        .returning(ImportJob.id)
    ).first()
    return released is not None


def import_for_real(session: Session, dry_run: ImportJob, *, actor_id: int | None) -> ImportJob:
    """A new job importing the same file exactly as a finished dry run checked it."""
    if not dry_run.options.get("dry_run"):
        raise Conflict("This job is not a dry run.", details={"field": "job"})
    job = ImportJob(
        entity=dry_run.entity,
        filename=dry_run.filename,
        stored_path=dry_run.stored_path,
        encoding=dry_run.encoding,
        delimiter=dry_run.delimiter,
        sheet=dry_run.sheet,
        mapping=dict(dry_run.mapping),
        options={**dry_run.options, "dry_run": False},
        created_by=actor_id,
    )
    session.add(job)
    session.flush()
    return job


def delete_mapping(session: Session, mapping_id: int, *, actor_id: int | None) -> None:
    """Schedules using the mapping keep running with the columns mapped automatically."""
    saved = session.get(SavedMapping, mapping_id)
    if saved is None:
        raise NotFound(f"Saved mapping {mapping_id} does not exist.")
    # The row goes: its name is what tells a reader of the log which mapping it was.
    gone = {"name": saved.name}
    session.delete(saved)
    session.flush()
    audit.record(
        session,
        entity="import_mapping",
        entity_id=mapping_id,
        action="delete",
        actor_id=actor_id,
        changes=gone,
    )


# --- scheduled imports ---------------------------------------------------------------------------


def entity_of(raw: str | None) -> ImportEntity:
    """The kind of import named in a form; contacts when none is named."""
    try:
        return ImportEntity(raw or ImportEntity.CONTACTS.value)
    except ValueError as error:
        raise InvalidInput(f"entity: unknown kind {raw!r}.", details={"field": "entity"}) from error


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def check_location(location: str, *, folders_allowed: bool) -> str:
    """An http(s) URL or an absolute folder path.

    Reading folders of the server is for admins only: a folder import stores rejected rows
    verbatim, so letting anyone name a folder would let them read the server's files.
    """
    location = location.strip()
    parts = urlsplit(location)
    if parts.scheme in ("http", "https"):
        if not parts.netloc:
            raise InvalidInput("location: the URL has no host.", details={"field": "location"})
        return location
    if parts.scheme or not location.startswith("/"):
        raise InvalidInput(
            "location: give an http(s) URL or an absolute folder path such as /srv/exports.",
            details={"field": "location"},
        )
    if not folders_allowed:
        raise PermissionDenied(
            "Only admins may import from folders of the server; use an http(s) URL.",
            details={"field": "location"},
        )
    return location


def create_schedule(
    session: Session,
    *,
    name: str,
    entity: ImportEntity,
    location: str,
    cron_expr: str,
    mapping_id: int | None,
    options: dict[str, Any],
    folders_allowed: bool,
    now: datetime,
    actor_id: int | None,
    is_active: bool = True,
) -> ScheduledImport:
    schedule = ScheduledImport(
        name=name.strip(), entity=entity, location="", cron="", options={}, is_active=is_active
    )
    _set_schedule(
        session,
        schedule,
        {
            "location": location,
            "cron": cron_expr,
            "mapping_id": mapping_id,
            "options": options,
        },
        folders_allowed=folders_allowed,
        now=now,
    )
    session.add(schedule)
    session.flush()
    audit.record(
        session,
        entity="import_schedule",
        entity_id=schedule.id,
        action="create",
        actor_id=actor_id,
        changes=_settings(schedule),
    )
    return schedule


def update_schedule(
    session: Session,
    schedule_id: int,
    changes: dict[str, Any],
    *,
    folders_allowed: bool,
    now: datetime,
    actor_id: int | None,
) -> ScheduledImport:
    """Apply the given fields (name, entity, location, cron, mapping_id, options, is_active)."""
    schedule = get_schedule(session, schedule_id)
    before = _settings(schedule)
    _set_schedule(session, schedule, changes, folders_allowed=folders_allowed, now=now)
    session.flush()
    changes = audit.changed(before, _settings(schedule))
    action = "update"
    if changes.keys() == {"is_active"}:
        # Pausing or resuming alone reads as such in the log, not as an edit.
        action, changes = ("resume" if schedule.is_active else "pause"), {}
    audit.record(
        session,
        entity="import_schedule",
        entity_id=schedule.id,
        action=action,
        actor_id=actor_id,
        changes=changes,
    )
    return schedule


def get_schedule(session: Session, schedule_id: int) -> ScheduledImport:
    schedule = session.get(ScheduledImport, schedule_id)
    if schedule is None:
        raise NotFound(f"Scheduled import {schedule_id} does not exist.")
    return schedule


def delete_schedule(session: Session, schedule_id: int, *, actor_id: int | None) -> None:
    """Its past jobs stay in the history, no longer linked to a schedule."""
    schedule = get_schedule(session, schedule_id)
    # The row goes: its name is what tells a reader of the log which schedule it was.
    gone = {"name": schedule.name}
    session.delete(schedule)
    session.flush()
    audit.record(
        session,
        entity="import_schedule",
        entity_id=schedule_id,
        action="delete",
        actor_id=actor_id,
        changes=gone,
    )


def _settings(schedule: ScheduledImport) -> dict[str, Any]:
    """What the audit log keeps of a schedule: what an importer chose, not when it runs next."""
    return {
        "name": schedule.name,
        "entity": schedule.entity.value,
        "location": schedule.location,
        "cron": schedule.cron,
        "mapping_id": schedule.mapping_id,
        "options": schedule.options,
        "is_active": schedule.is_active,
    }


def _set_schedule(
    session: Session,
    schedule: ScheduledImport,
    changes: dict[str, Any],
    *,
    folders_allowed: bool,
    now: datetime,
) -> None:
    if "name" in changes:
        schedule.name = str(changes["name"]).strip()
    if not schedule.name:
        raise InvalidInput("name: give the schedule a name.", details={"field": "name"})
    if "entity" in changes:
        schedule.entity = entity_of(changes["entity"])
    if "location" in changes and changes["location"] != schedule.location:
        schedule.location = check_location(changes["location"], folders_allowed=folders_allowed)
    if "cron" in changes:
        schedule.cron = _cron(changes["cron"]).expr
    if "mapping_id" in changes:
        schedule.mapping_id = changes["mapping_id"]
    if "options" in changes:
        schedule.options = clean_options(changes["options"] or {})
    if "is_active" in changes:
        schedule.is_active = bool(changes["is_active"])
    _check_schedule_mapping(session, schedule)
    # A paused schedule has no next run; resuming or a new expression counts from now.
    schedule.next_run_at = (
        cron.next_after(_cron(schedule.cron), now) if schedule.is_active else None
    )


def _cron(expr: str) -> cron.CronSpec:
    try:
        return cron.parse(expr)
    except cron.CronError as error:
        raise InvalidInput(f"cron: {error}", details={"field": "cron"}) from error


def _check_schedule_mapping(session: Session, schedule: ScheduledImport) -> None:
    if schedule.mapping_id is None:
        return
    saved = session.get(SavedMapping, schedule.mapping_id)
    if saved is None:
        raise InvalidInput(
            f"mapping_id: there is no saved mapping {schedule.mapping_id}.",
            details={"field": "mapping_id"},
        )
    if saved.entity != schedule.entity:
        raise InvalidInput(
            f"mapping_id: the mapping {saved.name!r} is for {saved.entity.value}, "
            f"not {schedule.entity.value}.",
            details={"field": "mapping_id"},
        )


def create_job_from_upload(
    session: Session,
    *,
    data_dir: Path,
    filename: str,
    stream: IO[bytes],
    entity: ImportEntity,
    mapping: dict[str, str] | None,
    options: dict[str, Any],
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    actor_id: int | None = None,
) -> ImportJob:
    """Store an uploaded file and create its job; a refused job leaves no file behind."""
    path = store_upload(data_dir, filename, stream)
    try:
        return create_job(
            session,
            entity=entity,
            path=path,
            filename=filename,
            mapping=mapping,
            options=options,
            encoding=encoding,
            delimiter=delimiter,
            sheet=sheet,
            actor_id=actor_id,
        )
    except Exception:
        path.unlink(missing_ok=True)
        raise
