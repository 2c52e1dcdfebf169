"""Handing an import job to the worker once the request that started it has committed.

Routers call `start_after_commit`: it claims the job (a conditional UPDATE, so a double click
starts it once) and enqueues `tasks.run_import` through FastAPI's `BackgroundTasks`, which run
after the response is sent and so after the request's session committed; a worker never looks
for a job row that is not there yet. Progress and the result live in the job row, which the
job page polls. If the queue cannot be reached even after the Redis client's retries (a
Redis outage of more than ~30 s), the job goes back to failed with a message saying so, so it
can simply be started again. Web-layer glue: services know nothing of it.
"""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks
from sqlalchemy.orm import Session

from retentio.db import session_scope
from retentio.imports import service
from retentio.imports.tasks import run_import
from retentio.worker import task_settings

logger = logging.getLogger(__name__)
UNQUEUED = (
    "The run could not be handed to the background worker: its queue was unreachable. "
    "Start it again; it goes on from the last row it had written."
)


def start_after_commit(session: Session, tasks: BackgroundTasks, job_id: int) -> bool:
    """True when this call started the job; False when it was already running or done."""
    if not service.claim_run(session, job_id):
        return False
    tasks.add_task(_enqueue, job_id)
    return True


def _enqueue(job_id: int) -> None:
    try:
        run_import(job_id)
    # Whatever the queue's storage raises (Redis or SQLite): the request has been answered, so
    # the job row is the only place left to say it.
    except Exception:
        logger.exception("import job %s could not be queued", job_id)
        with session_scope(task_settings().database_url) as session:
            service.release_unqueued(session, job_id, reason=UNQUEUED)
