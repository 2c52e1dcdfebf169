"""The outbox key: enqueueing the same (source, step, contact, occurrence) twice is one row."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.consent.models import Purpose
from retentio.db import session_scope
from retentio.messaging import service
from retentio.messaging.models import Message, MessageState
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.settings import Settings
from tests.messaging.conftest import World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_enqueue_twice_is_one_row_and_returns_the_existing_one(
    settings: Settings, db: Session, world: World
) -> None:
    # given
    contact_id, account_id, content_id = world.contact(), world.smtp_account(25), world.content()
    new = NewMessage(
        OutboxKey("journey", 3, "welcome-1", contact_id), account_id, content_id, Purpose.MARKETING
    )
    # when
    with session_scope(settings.database_url) as session:
        first, first_created = service.enqueue(session, new, now=NOW)
    with session_scope(settings.database_url) as session:
        again, again_created = service.enqueue(session, new, now=NOW)
    # then
    assert (first_created, again_created) == (True, False)
    assert again.id == first.id
    assert db.scalar(select(func.count()).select_from(Message)) == 1
    assert (first.state, first.attempts, first.next_attempt_at) == (MessageState.QUEUED, 0, NOW)


def test_another_occurrence_is_another_message(
    settings: Settings, db: Session, world: World
) -> None:
    contact_id, account_id, content_id = world.contact(), world.smtp_account(25), world.content()
    with session_scope(settings.database_url) as session:
        for occurrence in ("2026-03-01", "2026-03-08", "2026-03-01"):
            key = OutboxKey("journey", 3, "replenish", contact_id, occurrence)
            service.enqueue(
                session, NewMessage(key, account_id, content_id, Purpose.MARKETING), now=NOW
            )
    occurrences = db.scalars(select(Message.occurrence).order_by(Message.occurrence)).all()
    assert occurrences == ["2026-03-01", "2026-03-08"]


def test_enqueue_many_ignores_keys_already_present(
    settings: Settings, db: Session, world: World
) -> None:
    ids = [world.contact(email=f"p{n}@example.org") for n in range(3)]
    account_id, content_id = world.smtp_account(25), world.content()

    def batch(contacts: list[int]) -> list[NewMessage]:
        return [
            NewMessage(
                OutboxKey("campaign", 9, "", c),
                account_id,
                content_id,
                Purpose.MARKETING,
                variables={"n": c},
            )
            for c in contacts
        ]

    with session_scope(settings.database_url) as session:
        service.enqueue_many(session, batch(ids[:2]), now=NOW)
    with session_scope(settings.database_url) as session:
        service.enqueue_many(session, batch(ids), now=NOW)
    rows = db.execute(
        select(Message.contact_id, Message.variables).order_by(Message.contact_id)
    ).all()
    assert [tuple(r) for r in rows] == [(c, {"n": c}) for c in ids]
