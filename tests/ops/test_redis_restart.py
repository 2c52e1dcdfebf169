"""Fault test of issue #11: Redis restarts while import jobs are queued and running. Two
`retentio worker` processes reconnect by themselves, every job runs once to its end, no
contact is lost or written twice, and a job started while Redis is down is neither a 500 nor
lost (the enqueue rides out the restart, `worker.REDIS_RETRIES`). When Redis stays away for
longer than that, the job started meanwhile ends `failed` with a message, not `running` for
ever, and starting it again once Redis is back imports the file once.

PostgreSQL only: SQLite has a single writer, so many worker processes are not a set-up it
supports. Redis is a private, persistent `redis-server` (append-only file, fsync on every
write), as docs/operations/scale-out.md asks for in production: a restart keeps the queue.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from retentio.auth.models import Role
from retentio.auth.service import create_token, create_user
from retentio.contacts.models import Contact
from retentio.db import is_sqlite, session_scope
from retentio.settings import Settings
from tests.processes import Processes, RedisServer, free_port, processes

pytestmark = pytest.mark.skipif(
    is_sqlite(os.environ.get("RETENTIO_TEST_DATABASE_URL") or "sqlite://"),
    reason="many worker processes need PostgreSQL (SQLite has a single writer)",
)

ROWS = 300  # contacts in each job's file
BEFORE, AFTER = 6, 3  # jobs started before the restart, and after it
DOWN_FOR = 3.0  # seconds Redis is away
# A run that stops making progress must fail the test, not hang it.
PATIENCE = 150.0


def _token(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        user = create_user(
            session, email="ops@example.com", name="Ops", role=Role.ADMIN, password="x" * 12
        )
        return create_token(session, user, name="fault test")[1]


def _upload(api: httpx.Client, job: int) -> int:
    lines = ["email,first_name"] + [f"c{job}-{n}@example.org,Client {n}" for n in range(ROWS)]
    response = api.post(
        "/api/v1/imports",
        data={"entity": "contacts", "mapping": '{"email": "email", "first_name": "first_name"}'},
        files={"file": (f"clients-{job}.csv", "\n".join(lines).encode(), "text/csv")},
    )
    assert response.status_code == 201, response.text
    job_id: int = response.json()["id"]
    return job_id


def _run(api: httpx.Client, job_id: int, running: Processes) -> None:
    response = api.post(f"/api/v1/imports/{job_id}/run")
    assert response.status_code == 202, f"{response.text}\n{running.logs()}"


def _wait_done(
    api: httpx.Client, job_ids: list[int], running: Processes
) -> list[dict[str, object]]:
    deadline = time.monotonic() + PATIENCE
    while True:
        jobs = [api.get(f"/api/v1/imports/{job_id}").json() for job_id in job_ids]
        if all(job["status"] == "done" for job in jobs):
            return jobs
        assert time.monotonic() < deadline, f"jobs not done: {jobs}\n{running.logs()}"
        time.sleep(0.5)


def test_workers_reconnect_after_a_redis_restart_and_run_every_job_once(
    settings: Settings, tmp_path: Path
) -> None:
    # given a persistent Redis, a web process and two workers
    redis_server = RedisServer(tmp_path, persistent=True)
    redis_server.start()
    try:
        with processes(settings, redis_server.url, tmp_path) as running:
            base = running.web("web", free_port())
            workers = [running.worker("worker-1", threads=1), running.worker("worker-2", 1)]
            headers = {"Authorization": f"Bearer {_token(settings)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as api:
                job_ids = [_upload(api, job) for job in range(BEFORE + 1 + AFTER)]
                # when jobs are queued and running as Redis goes away
                for job_id in job_ids[:BEFORE]:
                    _run(api, job_id, running)
                redis_server.stop()
                # and one is started while it is down (Redis is back a few seconds later)
                back = threading.Timer(DOWN_FOR, redis_server.start)
                back.start()
                _run(api, job_ids[BEFORE], running)
                back.join()
                # and more are started after the restart
                for job_id in job_ids[BEFORE + 1 :]:
                    _run(api, job_id, running)
                jobs = _wait_done(api, job_ids, running)
            # then both workers are still up, and every job ran once to its end
            assert [worker.poll() for worker in workers] == [None, None], running.logs()
            counts = {
                (j["rows_read"], j["inserted"], j["updated"], j["unchanged"], j["rejected"])
                for j in jobs
            }
            assert counts == {(ROWS, ROWS, 0, 0, 0)}, jobs
            worker_logs = "".join(path.read_text() for path in tmp_path.glob("worker-*.log"))
            executed = re.findall(r"Executing retentio\.imports\.tasks\.run_import", worker_logs)
            assert len(executed) == len(job_ids), running.logs()
    finally:
        redis_server.stop()
    # and each contact exists exactly once
    with session_scope(settings.database_url) as session:
        found = session.execute(
            select(func.count(), func.count(func.distinct(Contact.email)))
        ).one()
    assert tuple(found) == (len(job_ids) * ROWS, len(job_ids) * ROWS)


def test_a_job_started_while_redis_stays_down_fails_and_can_be_started_again(
    settings: Settings, tmp_path: Path
) -> None:
    # given a web process and a worker whose Redis is gone for longer than the enqueue rides out
    redis_server = RedisServer(tmp_path, persistent=True)
    redis_server.start()
    try:
        with processes(settings, redis_server.url, tmp_path) as running:
            base = running.web("web", free_port())
            running.worker("worker-1", threads=1)
            headers = {"Authorization": f"Bearer {_token(settings)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as api:
                job_id = _upload(api, 0)
                redis_server.stop()
                # when the job is started
                _run(api, job_id, running)
                # then, once the enqueue gives up, the job says so instead of "running" for ever
                job = _wait_status(api, job_id, "failed", running)
                assert "queue was unreachable" in str(job["error"]), job
                # and when Redis is back, starting it again imports the whole file once
                redis_server.start()
                _run(api, job_id, running)
                (done,) = _wait_done(api, [job_id], running)
            assert (done["rows_read"], done["inserted"], done["rejected"]) == (ROWS, ROWS, 0)
    finally:
        redis_server.stop()


def _wait_status(
    api: httpx.Client, job_id: int, status: str, running: Processes
) -> dict[str, object]:
    deadline = time.monotonic() + PATIENCE
    while True:
        job: dict[str, object] = api.get(f"/api/v1/imports/{job_id}").json()
        if job["status"] == status:
            return job
        assert time.monotonic() < deadline, f"job not {status}: {job}\n{running.logs()}"
        time.sleep(0.5)
