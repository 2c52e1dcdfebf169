"""The scale-out acceptance of issue #11: two `retentio serve` processes and three
`retentio worker` processes on PostgreSQL and one Redis queue send a campaign and a journey end
to end through a real SMTP server, every letter exactly once; and a worker stopped with SIGTERM
in the middle of a send finishes its batch, exits cleanly and loses nothing.

Everything is set up as a customer would: through the HTTP API of the web processes (taking
turns), with an API token. The SMTP server is aiosmtpd in this process; it records each letter's
recipient, subject and Message-ID (the outbox row's `provider_message_id`).

PostgreSQL only: SQLite has a single writer, so many processes are not a set-up it supports.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from retentio.auth.models import Role
from retentio.auth.service import create_token, create_user
from retentio.db import is_sqlite, session_scope
from retentio.journeys.models import Enrollment, EnrollmentState
from retentio.messaging.models import Message, MessageState
from retentio.settings import Settings
from tests.processes import Processes, free_port, processes, redis_server

pytestmark = pytest.mark.skipif(
    is_sqlite(os.environ.get("RETENTIO_TEST_DATABASE_URL") or "sqlite://"),
    reason="many web and worker processes need PostgreSQL (SQLite has a single writer)",
)

# aiosmtpd takes some 600 letters a second: 1,500 contacts and 750 carts keep the run short.
CONTACTS = 1_500
CAMPAIGN_SUBJECT = "Весенняя распродажа"
JOURNEY_SUBJECT = "Корзина ждёт вас"
# The outbox sender's batch (messaging.tasks.BATCH): the graceful test counts in whole batches.
BATCH = 500
# The account's pace in the graceful test: a batch takes over three seconds, ample time to
# signal the worker while one is in flight.
SLOW_RATE = 150.0
# What docs/operations/scale-out.md asks deployments to give a worker to stop.
STOP_TIMEOUT = 60.0
UNFINISHED = {MessageState.QUEUED, MessageState.SENDING}
# A run that stops making progress must fail the test, not hang it.
PATIENCE = 240.0


@dataclass
class Sink:
    """An SMTP server's handler that keeps every letter: (recipients, raw bytes)."""

    letters: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - the name aiosmtpd calls
        self.letters.append((list(envelope.rcpt_tos), envelope.original_content or b""))
        return "250 Message accepted"

    def received(self) -> list[tuple[str, str, str]]:
        """(recipient, subject, Message-ID) of each letter, in arrival order."""
        parser = BytesHeaderParser(policy=policy.default)
        found = []
        for recipients, content in list(self.letters):
            headers = parser.parsebytes(content)
            for recipient in recipients:
                found.append((recipient, str(headers["Subject"]), str(headers["Message-ID"])))
        return found


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


@pytest.fixture
def running(settings: Settings, redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    with processes(settings, redis_url, tmp_path) as started:
        yield started


class Api:
    """API clients of the web processes, each call going to the next one in turn."""

    def __init__(self, urls: list[str], token: str, running: Processes) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self.clients = [httpx.Client(base_url=url, headers=headers, timeout=60) for url in urls]
        self.turns = itertools.cycle(self.clients)
        self.running = running

    def call(self, method: str, path: str, status: int = 200, **options: Any) -> Any:
        response = next(self.turns).request(method, f"/api/v1{path}", **options)
        assert response.status_code == status, f"{response.text}\n{self.running.logs()}"
        return response.json() if response.content else None

    def close(self) -> None:
        for client in self.clients:
            client.close()


def _token(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        user = create_user(
            session, email="ops@example.com", name="Ops", role=Role.ADMIN, password="x" * 12
        )
        return create_token(session, user, name="scale-out test")[1]


def _addresses() -> list[str]:
    return [f"client{n}@example.org" for n in range(CONTACTS)]


def _wait(condition: Callable[[], bool], what: str, running: Processes) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {PATIENCE} s\n{running.logs()}"
        time.sleep(0.05)


def _import(api: Api, entity: str, mapping: str, lines: list[str]) -> None:
    """An import job uploaded, run by the workers, and done with every row accepted."""
    job = api.call(
        "POST",
        "/imports",
        201,
        data={"entity": entity, "mapping": mapping},
        files={"file": (f"{entity}.csv", "\n".join(lines).encode(), "text/csv")},
    )
    api.call("POST", f"/imports/{job['id']}/run", 202)
    done: dict[str, Any] = {}

    def finished() -> bool:
        done.update(api.call("GET", f"/imports/{job['id']}"))
        return done["status"] in {"done", "failed"}

    _wait(finished, f"the {entity} import", api.running)
    assert (done["status"], done["rows_read"], done["rejected"]) == ("done", CONTACTS, 0)


def _audience(api: Api, smtp_port: int, *, rate: float = 0.0) -> tuple[int, int]:
    """The SMTP account and a static segment of every contact, each with marketing e-mail
    consent; returns (account id, segment id)."""
    account = api.call(
        "POST",
        "/messaging/accounts",
        201,
        json={
            "name": "Relay",
            "kind": "smtp",
            "from_address": "news@shop.example",
            "from_name": "Чайная лавка",
            "settings": {"host": "127.0.0.1", "port": smtp_port, "tls": "none"},
            "rate_per_second": rate,
        },
    )
    addresses = _addresses()
    contacts = ["email,first_name"] + [f"{a},Client {n}" for n, a in enumerate(addresses)]
    _import(api, "contacts", '{"email": "email", "first_name": "first_name"}', contacts)
    consents = ["email,channel,purpose,granted"] + [f"{a},email,marketing,yes" for a in addresses]
    mapping = '{"email": "email", "channel": "channel", "purpose": "purpose", "granted": "granted"}'
    _import(api, "consents", mapping, consents)
    segment = api.call("POST", "/segments", 201, json={"name": "Everyone", "kind": "static"})
    listed = api.call("POST", f"/segments/{segment['id']}/list", json={"values": addresses})
    assert (listed["matched"], listed["added"], listed["unmatched"]) == (CONTACTS, CONTACTS, [])
    return account["id"], segment["id"]


def _send_campaign(api: Api, account_id: int, segment_id: int) -> int:
    """A campaign to the segment, no holdout, sent now; returns its id."""
    body = {
        "name": "Spring sale",
        "account_id": account_id,
        "segment_id": segment_id,
        "holdout_share": 0,
        "variants": [
            {
                "label": "A",
                "content": {
                    "subject": CAMPAIGN_SUBJECT,
                    "html": '<p>Весна! <a href="https://shop.example/sale">Смотреть</a></p>',
                    "text": "Весна!",
                },
            }
        ],
    }
    campaign_id: int = api.call("POST", "/campaigns", 201, json=body)["id"]
    api.call("POST", f"/campaigns/{campaign_id}/schedule", json={})
    return campaign_id


def _states(db: DbSession) -> dict[tuple[str, MessageState], int]:
    rows = db.execute(
        select(Message.source_kind, Message.state, func.count()).group_by(
            Message.source_kind, Message.state
        )
    )
    return {(kind, state): n for kind, state, n in rows.all()}


def test_two_web_processes_and_three_workers_send_a_campaign_and_a_journey_once_each(
    settings: Settings, db: DbSession, smtp: tuple[Sink, int], running: Processes
) -> None:
    # given two web processes and three workers sharing the database and the queue
    sink, smtp_port = smtp
    urls = [running.web(f"web-{n}", free_port()) for n in range(2)]
    for n in range(3):
        running.worker(f"worker-{n}")
    api = Api(urls, _token(settings), running)
    # and, through their API, 1,500 contacts with consent in a segment
    account_id, segment_id = _audience(api, smtp_port)
    # and an active journey that writes to whoever adds to a cart
    journey = {
        "name": "Abandoned cart",
        "trigger": {"kind": "event", "event_type": "cart_add"},
        "steps": [
            {
                "key": "reminder",
                "kind": "send",
                "account_id": account_id,
                "subject": JOURNEY_SUBJECT,
                "html": "<p>{{ trigger.name }} ждёт вас в корзине.</p>",
                "text": "{{ trigger.name }} ждёт вас в корзине.",
            }
        ],
    }
    journey_id = api.call("POST", "/journeys", 201, json=journey)["id"]
    api.call("POST", f"/journeys/{journey_id}/activate")

    # when a campaign to the segment is sent now
    campaign_id = _send_campaign(api, account_id, segment_id)
    # and every other contact adds to a cart, the events posted in batches to both processes
    carts = _addresses()[::2]
    for start in range(0, len(carts), 125):
        events = [
            {
                "message_id": f"cart-{address}",
                "type": "cart_add",
                "email": address,
                "properties": {"name": "Да Хун Пао"},
            }
            for address in carts[start : start + 125]
        ]
        ingested = api.call("POST", "/events/batch", json={"events": events})
        assert ingested == {"accepted": len(events), "duplicates": 0}

    # then every letter arrives and nothing is left to send
    expected = CONTACTS + len(carts)

    def finished() -> bool:
        states = _states(db)
        return (
            len(sink.letters) >= expected
            and sum(states.values()) == expected
            and not any(state in UNFINISHED for _kind, state in states)
        )

    _wait(finished, "every letter", running)
    # and each contact got exactly one campaign letter, each cart exactly one reminder
    received = sink.received()
    letters = Counter((recipient, subject) for recipient, subject, _id in received)
    assert letters == Counter(
        [(address, CAMPAIGN_SUBJECT) for address in _addresses()]
        + [(address, JOURNEY_SUBJECT) for address in carts]
    )
    # and every outbox row went out once: sent, and its Message-ID received exactly once
    assert _states(db) == {
        ("campaign", MessageState.SENT): CONTACTS,
        ("journey", MessageState.SENT): len(carts),
    }
    message_ids = Counter(message_id for _r, _s, message_id in received)
    outbox_ids = db.scalars(select(Message.provider_message_id)).all()
    assert message_ids == Counter(outbox_ids)
    # and the campaign's report and the journey's figures, read through the API, agree
    total = api.call("GET", f"/campaigns/{campaign_id}/report")["total"]
    assert {k: total[k] for k in ("recipients", "sent", "queued", "failed", "unknown")} == {
        "recipients": CONTACTS,
        "sent": CONTACTS,
        "queued": 0,
        "failed": 0,
        "unknown": 0,
    }
    assert total["skipped"] == 0
    stats = api.call("GET", f"/journeys/{journey_id}/stats")
    assert (stats["enrolled"], stats["completed"], stats["active"]) == (len(carts), len(carts), 0)
    enrollments = db.execute(select(Enrollment.state, func.count()).group_by(Enrollment.state))
    assert dict(enrollments.all()) == {EnrollmentState.COMPLETED: len(carts)}
    api.close()


def test_a_worker_stopped_mid_send_finishes_its_batch_exits_cleanly_and_loses_nothing(
    settings: Settings, db: DbSession, smtp: tuple[Sink, int], running: Processes
) -> None:
    # given two web processes, a worker with one thread (one send at a time), and an account
    # paced so that a batch takes seconds
    sink, smtp_port = smtp
    urls = [running.web(f"web-{n}", free_port()) for n in range(2)]
    first = running.worker("worker-0", threads=1)
    api = Api(urls, _token(settings), running)
    account_id, segment_id = _audience(api, smtp_port, rate=SLOW_RATE)
    # and a campaign to 1,500 contacts (three batches) being sent by that worker
    _send_campaign(api, account_id, segment_id)

    def second_batch_in_flight() -> bool:
        states = _states(db)
        return (
            states.get(("campaign", MessageState.SENT), 0) > 0
            and states.get(("campaign", MessageState.SENDING), 0) > 0
        )

    _wait(second_batch_in_flight, "the second batch", running)

    # when the worker gets SIGTERM, as systemd, Docker or Kubernetes stop it
    first.send_signal(signal.SIGTERM)

    # then it finishes the batch in hand, takes no other, and exits with 0 in time
    assert first.wait(timeout=STOP_TIMEOUT) == 0, running.logs()
    assert _states(db) == {
        ("campaign", MessageState.SENT): 2 * BATCH,
        ("campaign", MessageState.QUEUED): CONTACTS - 2 * BATCH,
    }
    # and when two other workers start (only now, so what was in flight above was its own),
    # they send the rest
    for n in (1, 2):
        running.worker(f"worker-{n}")
    _wait(
        lambda: _states(db) == {("campaign", MessageState.SENT): CONTACTS},
        "the rest of the campaign",
        running,
    )
    # and every contact got exactly one letter: none lost, none doubled
    letters = Counter(recipient for recipient, _subject, _id in sink.received())
    assert letters == Counter(_addresses())
    api.close()
