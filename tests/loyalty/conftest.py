"""Fixtures of the loyalty tests: a programme, contacts and orders written through the real
services, each step in its own committed transaction, at explicit (frozen) times."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from retentio.commerce.models import OrderStatus
from retentio.commerce.schemas import CustomerRef, OrderIn, OrderItemIn
from retentio.commerce.service import upsert_order
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.loyalty import queries, service
from retentio.loyalty.models import Account, Entry
from retentio.loyalty.schemas import ProgrammeIn, TierIn
from retentio.settings import Settings
from retentio.worker import huey

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
_numbers = itertools.count(1)


class Club:
    """The shop's loyalty club: programme, members, orders, and what the ledger says."""

    def __init__(self, url: str) -> None:
        self.url = url

    def session(self) -> Any:
        return session_scope(self.url)

    def programme(self, **fields: Any) -> None:
        data: dict[str, Any] = {"enabled": True, "points_per_unit": Decimal("0.05")}
        data.update(fields)
        with self.session() as session:
            service.update_programme(session, ProgrammeIn(**data), actor_id=None)

    def tier(self, name: str, threshold: str, multiplier: str = "1") -> int:
        with self.session() as session:
            data = TierIn(name=name, threshold=Decimal(threshold), multiplier=Decimal(multiplier))
            return service.create_tier(session, data, actor_id=None).id

    def contact(self, **fields: Any) -> int:
        with self.session() as session:
            contact = Contact(first_name=f"Участник {next(_numbers)}", **fields)
            session.add(contact)
            session.flush()
            return contact.id

    def order(
        self,
        contact_id: int,
        items: list[tuple[str | None, str]],
        *,
        status: OrderStatus = OrderStatus.PAID,
        placed_at: datetime = T0,
        refunded: str | None = None,
        external_id: str | None = None,
    ) -> int:
        """Post an order (items: (category, price)) as the shop would, without earning."""
        data = OrderIn(
            external_id=external_id or f"L-{next(_numbers)}",
            customer=CustomerRef(contact_id=contact_id),
            status=status,
            placed_at=placed_at,
            items=[
                OrderItemIn(sku=f"SKU-{n}", name="Товар", category=c, quantity=1, unit_price=p)
                for n, (c, p) in enumerate(items)
            ],
            refunded_total=Decimal(refunded) if refunded else None,
        )
        with self.session() as session:
            order, _created = upsert_order(session, data, default_region="RU", now=placed_at)
            return order.id

    def earn(self, order_id: int, at: datetime = T0) -> int:
        with self.session() as session:
            return service.earn_for_order(session, order_id, now=at)

    def grant(self, contact_id: int, points: int, at: datetime = T0) -> None:
        with self.session() as session:
            service.adjust(session, contact_id, points, reason="opening", actor_id=None, now=at)

    def balance(self, contact_id: int) -> int:
        with self.session() as session:
            return (
                session.scalar(select(Account.balance).where(Account.contact_id == contact_id)) or 0
            )

    def ledger_sum(self, contact_id: int) -> int:
        with self.session() as session:
            return queries.ledger_sum(session, contact_id)

    def entries(self, contact_id: int) -> list[tuple[str, int, str | None]]:
        """(kind, points, key) of the contact's entries in the order they were written."""
        with self.session() as session:
            rows = session.execute(
                select(Entry.kind, Entry.points, Entry.key)
                .where(Entry.contact_id == contact_id)
                .order_by(Entry.id)
            ).all()
            return [(kind.value, points, key) for kind, points, key in rows]


@pytest.fixture
def club(settings: Settings) -> Club:
    return Club(settings.database_url)


@pytest.fixture
def immediate() -> Iterator[None]:
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = False
