"""Bounce and complaint rules: a hard bounce suppresses at once, soft bounces only at the third
in a row within 30 days (a delivery, an open or a click in between starts the count again), a
complaint suppresses and withdraws marketing consent; each is recorded once per message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, ConsentEvent, Purpose, Suppression, SuppressionReason
from retentio.consent.service import current_consent, is_suppressed
from retentio.db import session_scope
from retentio.errors import NotFound
from retentio.messaging import bounces, queries, service
from retentio.messaging.models import EventKind, MessageState
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.settings import Settings
from tests.messaging.conftest import World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
ADDRESS = "anna@example.org"


class Sent:
    """Messages as the sender leaves them after handing them over to the server."""

    def __init__(self, settings: Settings, world: World) -> None:
        self.url = settings.database_url
        self.account_id, self.content_id = world.smtp_account(2525), world.content()

    def __call__(self, contact_id: int, step: str, at: datetime) -> int:
        with session_scope(self.url) as session:
            key = OutboxKey("campaign", 1, step, contact_id)
            new = NewMessage(key, self.account_id, self.content_id, Purpose.MARKETING)
            message, _ = service.enqueue(session, new, now=at)
            message.state, message.address = MessageState.SENT, ADDRESS
            message.claimed_at = message.sent_at = at
            return message.id


@pytest.fixture
def sent(settings: Settings, world: World) -> Sent:
    return Sent(settings, world)


def _soft(settings: Settings, message_id: int, at: datetime) -> bool:
    with session_scope(settings.database_url) as session:
        return bounces.record_bounce(session, message_id, hard=False, detail="452 full", now=at)


def _suppressed(db: Session) -> bool:
    return is_suppressed(db, Channel.EMAIL, ADDRESS)


def test_the_third_soft_bounce_in_a_row_suppresses_the_address(
    settings: Settings, db: Session, world: World, sent: Sent
) -> None:
    # given
    contact_id = world.contact(email=ADDRESS)
    ids = [sent(contact_id, f"s{n}", NOW + timedelta(days=n)) for n in range(3)]
    # when two soft bounces: still sendable
    _soft(settings, ids[0], NOW + timedelta(days=0, hours=1))
    _soft(settings, ids[1], NOW + timedelta(days=1, hours=1))
    assert _suppressed(db) is False
    # and the third
    _soft(settings, ids[2], NOW + timedelta(days=2, hours=1))
    # then
    reasons = db.execute(select(Suppression.address, Suppression.reason)).all()
    assert [tuple(r) for r in reasons] == [(ADDRESS, SuppressionReason.HARD_BOUNCE)]


@pytest.mark.parametrize("evidence", [EventKind.DELIVERED, EventKind.OPEN])
def test_a_sign_of_delivery_between_soft_bounces_starts_the_count_again(
    settings: Settings, db: Session, world: World, sent: Sent, evidence: EventKind
) -> None:
    contact_id = world.contact(email=ADDRESS)
    ids = [sent(contact_id, f"s{n}", NOW + timedelta(days=n)) for n in range(4)]
    _soft(settings, ids[0], NOW + timedelta(hours=1))
    _soft(settings, ids[1], NOW + timedelta(days=1, hours=1))
    with session_scope(settings.database_url) as session:
        if evidence == EventKind.DELIVERED:
            bounces.record_delivery(session, ids[2], now=NOW + timedelta(days=2, hours=1))
        else:
            service.record_open(session, ids[2], now=NOW + timedelta(days=2, hours=1))
    _soft(settings, ids[3], NOW + timedelta(days=3, hours=1))
    assert _suppressed(db) is False


def test_soft_bounces_older_than_the_window_do_not_count(
    settings: Settings, db: Session, world: World, sent: Sent
) -> None:
    contact_id = world.contact(email=ADDRESS)
    days = (0, 20, 31)  # the first is 31 days before the last
    ids = [sent(contact_id, f"s{d}", NOW + timedelta(days=d)) for d in days]
    for message_id, day in zip(ids, days, strict=True):
        _soft(settings, message_id, NOW + timedelta(days=day, hours=1))
    assert _suppressed(db) is False


def test_a_report_repeated_is_recorded_once(
    settings: Settings, db: Session, world: World, sent: Sent
) -> None:
    message_id = sent(world.contact(email=ADDRESS), "s", NOW)
    # The same soft bounce three times is one soft bounce, not the threshold.
    assert [_soft(settings, message_id, NOW) for _ in range(3)] == [True, False, False]
    assert _suppressed(db) is False
    with session_scope(settings.database_url) as session:
        first = bounces.record_bounce(session, message_id, hard=True, detail="550", now=NOW)
        again = bounces.record_bounce(session, message_id, hard=True, detail="550", now=NOW)
    assert (first, again) == (True, False)
    assert queries.events_of(db, message_id) == [
        (EventKind.BOUNCE_SOFT, None),
        (EventKind.BOUNCE_HARD, None),
    ]
    assert _suppressed(db) is True


def test_a_complaint_suppresses_and_withdraws_marketing_consent(
    settings: Settings, db: Session, world: World, sent: Sent
) -> None:
    # given a contact who had granted e-mail marketing
    contact_id = world.contact(email=ADDRESS, consent=True)
    message_id = sent(contact_id, "s", NOW)
    # when the complaint arrives twice
    for _ in range(2):
        with session_scope(settings.database_url) as session:
            bounces.record_complaint(session, message_id, detail="abuse report", now=NOW)
    # then
    reasons = db.execute(select(Suppression.address, Suppression.reason)).all()
    assert [tuple(r) for r in reasons] == [(ADDRESS, SuppressionReason.COMPLAINT)]
    assert current_consent(db, contact_id)[(Channel.EMAIL, Purpose.MARKETING)] is False
    sources = db.scalars(
        select(ConsentEvent.source)
        .where(ConsentEvent.contact_id == contact_id)
        .order_by(ConsentEvent.id)
    ).all()
    assert sources == ["test", "complaint"]
    assert queries.events_of(db, message_id) == [(EventKind.COMPLAINT, None)]


def test_a_bounce_of_a_message_that_does_not_exist_is_not_found(settings: Settings) -> None:
    with session_scope(settings.database_url) as session, pytest.raises(NotFound):
        bounces.record_bounce(session, 999_999, hard=True, detail=None, now=NOW)
