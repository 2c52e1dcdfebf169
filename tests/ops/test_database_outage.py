"""Fault: the database is unreachable for 30 s (issue #11) while a tracker keeps posting
events and an import job waits for the worker.

A real `retentio serve` and a real `retentio worker` reach PostgreSQL through a TCP proxy
(tests/ops/tcp_proxy.py) that the test cuts: open connections drop, new ones are closed. Every
batch posted meanwhile is answered 503 `database_unavailable` with Retry-After, never 500;
/readyz says 503. The import job the worker takes during the outage fails, is retried by Huey
after its delay and completes once the database is back. The client then re-posts the
batches that got 503 (same message ids), and each event is stored exactly once.

The worker is paused (SIGSTOP) while the job is enqueued and resumed just after the cut, so it
takes the job during the outage whatever the machine's speed: a worker that had not got to
the job yet when the database went away.

PostgreSQL only: SQLite is a file, there is no connection to lose.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from huey import RedisHuey
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from retentio.auth import service as auth_service
from retentio.auth.models import Role
from retentio.contacts.models import Contact
from retentio.db import is_sqlite, session_scope
from retentio.events import sources
from retentio.events.models import Event
from retentio.settings import Settings
from tests.conftest import TEST_PASSWORD
from tests.ops.tcp_proxy import TcpProxy
from tests.processes import Processes, free_port, processes, redis_server

pytestmark = pytest.mark.skipif(
    is_sqlite(os.environ.get("RETENTIO_TEST_DATABASE_URL") or "sqlite://"),
    reason="a lost database connection needs a database server (PostgreSQL)",
)

OUTAGE_SECONDS = 30.0
BATCH_EVENTS = 10
# Generous: the machine is small and shared; a run that gets nowhere must fail, not hang.
PATIENCE = 120.0
UNAVAILABLE = {
    "error": {
        "code": "database_unavailable",
        "message": "The database is unavailable; send the request again shortly.",
        "details": None,
    }
}
CUSTOMERS = [f"outage{i}@example.com" for i in range(5)]


@dataclass(frozen=True)
class Answer:
    batch: list[dict[str, str]]
    status: int
    body: Any
    retry_after: str | None


class Tracker:
    """Posts numbered batches of events in a thread, one after another, and keeps each answer."""

    def __init__(self, url: str, write_key: str) -> None:
        self.client = httpx.Client(
            base_url=url, headers={"X-Write-Key": write_key}, timeout=PATIENCE
        )
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def post(self, batch: list[dict[str, str]]) -> Answer:
        try:
            response = self.client.post("/api/v1/events/batch", json={"events": batch})
        except httpx.TransportError as error:  # the web process failed: status 0 fails the test
            return Answer(batch, 0, repr(error), None)
        body = (
            response.json()
            if response.headers.get("content-type") == "application/json"
            else response.text
        )
        return Answer(batch, response.status_code, body, response.headers.get("Retry-After"))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=PATIENCE)

    def _run(self) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            self.answers.append(self.post(_batch(f"b{number}")))
            time.sleep(0.2)


def _batch(prefix: str) -> list[dict[str, str]]:
    return [
        {"message_id": f"{prefix}-{i}", "type": "page_view", "anonymous_id": f"{prefix}-visitor"}
        for i in range(BATCH_EVENTS)
    ]


@pytest.fixture
def proxy(settings: Settings) -> Iterator[TcpProxy]:
    target = make_url(settings.database_url)
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as started:
        yield started


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


@pytest.fixture
def started(
    settings: Settings, proxy: TcpProxy, redis_url: str, tmp_path: Path
) -> Iterator[Processes]:
    """Where web processes and workers start: reaching the database through the proxy."""
    through_proxy = make_url(settings.database_url).set(host="127.0.0.1", port=proxy.port)
    url = through_proxy.render_as_string(hide_password=False)
    with processes(settings, redis_url, tmp_path, RETENTIO_DATABASE_URL=url) as running:
        yield running


def _wait(check: Any, what: str, started: Processes, patience: float = PATIENCE) -> Any:
    deadline = time.monotonic() + patience
    while not (result := check()):
        assert time.monotonic() < deadline, f"{what}: not within {patience:.0f} s\n{started.logs()}"
        time.sleep(0.5)
    return result


def _scheduled(queue: RedisHuey) -> list[str]:
    """Names of the tasks Redis holds for later: retries after a failure, among others."""
    return [queue.serializer.deserialize(item).name for item in queue.storage.scheduled_items()]


def test_an_outage_of_30_seconds_loses_nothing(
    settings: Settings, proxy: TcpProxy, started: Processes, redis_url: str, tmp_path: Path
) -> None:
    # Given a tracking source, an importer with an API token, a web process and a worker
    with session_scope(settings.database_url) as session:
        write_key = sources.create_source(
            session, name="Shop", allowed_origins=[], actor_id=None
        ).write_key
        user = auth_service.create_user(
            session,
            email="importer@example.com",
            name="Importer",
            role=Role.ADMIN,
            password=TEST_PASSWORD,
        )
        _token, secret = auth_service.create_token(session, user, name="outage test")
    web = started.web("web", free_port())
    worker = started.worker("worker")
    log = tmp_path / "worker.log"
    _wait(lambda: "Retentio worker:" in log.read_text(), "the worker started", started)
    api = httpx.Client(base_url=web, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    queue = RedisHuey("retentio", url=redis_url)
    tracker = Tracker(web, write_key)
    # ... events ingested fine
    first = tracker.post(_batch("b0"))
    assert (first.status, first.body) == (200, {"accepted": BATCH_EVENTS, "duplicates": 0})
    # ... and an import job enqueued while the worker is busy elsewhere (paused)
    csv = "email,first_name\n" + "".join(f"{email},Outage\n" for email in CUSTOMERS)
    created = api.post(
        "/api/v1/imports",
        data={"entity": "contacts"},
        files={"file": ("outage.csv", csv.encode(), "text/csv")},
    )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    os.kill(worker.pid, signal.SIGSTOP)
    assert api.post(f"/api/v1/imports/{job_id}/run").status_code == 202

    # When the database is cut off for 30 s while the tracker keeps posting
    tracker.start()
    time.sleep(1)
    proxy.cut()
    cut_at = time.monotonic()
    os.kill(worker.pid, signal.SIGCONT)
    # Then the load balancer is told to stop sending traffic
    readyz = httpx.get(f"{web}/readyz", timeout=30)
    assert (readyz.status_code, readyz.json()) == (503, {"status": "error", "failing": "database"})
    # ... and the worker's attempt at the import fails and is scheduled again
    _wait(
        lambda: "retentio.imports.tasks.run_import" in _scheduled(queue),
        "the failed import job scheduled for a retry",
        started,
        patience=OUTAGE_SECONDS - 5,
    )
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - cut_at)))
    proxy.restore()
    _wait(lambda: httpx.get(f"{web}/readyz", timeout=30).status_code == 200, "ready again", started)
    restored = len(tracker.answers)
    _wait(lambda: len(tracker.answers) >= restored + 3, "posts after the outage", started)
    tracker.stop()

    # Then every batch was either stored or refused with a 503 that says when to come back
    answers = tracker.answers
    assert {a.status for a in answers} == {200, 503}, [(a.status, a.body) for a in answers]
    refused = [a for a in answers if a.status == 503]
    assert [(a.body, a.retry_after) for a in refused] == [(UNAVAILABLE, "5")] * len(refused)
    assert answers[-1].status == 200
    # ... and once the refused batches are posted again, every event is stored exactly once
    for answer in refused:
        again = tracker.post(answer.batch)
        assert again.status == 200, again.body
    posted = [e["message_id"] for a in [first, *answers] for e in a.batch]
    with session_scope(settings.database_url, write=False) as session:
        stored = dict(
            session.execute(select(Event.message_id, func.count()).group_by(Event.message_id)).all()
        )
    assert stored == dict.fromkeys(posted, 1)
    # ... and the import job completed after the database came back, its contacts there once
    job = _wait(
        lambda: (body := api.get(f"/api/v1/imports/{job_id}").json())["status"] == "done" and body,
        "the import job done",
        started,
    )
    assert (job["rows_read"], job["error"]) == (len(CUSTOMERS), None)
    with session_scope(settings.database_url, write=False) as session:
        emails = session.scalars(
            select(Contact.email).where(Contact.email.in_(CUSTOMERS)).order_by(Contact.email)
        ).all()
    assert emails == sorted(CUSTOMERS)
