"""Fixtures of the journeys tests: a shop whose clock the test moves, contacts and events
written through the real services, and the worker's pass run in-process at that clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from retentio.auth.models import Role
from retentio.auth.service import create_user
from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from retentio.contacts.models import Contact, ContactIdentity, IdentityKind
from retentio.contacts.service import add_tag
from retentio.db import get_sessionmaker, session_scope
from retentio.events import service as events
from retentio.events.schemas import EventIn
from retentio.fields.models import FieldEntity, FieldType
from retentio.fields.service import define_field
from retentio.journeys import service
from retentio.journeys.models import Enrollment, StepRun
from retentio.journeys.schemas import JourneyIn
from retentio.journeys.tick import TickReport, tick
from retentio.messaging import service as messaging
from retentio.messaging.models import AccountKind, Message
from retentio.profiles.models import Profile
from retentio.segments import service as segments
from retentio.segments.models import SegmentKind
from retentio.settings import Settings

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 12:00 in Moscow
_numbers = itertools.count(1)


class Shop:
    def __init__(self, url: str, outbox: Path) -> None:
        self.url = url
        self.outbox = outbox
        self.now = START
        self.sessions = get_sessionmaker(url)

    def at(self, moment: datetime) -> None:
        self.now = moment

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def contacts(self, n: int, *, consent: bool = True, **fields: Any) -> list[int]:
        with session_scope(self.url) as session:
            ids = []
            for _ in range(n):
                number = next(_numbers)
                contact = Contact(
                    first_name=f"Покупатель {number}", email=f"j{number}@example.org", **fields
                )
                session.add(contact)
                session.flush()
                session.add(
                    ContactIdentity(
                        contact_id=contact.id, kind=IdentityKind.EMAIL, value=contact.email
                    )
                )
                ids.append(contact.id)
                if consent:
                    record_consent(
                        session,
                        contact.id,
                        channel=Channel.EMAIL,
                        purpose=Purpose.MARKETING,
                        granted=True,
                        source="test",
                        occurred_at=START - timedelta(days=30),
                    )
            return ids

    def account(self) -> int:
        with session_scope(self.url) as session:
            return messaging.create_account(
                session,
                name=f"sink-{next(_numbers)}",
                kind=AccountKind.FILE,
                channel=Channel.EMAIL,
                from_address="news@shop.example",
                settings={"directory": str(self.outbox)},
            ).id

    def journey(self, trigger: dict[str, Any], steps: list[dict[str, Any]], **extra: Any) -> int:
        data = JourneyIn(name=extra.pop("name", "Тест"), trigger=trigger, steps=steps, **extra)
        with session_scope(self.url) as session:
            journey = service.create_journey(session, data, user=None, now=self.now)
            service.activate(session, journey.id, now=self.now)
            return journey.id

    def event(self, contact_id: int, event_type: str, **properties: Any) -> None:
        with session_scope(self.url) as session:
            email = session.get_one(Contact, contact_id).email
            events.ingest(
                session,
                [
                    EventIn(
                        message_id=f"m{next(_numbers)}",
                        type=event_type,
                        email=email,
                        occurred_at=self.now,
                        properties=properties,
                    )
                ],
                source_id=None,
                default_region="RU",
                now=self.now,
            )

    def order(
        self, contact_id: int, total: int = 1000, status: OrderStatus = OrderStatus.PAID
    ) -> None:
        with session_scope(self.url) as session:
            session.add(
                Order(
                    external_id=f"o{next(_numbers)}",
                    contact_id=contact_id,
                    status=status,
                    channel=OrderChannel.ONLINE,
                    total=Decimal(total),
                    placed_at=self.now,
                )
            )

    def segment(self, contact_ids: list[int]) -> int:
        with session_scope(self.url) as session:
            segment = segments.create_segment(session, name="Список", kind=SegmentKind.STATIC)
            segments.add_contacts(session, segment.id, contact_ids, now=self.now)
            return segment.id

    def add_to_segment(self, segment_id: int, contact_ids: list[int]) -> None:
        with session_scope(self.url) as session:
            segments.add_contacts(session, segment_id, contact_ids, now=self.now)

    def remove_from_segment(self, segment_id: int, contact_ids: list[int]) -> None:
        with session_scope(self.url) as session:
            segments.remove_contacts(session, segment_id, contact_ids, now=self.now)

    def profile(
        self, contact_id: int, *, last_order_days_ago: int, p_alive: float | None = None
    ) -> None:
        last = self.now - timedelta(days=last_order_days_ago)
        with session_scope(self.url) as session:
            session.add(
                Profile(
                    contact_id=contact_id,
                    first_order_at=last,
                    last_order_at=last,
                    orders=1,
                    p_alive=p_alive,
                    lifecycle_stage="active",
                    computed_at=self.now,
                )
            )

    def enroll(
        self, journey_id: int, contact_id: int, *, key: str | None = None, data: dict[str, Any]
    ) -> int | None:
        with session_scope(self.url) as session:
            found = service.enroll_contact(
                session, journey_id, contact_id, key=key, data=data, now=self.now
            )
            return found.id if found else None

    def custom_field(self, key: str, kind: str) -> None:
        with session_scope(self.url) as session:
            define_field(
                session, entity=FieldEntity.CONTACT, key=key, label=key, type=FieldType(kind)
            )

    def set_custom(self, contact_id: int, values: dict[str, Any]) -> None:
        with session_scope(self.url) as session:
            session.get_one(Contact, contact_id).custom = values

    def tag(self, contact_id: int, name: str) -> None:
        with session_scope(self.url) as session:
            add_tag(session, [contact_id], name)

    def user(self) -> int:
        with session_scope(self.url) as session:
            return create_user(
                session,
                email=f"owner{next(_numbers)}@shop.example",
                name="Менеджер",
                role=Role.SALES,
                password="a long enough password",
            ).id

    def run(self) -> TickReport:
        return tick(self.sessions, clock=lambda: self.now, seconds=30.0)

    def enrollments(self, journey_id: int) -> list[Enrollment]:
        with session_scope(self.url) as session:
            rows = session.scalars(
                select(Enrollment)
                .where(Enrollment.journey_id == journey_id)
                .order_by(Enrollment.id)
            ).all()
            session.expunge_all()
            return list(rows)

    def messages(self, journey_id: int) -> list[tuple[int, str]]:
        """(contact, step) of each outbox row the journey wrote."""
        with session_scope(self.url) as session:
            rows = session.execute(
                select(Message.contact_id, Message.step)
                .where(Message.source_kind == "journey", Message.source_id == journey_id)
                .order_by(Message.id)
            )
            return [(c, s) for c, s in rows]

    def runs(self, journey_id: int) -> list[tuple[str, str]]:
        """(step, outcome) of every executed step, in order."""
        with session_scope(self.url) as session:
            rows = session.execute(
                select(StepRun.step, StepRun.outcome)
                .where(StepRun.journey_id == journey_id)
                .order_by(StepRun.enrollment_id, StepRun.seq)
            )
            return [(s, o) for s, o in rows]

    def count(self, model: Any) -> int:
        with session_scope(self.url) as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


def send(account_id: int, key: str, next_: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "send",
        "account_id": account_id,
        "subject": f"Письмо {key}",
        "text": "Здравствуйте, {{ contact.first_name }}",
        "next": next_,
        **extra,
    }


def wait(key: str, next_: str | None, **duration: Any) -> dict[str, Any]:
    return {"key": key, "kind": "wait", "mode": "duration", "duration": duration, "next": next_}


@pytest.fixture
def shop(settings: Settings, tmp_path: Path) -> Shop:
    return Shop(settings.database_url, tmp_path / "outbox")
