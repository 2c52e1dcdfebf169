"""Worker jobs: running an import through Huey, and scheduled imports from folders and URLs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.db import session_scope, utcnow
from retentio.imports import service
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob, JobStatus, ScheduledImport
from retentio.imports.tasks import run_due_schedules, run_import
from retentio.settings import Settings
from retentio.worker import bind_settings, huey
from tests.imports.files import write_csv

ROWS = [["email", "first_name"], ["a@example.ru", "Анна"], ["b@example.ru", "Борис"]]


@pytest.fixture
def tasks_use(settings: Settings) -> Iterator[Settings]:
    bind_settings(settings)
    huey.immediate = True
    yield settings
    huey.immediate = False


@pytest.fixture
def shop_files(tmp_path: Path) -> Iterator[str]:
    """A local web server publishing a CSV, as Google Sheets' "publish to CSV" link does."""
    folder = tmp_path / "site"
    folder.mkdir()
    write_csv(folder / "export.csv", ROWS)
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/export.csv"
    server.shutdown()


def _schedule(settings: Settings, location: str) -> int:
    with session_scope(settings.database_url) as session:
        schedule = service.create_schedule(
            session,
            name="Выгрузка",
            entity=ImportEntity.CONTACTS,
            location=location,
            cron_expr="0 3 1 * *",
            mapping_id=None,
            options={},
            folders_allowed=True,
            now=utcnow(),
            actor_id=None,
        )
        schedule.next_run_at = utcnow() - timedelta(minutes=1)  # due now
        return schedule.id


def _contacts(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Contact)) or 0


def test_run_import_task_runs_the_job_and_is_safe_twice(
    tasks_use: Settings, tmp_path: Path, db: Session
) -> None:
    path = write_csv(tmp_path / "c.csv", ROWS)
    with session_scope(tasks_use.database_url) as session:
        job_id = service.create_job(
            session, entity=ImportEntity.CONTACTS, path=path, filename="c.csv"
        ).id
    run_import(job_id)
    run_import(job_id)
    job = db.get(ImportJob, job_id)
    assert job is not None
    assert (job.status, job.inserted, job.rows_read) == (JobStatus.DONE, 2, 2)
    assert _contacts(db) == 2


def test_a_due_schedule_imports_from_a_folder_once(
    tasks_use: Settings, tmp_path: Path, db: Session
) -> None:
    # given: a folder where an accounting system drops its exports; the newest one counts
    folder = tmp_path / "drop"
    folder.mkdir()
    write_csv(folder / "old.csv", [["email"], ["old@example.ru"]])
    newest = write_csv(folder / "new.csv", ROWS)
    newest.touch()
    schedule_id = _schedule(tasks_use, str(folder))
    # when: the periodic tick runs twice in a row
    run_due_schedules()
    run_due_schedules()
    # then
    schedule = db.get(ScheduledImport, schedule_id)
    jobs = db.scalars(select(ImportJob)).all()
    assert schedule is not None
    assert [j.filename for j in jobs] == ["new.csv"]
    assert (jobs[0].schedule_id, jobs[0].inserted) == (schedule_id, 2)
    assert schedule.next_run_at is not None
    assert schedule.next_run_at > utcnow()
    assert schedule.last_error is None


def test_a_due_schedule_downloads_a_published_csv(
    tasks_use: Settings, shop_files: str, db: Session
) -> None:
    _schedule(tasks_use, shop_files)
    run_due_schedules()
    job = db.scalars(select(ImportJob)).one()
    assert (job.status, job.inserted) == (JobStatus.DONE, 2)
    assert job.filename.endswith("export.csv")


def test_a_missing_folder_is_recorded_on_the_schedule(
    tasks_use: Settings, tmp_path: Path, db: Session
) -> None:
    missing = tmp_path / "nowhere"
    missing.mkdir()
    schedule_id = _schedule(tasks_use, str(missing))
    missing.rmdir()
    run_due_schedules()
    schedule = db.get(ScheduledImport, schedule_id)
    assert schedule is not None
    assert schedule.last_error == f"{missing} does not exist."
    assert db.scalars(select(ImportJob)).all() == []
