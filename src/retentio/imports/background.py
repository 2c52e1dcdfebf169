"""Running an import job off the request: a thread started once the request has committed.

Routers call `start` through FastAPI's `BackgroundTasks`, which run after the response is sent
and so after the request's session committed the job row (a thread started earlier could look
for a job that does not exist yet). The thread returns nothing to anybody: progress and the
result live in the job row, which the job page polls. When the Huey worker lands, this module
is the one place to swap for `run_import.schedule(job_id)`; `run_job` is safe to run twice.
"""

from __future__ import annotations

import logging
import threading

from retentio.imports.runner import run_job

logger = logging.getLogger(__name__)


def start(url: str, job_id: int, *, region: str) -> None:
    thread = threading.Thread(
        target=_run, args=(url, job_id, region), name=f"import-job-{job_id}", daemon=True
    )
    thread.start()


def _run(url: str, job_id: int, region: str) -> None:
    try:
        run_job(url, job_id, region=region)
    except Exception:
        # The runner has already marked the job failed with the message; keep the traceback.
        logger.exception("import job %s failed", job_id)
