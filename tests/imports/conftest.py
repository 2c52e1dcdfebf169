"""Fixtures for import tests: run a file through the real engine and read back the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from retentio.db import session_scope
from retentio.imports import service
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob, ImportRejection
from retentio.imports.runner import run_job
from retentio.settings import Settings

Importer = Callable[..., ImportJob]


@pytest.fixture
def run_import(settings: Settings) -> Importer:
    def run(
        path: Path,
        entity: ImportEntity = ImportEntity.CONTACTS,
        *,
        batch_size: int = 3,
        **options: Any,
    ) -> ImportJob:
        fmt_options = {
            k: options.pop(k) for k in ("encoding", "delimiter", "sheet", "mapping") if k in options
        }
        with session_scope(settings.database_url) as session:
            job_id = service.create_job(
                session,
                entity=entity,
                path=path,
                filename=path.name,
                options=options,
                **fmt_options,
            ).id
        run_job(settings.database_url, job_id, region="RU", batch_size=batch_size)
        with session_scope(settings.database_url) as session:
            job = session.get(ImportJob, job_id)
            assert job is not None
            return job

    return run


@pytest.fixture
def rejections(settings: Settings) -> Callable[[int], list[tuple[int, str | None, str]]]:
    def read(job_id: int) -> list[tuple[int, str | None, str]]:
        with session_scope(settings.database_url) as session:
            rows = session.scalars(
                select(ImportRejection)
                .where(ImportRejection.job_id == job_id)
                .order_by(ImportRejection.row_number)
            )
            return [(r.row_number, r.column, r.reason) for r in rows]

    return read
