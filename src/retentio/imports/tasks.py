"""Worker jobs of the import domain: run a job, and fire scheduled imports when they are due.

Both are safe to run twice: a finished job is left alone, and a schedule is claimed by moving
its `next_run_at` forward with a conditional UPDATE, so two workers never both run it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import httpx
from huey import crontab
from sqlalchemy import select, update

from retentio.db import session_scope, utcnow
from retentio.imports import service
from retentio.imports.models import SavedMapping, ScheduledImport
from retentio.imports.reader import SPREADSHEET_SUFFIXES
from retentio.imports.runner import run_job
from retentio.kit import cron
from retentio.kit.safe_urls import guarded_client
from retentio.profiles.tasks import refresh_after_import
from retentio.worker import huey, task_settings

logger = logging.getLogger(__name__)
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
READABLE = SPREADSHEET_SUFFIXES | {".csv", ".txt", ".tsv"}


class FetchFailed(Exception):
    """The scheduled file could not be read; recorded on the schedule."""


@huey.task(retries=4, retry_delay=30)
def run_import(job_id: int) -> None:
    settings = task_settings()
    run_job(settings.database_url, job_id, region=settings.default_region)
    refresh_after_import(job_id)


@huey.periodic_task(crontab(minute="*"))
def run_due_schedules() -> None:
    settings = task_settings()
    now = utcnow()
    with session_scope(settings.database_url) as session:
        due = list(
            session.scalars(
                select(ScheduledImport.id).where(
                    ScheduledImport.is_active.is_(True), ScheduledImport.next_run_at <= now
                )
            )
        )
    for schedule_id in due:
        run_schedule(schedule_id, now=now)


def run_schedule(schedule_id: int, *, now: datetime) -> int | None:
    """Claim the schedule, fetch its file, create and run a job; returns the job id."""
    settings = task_settings()
    url = settings.database_url
    with session_scope(url) as session:
        schedule = session.get(ScheduledImport, schedule_id)
        if schedule is None or schedule.next_run_at is None:
            return None
        claimed = session.execute(
            update(ScheduledImport)
            .where(
                ScheduledImport.id == schedule_id,
                ScheduledImport.next_run_at == schedule.next_run_at,
            )
            .values(next_run_at=cron.next_after(cron.parse(schedule.cron), now), last_run_at=now)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None  # another worker took it
        location, entity = schedule.location, schedule.entity
        saved = session.get(SavedMapping, schedule.mapping_id) if schedule.mapping_id else None
        mapping, options = (dict(saved.mapping), dict(saved.options)) if saved else (None, {})
        options.update(schedule.options)
    try:
        path = fetch(location, Path(settings.data_dir))
        with session_scope(url) as session:
            job = service.create_job(
                session,
                entity=entity,
                path=path,
                filename=path.name,
                mapping=mapping,
                options=options,
                schedule_id=schedule_id,
            )
            job_id = job.id
        run_job(url, job_id, region=settings.default_region)
        refresh_after_import(job_id)
    except Exception as error:
        logger.exception("scheduled import %s failed", schedule_id)
        with session_scope(url) as session:
            failed = session.get(ScheduledImport, schedule_id)
            if failed is not None:
                failed.last_error = str(error)[:2000]
        return None
    with session_scope(url) as session:
        done = session.get(ScheduledImport, schedule_id)
        if done is not None:
            done.last_error = None
    return job_id


def fetch(location: str, data_dir: Path) -> Path:
    """A local copy of the scheduled file: downloaded, or the newest readable file of a folder."""
    if location.startswith(("http://", "https://")):
        return _download(location, data_dir)
    path = Path(location)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in READABLE]
        if not files:
            raise FetchFailed(f"No CSV or spreadsheet in {location}.")
        return max(files, key=lambda p: p.stat().st_mtime)
    if path.is_file():
        return path
    raise FetchFailed(f"{location} does not exist.")


def _download(url: str, data_dir: Path) -> Path:
    name = Path(httpx.URL(url).path).name or "download.csv"
    if Path(name).suffix.lower() not in READABLE:
        name += ".csv"  # e.g. Google Sheets' "publish to web … output=csv" links
    folder = data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"scheduled-{utcnow():%Y%m%d%H%M%S}-{name}"
    guarded = guarded_client(allow_private=task_settings().allow_private_targets, timeout=60)
    with guarded, guarded.stream("GET", url, follow_redirects=True) as response:
        response.raise_for_status()
        size = 0
        with target.open("wb") as out:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise FetchFailed(f"{url} is larger than {MAX_DOWNLOAD_BYTES >> 20} MiB.")
                out.write(chunk)
    return target
