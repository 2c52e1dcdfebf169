"""The journeys' distributed acceptance (issue #8): three `retentio worker` processes sharing a
Redis queue advance 50,000 enrollments on PostgreSQL while one of them is SIGKILLed mid-batch.
No step runs twice, none is lost, no message is written twice.

PostgreSQL only: SQLite has a single writer, so "many workers" is not a set-up it supports.
Redis and the workers come from `tests.processes`: RETENTIO_TEST_REDIS_URL when set, else a
private `redis-server` (Debian's, which `scripts/system-deps.sh` installs) started on a free
port for this test: a fresh queue with nothing of anyone else's in it. A missing Redis fails
the test, it does not skip it.

The journey is send → condition (both branches lead on) → send, no waits, so each enrollment
runs exactly three steps and writes two outbox rows. Contacts gave no consent: the workers'
`send_outbox` skips the messages without rendering them, and nothing leaves the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from huey import RedisHuey
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from retentio.consent.models import Channel
from retentio.contacts.models import Contact
from retentio.db import is_sqlite, session_scope, utcnow
from retentio.journeys import service
from retentio.journeys.models import Enrollment, EnrollmentState, Group, StepRun
from retentio.journeys.schemas import JourneyIn
from retentio.journeys.tasks import advance_journeys
from retentio.messaging import service as messaging
from retentio.messaging.models import AccountKind, Message
from retentio.settings import Settings
from retentio.worker import huey
from tests.processes import Processes, redis_server

ENROLLMENTS = 50_000
WORKERS = 3
# Killed once this many enrollments are done: well into the run, far from its end.
KILL_AFTER = 10_000
# A runaway run must fail the test, not hang it.
PATIENCE = 240.0

pytestmark = pytest.mark.skipif(
    is_sqlite(os.environ.get("RETENTIO_TEST_DATABASE_URL") or "sqlite://"),
    reason="many worker processes need PostgreSQL (SQLite has a single writer)",
)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


class Workers(Processes):
    """`retentio worker` processes (tests.processes) plus the queue they share, into which
    the test puts runs of the journeys' task itself."""

    def __init__(self, settings: Settings, redis_url: str, folder: Path) -> None:
        super().__init__(settings, redis_url, folder)
        self.queue = RedisHuey("retentio", url=redis_url)

    def launch(self) -> subprocess.Popen[bytes]:
        # Its connections carry this name (libpq's application name): `_in_a_batch` finds them.
        return self.worker(f"journey-worker-{len(self.started)}")

    def enqueue(self, n: int) -> None:
        """`n` runs of the journeys' task, as the periodic schedule or an event enqueues it."""
        for _ in range(n):
            self.queue.storage.enqueue(huey.serialize_task(advance_journeys.s()))


@pytest.fixture
def workers(settings: Settings, redis_url: str, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(settings, redis_url, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


def _enroll_everyone(url: str, n: int, outbox: Path) -> int:
    """A live journey and `n` contacts enrolled in it, all due now; written in bulk. Returns
    the journey's id."""
    now = utcnow()
    with session_scope(url) as session:
        account = messaging.create_account(
            session,
            name="sink",
            kind=AccountKind.FILE,
            channel=Channel.EMAIL,
            from_address="news@shop.example",
            settings={"directory": str(outbox)},
        )

        def send(key: str, next_: str | None) -> dict[str, Any]:
            return {
                "key": key,
                "kind": "send",
                "account_id": account.id,
                "subject": f"Письмо {key}",
                "text": "Здравствуйте",
                "next": next_,
            }

        rule = {"field": "contact.city", "op": "eq", "value": "Москва"}
        steps = [
            send("first", "check"),
            {"key": "check", "kind": "condition", "rule": rule, "yes": "second", "no": "second"},
            send("second", None),
        ]
        data = JourneyIn(name="Три шага", trigger={"kind": "api"}, steps=steps)
        journey = service.create_journey(session, data, user=None, now=now)
        service.activate(session, journey.id, now=now)
        contacts = session.scalars(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
            [
                {"first_name": f"P{i}", "email": f"d{i}@example.org", "city": "Москва"}
                for i in range(n)
            ],
        ).all()
        due = now - timedelta(minutes=1)
        session.execute(
            insert(Enrollment),
            [
                {
                    "journey_id": journey.id,
                    "version_id": journey.version_id,
                    "contact_id": contact_id,
                    "occurrence": "api:1",
                    "group": Group.TREATED,
                    "state": EnrollmentState.ACTIVE,
                    "step": "first",
                    "step_entered_at": due,
                    "next_run_at": due,
                    "steps_done": 0,
                    "data": {},
                    "entered_at": due,
                }
                for contact_id in contacts
            ],
        )
        return journey.id


def _done(db: Session) -> int:
    return int(
        db.scalar(select(func.count()).where(Enrollment.state == EnrollmentState.COMPLETED)) or 0
    )


def _wait_until(condition: Any, workers: Workers, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {PATIENCE} s\n{workers.logs()}"
        time.sleep(0.02)


def _in_a_batch(db: Session, number: int) -> bool:
    """The worker has a transaction open (a batch claimed, not yet committed)."""
    found = db.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
            "AND xact_start IS NOT NULL AND state <> 'idle'"
        ),
        {"name": f"journey-worker-{number}"},
    )
    return bool(found)


def test_three_workers_one_killed_mid_batch_run_every_step_exactly_once(
    settings: Settings, db: Session, workers: Workers, tmp_path: Path
) -> None:
    # given 50,000 contacts enrolled in a three-step journey, all due now
    journey_id = _enroll_everyone(settings.database_url, ENROLLMENTS, tmp_path / "outbox")
    # when three worker processes share the queue, which holds one run per worker thread
    processes = [workers.launch() for _ in range(WORKERS)]
    workers.enqueue(2 * WORKERS)
    # and the first is SIGKILLed inside a batch once a fifth of the enrollments are done
    _wait_until(lambda: _done(db) >= KILL_AFTER, workers, "the first enrollments")
    _wait_until(lambda: _in_a_batch(db, 0), workers, "worker 0 inside a batch")
    processes[0].send_signal(signal.SIGKILL)
    assert processes[0].wait(timeout=PATIENCE) == -signal.SIGKILL
    done_at_kill = _done(db)
    # and the runs it had taken are enqueued again until the others are through
    deadline = time.monotonic() + PATIENCE
    while _done(db) < ENROLLMENTS:
        assert time.monotonic() < deadline, f"stalled at {_done(db):,}\n{workers.logs()}"
        if workers.queue.pending_count() == 0:
            workers.enqueue(2)
        time.sleep(0.5)
    # then it was killed mid-way, and the survivors finished every enrollment
    assert KILL_AFTER <= done_at_kill < ENROLLMENTS
    assert all(p.poll() is None for p in processes[1:]), workers.logs()
    states = db.execute(select(Enrollment.state, func.count()).group_by(Enrollment.state))
    assert dict(states.all()) == {EnrollmentState.COMPLETED: ENROLLMENTS}
    # and every enrollment ran each of its three steps exactly once, in order
    runs = db.execute(
        select(StepRun.seq, StepRun.step, func.count()).group_by(StepRun.seq, StepRun.step)
    )
    assert sorted(runs.all()) == [
        (0, "first", ENROLLMENTS),
        (1, "check", ENROLLMENTS),
        (2, "second", ENROLLMENTS),
    ]
    pairs = select(StepRun.enrollment_id, StepRun.step).distinct().subquery()
    assert db.scalar(select(func.count()).select_from(pairs)) == 3 * ENROLLMENTS
    # and wrote two messages to each contact, none twice
    messages = db.execute(
        select(Message.step, func.count(), func.count(Message.contact_id.distinct()))
        .where(Message.source_kind == "journey", Message.source_id == journey_id)
        .group_by(Message.step)
    )
    assert sorted(messages.all()) == [
        ("first", ENROLLMENTS, ENROLLMENTS),
        ("second", ENROLLMENTS, ENROLLMENTS),
    ]
