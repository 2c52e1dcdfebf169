"""Fault test of issue #11: an SMTP server that refuses for a while. Temporary refusals keep
the messages queued with their attempts counted and the next try scheduled; once the server
accepts, each is delivered exactly once. A permanent refusal of the content fails the message
without retries. A connection lost after the body went out leaves the message `unknown`, never
retried (ADR 0012). The sender runs on a frozen clock, so no test waits out a retry delay.

One message refused until attempts run out is `test_sending.py`'s
`test_a_4xx_is_retried_with_backoff_until_attempts_run_out`; a refused recipient (a bounce) is
`test_a_refused_recipient_fails_bounces_and_suppresses_the_address`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from retentio.consent.models import Purpose, Suppression
from retentio.db import get_sessionmaker, session_scope
from retentio.messaging import service
from retentio.messaging.models import Message, MessageState
from retentio.messaging.sending import RETRY_DELAYS, Sender, SendReport
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Links
from retentio.settings import Settings
from tests.messaging.conftest import Inbox, World, serving_inbox
from tests.messaging.crash_sender import NO_LIMITS

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
ADDRESSES = ("a@example.org", "b@example.org", "c@example.org")


@dataclass
class Refusing(Inbox):
    """An inbox that answers `refusal` at `stage` ("rcpt" or "data") while it is set, and drops
    the connection instead of answering the `drop_after`-th message it took."""

    refusal: str | None = None
    stage: str = "rcpt"
    drop_after: int | None = None

    async def handle_RCPT(  # noqa: N802 - the names aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refusal and self.stage == "rcpt":
            return self.refusal
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - the names aiosmtpd calls
        if self.refusal and self.stage == "data":
            return self.refusal
        reply = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == self.drop_after and server.transport is not None:
            server.transport.abort()  # the message is taken; its answer never leaves
        return reply


@pytest.fixture(params=[True, False], ids=["pipelining", "no-pipelining"])
def refusing(request: pytest.FixtureRequest) -> Iterator[tuple[Refusing, int]]:
    with serving_inbox(Refusing(pipelining=request.param)) as served:
        yield served


def _queue(settings: Settings, world: World, port: int) -> list[int]:
    account_id, content_id = world.smtp_account(port), world.content()
    contact_ids = [world.contact(email=address) for address in ADDRESSES]
    with session_scope(settings.database_url) as session:
        return [
            service.enqueue(
                session,
                NewMessage(
                    OutboxKey("campaign", 1, "main", contact_id),
                    account_id,
                    content_id,
                    Purpose.MARKETING,
                ),
                now=NOW,
            )[0].id
            for contact_id in contact_ids
        ]


def _send(settings: Settings, sender: Sender, now: datetime) -> SendReport:
    with get_sessionmaker(settings.database_url)() as session:
        return sender.send_due(session, now=now)


def _rows(db: DbSession) -> dict[str, tuple[MessageState, int, datetime | None]]:
    db.expire_all()
    rows = db.scalars(select(Message)).all()
    return {
        str(m.address): (m.state, m.attempts, m.next_attempt_at)
        for m in rows
        if m.address is not None
    }


def _received(server: Inbox) -> Counter[str]:
    return Counter(
        recipient for _from, recipients, _data in server.messages for recipient in recipients
    )


@pytest.mark.parametrize(
    ("stage", "refusal"),
    [("rcpt", "421 4.3.2 Service not available"), ("data", "451 4.7.1 Greylisted, try later")],
)
def test_a_server_refusing_for_a_while_gets_each_message_once_when_it_accepts(
    settings: Settings,
    db: DbSession,
    world: World,
    links: Links,
    refusing: tuple[Refusing, int],
    stage: str,
    refusal: str,
) -> None:
    # given three queued messages and a server that refuses them for now
    server, port = refusing
    server.refusal, server.stage = refusal, stage
    _queue(settings, world, port)
    sender = Sender(links=links, policy=NO_LIMITS)
    try:
        # when the sender tries twice while it refuses
        first = _send(settings, sender, NOW)
        early = _send(settings, sender, NOW + RETRY_DELAYS[0] - timedelta(seconds=1))
        second = _send(settings, sender, NOW + RETRY_DELAYS[0])
        # then the messages wait, their attempts counted and their next try set
        assert (first.claimed, first.retrying, first.sent) == (3, 3, 0)
        assert early.claimed == 0
        assert (second.claimed, second.retrying, second.sent) == (3, 3, 0)
        retry_at = NOW + RETRY_DELAYS[0] + RETRY_DELAYS[1]
        assert _rows(db) == dict.fromkeys(ADDRESSES, (MessageState.QUEUED, 2, retry_at))
        assert server.messages == []
        # when the server accepts again and the next tries fall due
        server.refusal = None
        third = _send(settings, sender, retry_at)
        later = _send(settings, sender, retry_at + timedelta(days=1))
    finally:
        sender.close()
    # then each message is delivered exactly once, and sent
    assert (third.claimed, third.sent, later.claimed) == (3, 3, 0)
    assert _received(server) == Counter(ADDRESSES)
    assert {a: row[:2] for a, row in _rows(db).items()} == dict.fromkeys(
        ADDRESSES, (MessageState.SENT, 3)
    )


def test_a_permanent_refusal_of_the_content_fails_without_retries(
    settings: Settings, db: DbSession, world: World, links: Links, refusing: tuple[Refusing, int]
) -> None:
    # given a server that refuses the content of every message for good
    server, port = refusing
    server.refusal, server.stage = "554 5.7.1 Message rejected as spam", "data"
    _queue(settings, world, port)
    sender = Sender(links=links, policy=NO_LIMITS)
    try:
        # when the sender tries, and tries again a day later with the server accepting
        report = _send(settings, sender, NOW)
        server.refusal = None
        later = _send(settings, sender, NOW + timedelta(days=1))
    finally:
        sender.close()
    # then every message failed once and was never tried again; no address is suppressed
    assert (report.claimed, report.failed, later.claimed) == (3, 3, 0)
    assert {a: row[:2] for a, row in _rows(db).items()} == dict.fromkeys(
        ADDRESSES, (MessageState.FAILED, 1)
    )
    assert server.messages == []
    assert db.scalars(select(Suppression)).all() == []


@pytest.mark.parametrize(
    "drop_after", [1, 2], ids=["on-a-new-connection", "on-a-reused-connection"]
)
def test_a_connection_lost_before_the_answer_to_a_sent_message_never_sends_it_again(
    settings: Settings,
    db: DbSession,
    world: World,
    links: Links,
    refusing: tuple[Refusing, int],
    drop_after: int,
) -> None:
    # given a server that takes the `drop_after`-th message and drops the line before answering
    server, port = refusing
    server.drop_after = drop_after
    _queue(settings, world, port)
    sender = Sender(links=links, policy=NO_LIMITS)
    try:
        # when the sender sends the batch, and runs again whenever a retry could be due
        report = _send(settings, sender, NOW)
        later = [
            _send(settings, sender, NOW + delay) for delay in (*RETRY_DELAYS, timedelta(days=1))
        ]
    finally:
        sender.close()
    # then the dropped message is `unknown` (it may have arrived: ADR 0012), never retried,
    # and the others went out once over a new connection
    dropped = ADDRESSES[drop_after - 1]
    assert (report.claimed, report.sent, report.unknown, report.retrying) == (3, 2, 1, 0)
    assert [r.claimed for r in later] == [0] * len(later)
    assert _received(server) == Counter(ADDRESSES)
    assert {a: row[:2] for a, row in _rows(db).items()} == {
        a: (MessageState.UNKNOWN if a == dropped else MessageState.SENT, 1) for a in ADDRESSES
    }
    assert server.connections == 2
