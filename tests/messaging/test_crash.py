"""The issue's crash acceptance: a campaign to 10,000 contacts whose sender process is killed
(SIGKILL) at random moments three times, then resumed. Every contact gets at most one message,
and sent + unknown + skipped = audience.

The campaign is created and started through the campaigns service (a static segment, no
holdout), which queues the outbox; the sender runs as a child process (`crash_sender`) against
the test database and a real SMTP server in this process; kills are seeded, each once the
inbox has grown by a random amount, so they land mid-batch. The resume runs past the lease, so
what the dead senders left `sending` becomes `unknown` and is never sent.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from retentio.campaigns import service as campaigns
from retentio.campaigns.schemas import CampaignIn, ContentIn, VariantIn
from retentio.consent.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    Purpose,
    Suppression,
    SuppressionReason,
)
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.messaging.models import Message, MessageState, SkipReason
from retentio.messaging.sending import SENDING_LEASE
from retentio.segments import service as segments
from retentio.segments.models import SegmentKind
from retentio.settings import Settings
from tests.messaging.conftest import Inbox, World

AUDIENCE = 10_000
# Small batches, so a kill finds a batch half sent more often than a gap between batches.
BATCH = 25
KILLS = 3
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
# A runaway child must fail the test, not hang it.
PATIENCE = 120.0


def queue_audience(url: str, n: int, *, account_id: int) -> list[int]:
    """`n` contacts in a static segment and a campaign to it, started: one marketing message
    each in the outbox. Every tenth contact never gave consent and every tenth other one's
    address is suppressed (a hard bounce or a complaint), so a fifth of the audience is
    skipped. Contacts are written in bulk: seconds, not minutes."""
    with session_scope(url) as session:
        ids = list(
            session.scalars(
                insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                [
                    {"first_name": f"P{i}", "email": _address(i), "created_at": NOW}
                    for i in range(n)
                ],
            )
        )
        consenting = [c for i, c in enumerate(ids) if i % 10 != 0]
        consent = {"channel": Channel.EMAIL, "purpose": Purpose.MARKETING, "granted": True}
        events = session.scalars(
            insert(ConsentEvent).returning(ConsentEvent.id, sort_by_parameter_order=True),
            [
                {**consent, "contact_id": c, "source": "test", "occurred_at": NOW}
                for c in consenting
            ],
        )
        session.execute(
            insert(ConsentState),
            [
                {**consent, "contact_id": c, "event_id": e, "updated_at": NOW}
                for c, e in zip(consenting, events, strict=True)
            ],
        )
        reasons = (SuppressionReason.HARD_BOUNCE, SuppressionReason.COMPLAINT)
        session.execute(
            insert(Suppression),
            [
                {"channel": Channel.EMAIL, "address": _address(i), "reason": reasons[i % 2]}
                for i in range(5, n, 10)
            ],
        )
        segment = segments.create_segment(session, name="Все", kind=SegmentKind.STATIC)
        segments.add_contacts(session, segment.id, ids, now=NOW)
        content = ContentIn(
            subject="Скидка", html="<p>{{ contact.first_name }}</p>", text="{{ links.unsubscribe }}"
        )
        campaign = campaigns.create_campaign(
            session,
            CampaignIn(
                name="Весна",
                account_id=account_id,
                segment_id=segment.id,
                holdout_share=0.0,
                variants=[VariantIn(label="A", content=content)],
            ),
            user=None,
        )
        campaigns.schedule(session, campaign.id, at=None, now=NOW)
        assert campaigns.start(session, campaign.id, now=NOW)
    return ids


def _address(i: int) -> str:
    return f"c{i:05}@example.org"


class Senders:
    """Starts sender processes; whatever still runs when the test ends is killed with it."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings, self.log = settings, log
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, now: datetime) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "tests.messaging.crash_sender",
            self.settings.database_url,
            self.settings.resolved_secret_key(),
            now.isoformat(),
            str(BATCH),
        ]
        with self.log.open("ab") as output:
            child = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=output)
        self.started.append(child)
        return child


@pytest.fixture
def senders(settings: Settings, tmp_path: Path) -> Iterator[Senders]:
    started = Senders(settings, tmp_path / "sender.log")
    try:
        yield started
    finally:
        for child in started.started:
            if child.poll() is None:
                child.kill()
                child.wait()


def _kill_once_grown(child: subprocess.Popen[bytes], inbox: Inbox, by: int, log: Path) -> None:
    target = len(inbox.messages) + by
    deadline = time.monotonic() + PATIENCE
    while len(inbox.messages) < target:
        assert child.poll() is None, f"the sender ended before its kill: {log.read_text()}"
        assert time.monotonic() < deadline, f"the sender stalled: {log.read_text()}"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=PATIENCE) == -signal.SIGKILL


def _states(db: Session) -> dict[MessageState, int]:
    rows = db.execute(select(Message.state, func.count()).group_by(Message.state))
    return {MessageState(state): int(count) for state, count in rows}


# The pipelined SMTP path only: the other is no different at a crash, and this test is long.
@pytest.mark.parametrize("inbox", [True], ids=["pipelining"], indirect=True)
def test_a_sender_killed_three_times_then_resumed_never_sends_twice(
    settings: Settings, db: Session, inbox: tuple[Inbox, int], senders: Senders
) -> None:
    # given a campaign to 10,000 contacts, 2,000 of whom may not be sent to
    server, port = inbox
    world = World(settings.database_url)
    account_id = world.smtp_account(port)
    audience = queue_audience(settings.database_url, AUDIENCE, account_id=account_id)
    log = senders.log
    rng = random.Random(7)
    # when the sender is killed three times, each after a random number of messages arrived
    for _ in range(KILLS):
        _kill_once_grown(senders.start(NOW), server, rng.randint(300, 1800), log)
    # then what the dead senders had claimed stays `sending`, at most a batch each
    left_sending = _states(db).get(MessageState.SENDING, 0)
    assert 0 < left_sending <= KILLS * BATCH
    # when a sender resumes once their lease is over, and runs to the end
    resume = senders.start(NOW + SENDING_LEASE + timedelta(minutes=1))
    assert resume.wait(timeout=PATIENCE) == 0, log.read_text()
    # then every message ended sent, unknown (exactly the ones left sending) or skipped
    states = _states(db)
    assert states == {
        MessageState.SENT: AUDIENCE - 2_000 - left_sending,
        MessageState.UNKNOWN: left_sending,
        MessageState.SKIPPED: 2_000,
    }
    reasons = db.execute(
        select(Message.skip_reason, func.count())
        .where(Message.state == MessageState.SKIPPED)
        .group_by(Message.skip_reason)
    )
    assert dict(reasons.all()) == {
        SkipReason.NO_CONSENT: 1_000,
        SkipReason.SUPPRESSED: 1_000,
    }
    assert sorted(db.scalars(select(Message.contact_id))) == sorted(audience)
    # and nobody received two messages; what arrived is what was sent, plus some unknown
    received = Counter(
        recipient for _, recipients, _ in server.messages for recipient in recipients
    )
    assert received.most_common(1)[0][1] == 1
    addresses = dict(
        db.execute(select(Message.address, Message.state).where(Message.address.is_not(None))).all()
    )
    sent = {a for a, state in addresses.items() if state == MessageState.SENT}
    assert sent <= received.keys()
    assert {addresses.get(a) for a in received} <= {MessageState.SENT, MessageState.UNKNOWN}
