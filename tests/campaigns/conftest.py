"""Fixtures of the campaigns tests: a shop with contacts in a static segment, an account that
writes to files, and a factory for campaign definitions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from retentio.campaigns.models import CampaignRecipient, RecipientGroup
from retentio.campaigns.schemas import CampaignIn, ContentIn, VariantIn
from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.consent.models import Channel, ConsentEvent, ConsentState, Purpose
from retentio.contacts.models import Contact
from retentio.db import session_scope, utcnow
from retentio.messaging import service as messaging
from retentio.messaging.models import AccountKind, Message
from retentio.segments import service as segments
from retentio.segments.models import SegmentKind
from retentio.settings import Settings

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, 15:00 in Moscow
_numbers = itertools.count(1)


class Shop:
    """Rows written through the real services (bulk inserts where only volume matters)."""

    def __init__(self, url: str, outbox: Path) -> None:
        self.url = url
        self.outbox = outbox

    def contacts(self, n: int, *, consent: bool = True, **fields: Any) -> list[int]:
        with session_scope(self.url) as session:
            ids = []
            for _i in range(n):
                number = next(_numbers)
                contact = Contact(
                    first_name=f"Покупатель {number}", email=f"c{number}@example.org", **fields
                )
                session.add(contact)
                session.flush()
                ids.append(contact.id)
            if consent:
                _grant(session, ids)
            return ids

    def segment(self, contact_ids: list[int], name: str = "Все") -> int:
        with session_scope(self.url) as session:
            segment = segments.create_segment(session, name=name, kind=SegmentKind.STATIC)
            segments.add_contacts(session, segment.id, contact_ids, now=START)
            return segment.id

    def groups(self, campaign_id: int) -> tuple[list[int], list[int]]:
        """The campaign's treated and held-out contact ids, as the start drew them."""
        with session_scope(self.url) as session:
            rows = session.execute(
                select(CampaignRecipient.contact_id, CampaignRecipient.group)
                .where(CampaignRecipient.campaign_id == campaign_id)
                .order_by(CampaignRecipient.contact_id)
            ).all()
        treated = [c for c, g in rows if g != RecipientGroup.HOLDOUT]
        return treated, [c for c, g in rows if g == RecipientGroup.HOLDOUT]

    def engage(self, campaign_id: int, *, opens: int, clicks: int, repeat: int = 1) -> None:
        """The first `opens` messages opened `repeat` times each, the first `clicks` clicked."""
        with session_scope(self.url) as session:
            sent = session.scalars(
                select(Message.id).where(Message.source_id == campaign_id).order_by(Message.id)
            ).all()
            for message_id in sent[:opens]:
                for _ in range(repeat):
                    messaging.record_open(session, message_id, now=utcnow())
            for message_id in sent[:clicks]:
                messaging.record_click(
                    session, message_id, "https://shop.example/sale", now=utcnow()
                )

    def orders(
        self,
        contact_ids: list[int],
        *,
        total: int,
        status: OrderStatus = OrderStatus.PAID,
        days: int = 0,
    ) -> None:
        """One order each, placed now plus `days`."""
        with session_scope(self.url) as session:
            for contact_id in contact_ids:
                session.add(
                    Order(
                        external_id=f"o-{status.value}-{days}-{contact_id}",
                        contact_id=contact_id,
                        status=status,
                        channel=OrderChannel.ONLINE,
                        total=Decimal(total),
                        placed_at=utcnow() + timedelta(days=days),
                    )
                )

    def account(self, channel: Channel = Channel.EMAIL) -> int:
        with session_scope(self.url) as session:
            return messaging.create_account(
                session,
                name=f"sink-{channel.value}-{next(_numbers)}",
                kind=AccountKind.FILE,
                channel=channel,
                from_address="news@shop.example",
                settings={"directory": str(self.outbox)},
            ).id


def _grant(session: Any, contact_ids: list[int]) -> None:
    """Marketing e-mail consent for many contacts in two statements."""
    events = [
        {
            "contact_id": cid,
            "channel": Channel.EMAIL,
            "purpose": Purpose.MARKETING,
            "granted": True,
            "source": "test",
            "occurred_at": START,
        }
        for cid in contact_ids
    ]
    session.execute(insert(ConsentEvent), events)
    session.flush()
    rows = session.query(ConsentEvent.id, ConsentEvent.contact_id).filter(
        ConsentEvent.contact_id.in_(contact_ids)
    )
    session.execute(
        insert(ConsentState),
        [
            {
                "contact_id": cid,
                "channel": Channel.EMAIL,
                "purpose": Purpose.MARKETING,
                "granted": True,
                "updated_at": START,
                "event_id": eid,
            }
            for eid, cid in rows
        ],
    )


def campaign_in(account_id: int, segment_id: int, **overrides: Any) -> CampaignIn:
    data: dict[str, Any] = {
        "name": "Весенняя распродажа",
        "account_id": account_id,
        "segment_id": segment_id,
        "holdout_share": 0.1,
        "variants": [
            VariantIn(
                label="A",
                content=ContentIn(subject="Скидки, {{ contact.first_name }}", text="Весна!"),
            )
        ],
    }
    data.update(overrides)
    return CampaignIn(**data)


@pytest.fixture
def shop(settings: Settings, tmp_path: Path) -> Shop:
    return Shop(settings.database_url, tmp_path / "outbox")
