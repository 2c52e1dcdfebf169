"""Creating import jobs and saved mappings; storing uploaded files."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.errors import Conflict, InvalidInput, NotFound
from retentio.fields.models import FieldEntity
from retentio.fields.queries import definitions
from retentio.imports.mapping import CUSTOM_PREFIX, TARGETS, ImportEntity, auto_map
from retentio.imports.models import ImportJob, SavedMapping
from retentio.imports.reader import detect_format, read_rows

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
    fmt = detect_format(path, encoding=encoding, delimiter=delimiter, sheet=sheet)
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
        options=clean_options(options or {}),
        created_by=actor_id,
        schedule_id=schedule_id,
    )
    session.add(job)
    session.flush()
    return job


def clean_options(options: dict[str, Any]) -> dict[str, Any]:
    match_by = [k for k in options.get("match_by", MATCH_KEYS) if k in MATCH_KEYS]
    return {
        "match_by": match_by or list(MATCH_KEYS),
        "overwrite_empty": bool(options.get("overwrite_empty", False)),
        "dry_run": bool(options.get("dry_run", False)),
    }


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
) -> SavedMapping:
    if session.scalar(select(SavedMapping.id).where(SavedMapping.name == name)) is not None:
        raise MappingNameTaken(f"A mapping named {name!r} exists.", details={"field": "name"})
    saved = SavedMapping(
        name=name.strip(), entity=entity, mapping=mapping, options=clean_options(options)
    )
    session.add(saved)
    session.flush()
    return saved


def mapping_by_name(session: Session, name: str) -> SavedMapping:
    saved = session.scalar(select(SavedMapping).where(SavedMapping.name == name))
    if saved is None:
        raise NotFound(f"No saved mapping named {name!r}.")
    return saved
