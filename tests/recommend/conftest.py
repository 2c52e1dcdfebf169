"""Fixtures of the recommendations tests: a small shop whose orders are written through the
commerce service, one committed transaction per call."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from retentio.commerce.models import OrderStatus, Product
from retentio.commerce.schemas import CustomerRef, OrderIn, OrderItemIn
from retentio.commerce.service import upsert_order
from retentio.db import session_scope
from retentio.recommend import service
from retentio.settings import Settings
from tests.page_factories import Shop

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
_numbers = itertools.count(1)


class Baskets:
    """Products, contacts and multi-line orders of a test shop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.shop = Shop(url)

    def products(self, *skus: str, category: str | None = None) -> dict[str, int]:
        with session_scope(self.url) as session:
            rows = [
                Product(sku=s, name=f"Product {s}", price=Decimal("100.00"), category=category)
                for s in skus
            ]
            session.add_all(rows)
            session.flush()
            return {p.sku: p.id for p in rows}

    def contacts(self, n: int, **fields: object) -> list[int]:
        return self.shop.contacts(n, **fields)

    def order(
        self,
        contact_id: int,
        *skus: str,
        day: int = 0,
        status: OrderStatus = OrderStatus.PAID,
    ) -> None:
        placed_at = T0 + timedelta(days=day)
        data = OrderIn(
            external_id=f"R-{next(_numbers)}",
            customer=CustomerRef(contact_id=contact_id),
            status=status,
            placed_at=placed_at,
            items=[OrderItemIn(sku=s, quantity=1, unit_price=Decimal("100.00")) for s in skus],
        )
        with session_scope(self.url) as session:
            upsert_order(session, data, default_region="RU", now=placed_at)

    def recompute(self, *, day: int = 365) -> service.RecomputeResult:
        with session_scope(self.url) as session:
            return service.recompute(session, now=T0 + timedelta(days=day))


@pytest.fixture
def baskets(settings: Settings) -> Baskets:
    return Baskets(settings.database_url)
