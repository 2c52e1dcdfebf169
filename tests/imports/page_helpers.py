"""Helpers for the import page and API tests: files as bytes, the worker, finished jobs."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from retentio.db import session_scope
from retentio.imports.models import ImportJob, JobStatus
from retentio.worker import huey

TOKEN_PATH = re.compile(r"^/imports/upload/([^?]+)\?")


def csv_bytes(
    rows: Sequence[Sequence[object]], *, delimiter: str = ";", encoding: str = "utf-8"
) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


@contextmanager
def immediate_worker() -> Iterator[None]:
    """Enqueued tasks run at once, in the request's background task (after its commit), as a
    worker would run them a moment later."""
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = False


def wait_for_job(url: str, job_id: int, *, timeout: float = 30.0) -> ImportJob:
    """The job once its background thread has finished it (done or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(url, write=False) as session:
            job = session.get(ImportJob, job_id)
            assert job is not None
            if job.status in (JobStatus.DONE, JobStatus.FAILED):
                session.expunge(job)
                return job
        if time.monotonic() > deadline:
            raise AssertionError(f"import job {job_id} still {job.status} after {timeout}s")
        time.sleep(0.05)


def counts(job: ImportJob) -> dict[str, int]:
    return {
        "rows_read": job.rows_read,
        "inserted": job.inserted,
        "updated": job.updated,
        "unchanged": job.unchanged,
        "rejected": job.rejected,
    }
