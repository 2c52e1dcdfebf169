"""Handing an import job to the worker once the request that started it has committed.

Routers call `start_after_commit`: it claims the job (a conditional UPDATE, so a double click
starts it once) and enqueues `tasks.run_import` through FastAPI's `BackgroundTasks`, which run
after the response is sent and so after the request's session committed; a worker never looks
for a job row that is not there yet. Progress and the result live in the job row, which the
job page polls. Web-layer glue: services know nothing of it.
"""

from __future__ import annotations

from fastapi import BackgroundTasks
from sqlalchemy.orm import Session

from retentio.imports import service
from retentio.imports.tasks import run_import


def start_after_commit(session: Session, tasks: BackgroundTasks, job_id: int) -> bool:
    """True when this call started the job; False when it was already running or done."""
    if not service.claim_run(session, job_id):
        return False
    tasks.add_task(_enqueue, job_id)
    return True


def _enqueue(job_id: int) -> None:
    run_import(job_id)
