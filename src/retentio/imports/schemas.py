"""Shapes of the imports API: jobs, rejected rows, saved mappings and scheduled imports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob, JobStatus

MatchKey = Literal["external_id", "email", "phone"]


class ImportOptions(BaseModel):
    match_by: list[MatchKey] = Field(
        default=["external_id", "email", "phone"],
        description="Contacts: keys tried in order to find an existing contact",
    )
    overwrite_empty: bool = Field(default=False, description="Contacts: empty cells clear fields")
    dry_run: bool = Field(default=False, description="Report what would change; change nothing")


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entity: ImportEntity
    filename: str
    status: JobStatus
    dry_run: bool
    mapping: dict[str, str] = Field(description='Column → target field ("" = ignored)')
    options: dict[str, Any]
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    position: int = Field(description="Rows committed so far (where a resumed job goes on)")
    total_rows: int | None = Field(description="Data rows in the file, once counted")
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    error: str | None
    schedule_id: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: ImportJob) -> JobRead:
        stored = {name: getattr(job, name) for name in cls.model_fields if name != "dry_run"}
        return cls.model_validate({**stored, "dry_run": bool(job.options.get("dry_run"))})


JOB_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "entity": "contacts",
    "filename": "клиенты.csv",
    "status": "running",
    "dry_run": False,
    "mapping": {"Имя": "first_name", "Телефон": "phone", "E-mail": "email", "Заметки": ""},
    "options": {"match_by": ["external_id", "email", "phone"], "overwrite_empty": False},
    "encoding": "cp1251",
    "delimiter": ";",
    "sheet": None,
    "position": 12000,
    "total_rows": 50000,
    "rows_read": 12000,
    "inserted": 11020,
    "updated": 903,
    "unchanged": 40,
    "rejected": 37,
    "error": None,
    "schedule_id": None,
    "created_at": "2026-03-01T10:00:00Z",
    "started_at": "2026-03-01T10:00:01Z",
    "finished_at": None,
}


class RejectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row_number: int = Field(description="The row's number in the file, as a spreadsheet shows it")
    column: str | None
    value: str | None
    reason: str
    raw: list[Any] = Field(description="The whole row as read")


class RejectionPage(BaseModel):
    items: list[RejectionRead]
    total: int
    page: int
    per_page: int


class MappingIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    entity: ImportEntity
    mapping: dict[str, str] = Field(description='Column name → target field ("" to ignore)')
    options: ImportOptions = Field(default_factory=ImportOptions)


class MappingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    entity: ImportEntity
    mapping: dict[str, str]
    options: dict[str, Any]
    created_at: datetime


class ScheduleIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    entity: ImportEntity
    location: str = Field(
        min_length=1,
        max_length=2000,
        description="An http(s) URL (e.g. a Google Sheets CSV link) or a folder path (admins)",
    )
    mapping_id: int | None = Field(default=None, description="A saved mapping; none = automatic")
    cron: str = Field(description="Five-field cron expression in UTC, e.g. `0 3 * * *`")
    options: ImportOptions = Field(default_factory=ImportOptions)
    is_active: bool = True


class SchedulePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    entity: ImportEntity | None = None
    location: str | None = Field(default=None, min_length=1, max_length=2000)
    mapping_id: int | None = None
    cron: str | None = None
    options: ImportOptions | None = None
    is_active: bool | None = Field(default=None, description="false pauses, true resumes")


class ScheduleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    entity: ImportEntity
    location: str
    mapping_id: int | None
    cron: str
    options: dict[str, Any]
    is_active: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_error: str | None
    created_at: datetime
