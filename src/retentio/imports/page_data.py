"""What the mapping step shows: the first rows as they will be read, and for each column the
field it goes to (chosen, saved, or guessed from its name) among the fields of that kind.

Reads only: the file and the custom field definitions. Jobs and fields are created by `service`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from retentio.errors import RetentioError
from retentio.fields.models import FieldEntity
from retentio.fields.queries import definitions
from retentio.imports import queries
from retentio.imports.mapping import CUSTOM_PREFIX, IGNORE, TARGETS, ImportEntity, auto_map
from retentio.imports.models import SavedMapping
from retentio.imports.reader import FileFormat, detect_format, preview, sheet_names
from retentio.imports.rows import text
from retentio.imports.service import clean_options

PREVIEW_ROWS = 10
# The select value asking for a new text custom field made from the column.
NEW_FIELD = "__new__"


@dataclass(frozen=True)
class Upload:
    """A stored file waiting for its mapping, and how to read it."""

    token: str
    path: Path
    filename: str
    entity: ImportEntity
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class Column:
    index: int
    name: str
    target: str
    # Nothing matched its name: offer to create a custom field from it.
    unknown: bool


@dataclass
class MappingStep:
    upload: Upload
    fmt: FileFormat | None = None
    sheets: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    targets: list[tuple[str, str]] = field(default_factory=list)
    custom: list[tuple[str, str]] = field(default_factory=list)
    saved: Sequence[SavedMapping] = ()
    error: str | None = None

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]


def file_format(upload: Upload) -> FileFormat:
    return detect_format(
        upload.path, encoding=upload.encoding, delimiter=upload.delimiter, sheet=upload.sheet
    )


def mapping_step(
    session: Session,
    upload: Upload,
    *,
    chosen: Mapping[int, str] | None = None,
    saved: SavedMapping | None = None,
) -> MappingStep:
    """`chosen`: the targets a person already picked, by column index (a rejected form)."""
    step = MappingStep(upload=upload, saved=queries.mappings(session, upload.entity))
    custom_defs = (
        [d for d in definitions(session, FieldEntity.CONTACT) if not d.archived]
        if upload.entity == ImportEntity.CONTACTS
        else []
    )
    step.targets = [(key, label) for key, (label, _aliases) in TARGETS[upload.entity].items()]
    step.custom = [(CUSTOM_PREFIX + d.key, d.label) for d in custom_defs]
    try:
        step.fmt = file_format(upload)
        if step.fmt.kind == "spreadsheet":
            step.sheets = sheet_names(upload.path)
        header, sample = preview(upload.path, step.fmt, PREVIEW_ROWS)
    except (RetentioError, OSError, ValueError) as error:
        step.error = error.message if isinstance(error, RetentioError) else str(error)
        return step
    guessed = auto_map(upload.entity, header, [d.key for d in custom_defs])
    step.columns = [
        Column(
            index=i,
            name=name,
            target=_target(i, name, guessed, chosen, saved),
            unknown=guessed.get(name, IGNORE) == IGNORE,
        )
        for i, name in enumerate(header)
    ]
    width = len(header)
    step.rows = [[text(c) for c in (row + [None] * width)[:width]] for row in sample]
    return step


def _target(
    index: int,
    name: str,
    guessed: Mapping[str, str],
    chosen: Mapping[int, str] | None,
    saved: SavedMapping | None,
) -> str:
    if chosen is not None:
        return chosen.get(index, IGNORE)
    if saved is not None:
        return saved.mapping.get(name, IGNORE)
    return guessed.get(name, IGNORE)


def options_of(saved: SavedMapping | None) -> dict[str, Any]:
    """The options to show checked: a saved mapping's, or the defaults."""
    return clean_options(saved.options if saved else {})
