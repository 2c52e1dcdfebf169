"""Import jobs, their rejected rows, saved mappings and scheduled imports.

A job records its position (rows committed) in the same transaction as each batch it writes,
so a job killed at any moment resumes exactly where its last commit left it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, enum_type, utcnow
from retentio.imports.mapping import ImportEntity
from retentio.imports.reader import FileFormat


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(Base):
    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[ImportEntity] = mapped_column(enum_type(ImportEntity))
    filename: Mapped[str] = mapped_column(String(300))
    stored_path: Mapped[str] = mapped_column(String(1000))
    encoding: Mapped[str | None] = mapped_column(String(20))
    delimiter: Mapped[str | None] = mapped_column(String(2))
    sheet: Mapped[str | None] = mapped_column(String(200))
    # column name → target field ("" = ignored)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # match_by: list of keys; overwrite_empty: bool; dry_run: bool
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus), default=JobStatus.PENDING)
    position: Mapped[int] = mapped_column(default=0)
    rows_read: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    total_rows: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("scheduled_imports.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def file_format(self) -> FileFormat:
        """How to read the stored file again (spreadsheets are the jobs without an encoding)."""
        return FileFormat(
            kind="spreadsheet" if self.encoding is None else "csv",
            encoding=self.encoding,
            delimiter=self.delimiter,
            sheet=self.sheet,
            has_header=bool(self.options.get("has_header", True)),
        )


class ImportRejection(Base):
    __tablename__ = "import_rejections"
    __table_args__ = (Index("ix_import_rejections_job_row", "job_id", "row_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    row_number: Mapped[int]
    column: Mapped[str | None] = mapped_column(String(300))
    value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    # The whole row as read, so the rejected rows can be downloaded, fixed and re-imported.
    raw: Mapped[list[Any]] = mapped_column(JSON, default=list)


class SavedMapping(Base):
    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    entity: Mapped[ImportEntity] = mapped_column(enum_type(ImportEntity))
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduledImport(Base):
    """A file fetched again and again from a folder path or an http(s) URL (e.g. a Google
    Sheets "publish to CSV" link) on a cron schedule."""

    __tablename__ = "scheduled_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    entity: Mapped[ImportEntity] = mapped_column(enum_type(ImportEntity))
    location: Mapped[str] = mapped_column(String(2000))
    mapping_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_mappings.id", ondelete="SET NULL")
    )
    cron: Mapped[str] = mapped_column(String(100))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
