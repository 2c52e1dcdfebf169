"""Recomputing profiles from a hand-made shop and from the demo shop."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.contacts.models import Contact
from retentio.demo.build import build_demo
from retentio.events.models import Event
from retentio.profiles import service
from retentio.profiles.models import Profile

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def _contact(db: Session, name: str) -> int:
    contact = Contact(first_name=name)
    db.add(contact)
    db.flush()
    return contact.id


def _order(
    db: Session,
    contact_id: int,
    days_ago: int,
    total: str,
    *,
    refunded: str = "0",
    status: OrderStatus = OrderStatus.PAID,
) -> None:
    db.add(
        Order(
            external_id=f"o-{contact_id}-{days_ago}-{total}",
            contact_id=contact_id,
            status=status,
            channel=OrderChannel.ONLINE,
            total=Decimal(total),
            refunded_total=Decimal(refunded),
            placed_at=NOW - timedelta(days=days_ago),
        )
    )
    db.flush()


def _event(db: Session, contact_id: int, kind: str, days_ago: int) -> None:
    db.add(Event(contact_id=contact_id, type=kind, occurred_at=NOW - timedelta(days=days_ago)))
    db.flush()


@pytest.fixture
def shop(db: Session) -> dict[str, int]:
    ids = {name: _contact(db, name) for name in "ABCDEFG"}
    _order(db, ids["A"], 100, "100.00")
    _order(db, ids["A"], 50, "200.00", refunded="50.00", status=OrderStatus.REFUNDED)
    _order(db, ids["A"], 10, "300.00")
    _order(db, ids["A"], 5, "999.00", status=OrderStatus.CANCELLED)
    _order(db, ids["B"], 200, "80.00")
    _order(db, ids["C"], 20, "500.00", status=OrderStatus.CANCELLED)
    _event(db, ids["E"], "page_view", 60)
    _event(db, ids["F"], "page_view", 60)
    _event(db, ids["F"], "cart_add", 3)
    _event(db, ids["G"], "checkout_start", 40)
    return ids


def _profiles(db: Session) -> dict[int, Profile]:
    db.expire_all()
    return {p.contact_id: p for p in db.scalars(select(Profile))}


def _rows(db: Session) -> list[tuple[Any, ...]]:
    columns = list(Profile.__table__.columns)
    return [tuple(r) for r in db.execute(select(*columns).order_by(Profile.contact_id))]


def test_aggregates_of_a_hand_made_shop(db: Session, shop: dict[str, int]) -> None:
    # when
    result = service.recompute(db, now=NOW)
    # then
    profiles = _profiles(db)
    assert (result.profiles, result.customers, result.model_fitted) == (7, 2, False)
    a, b, c = profiles[shop["A"]], profiles[shop["B"]], profiles[shop["C"]]
    assert (a.orders, a.revenue, a.average_check) == (3, Decimal("550.00"), Decimal("183.33"))
    assert (a.first_order_at, a.last_order_at) == (
        NOW - timedelta(days=100),
        NOW - timedelta(days=10),
    )
    assert (a.mean_days_between, a.recency_days, a.frequency) == (45.0, 10, 2)
    assert (b.orders, b.revenue, b.average_check) == (1, Decimal("80.00"), Decimal("80.00"))
    assert (b.mean_days_between, b.recency_days, b.frequency) == (None, 200, 0)
    # the cancelled order counts for nothing
    assert (c.orders, c.revenue, c.average_check, c.first_order_at) == (
        0,
        Decimal("0.00"),
        None,
        None,
    )
    # RFM among the two buyers: positions 0 and 1 of 2 score 1 and 3
    assert (a.r_score, a.f_score, a.m_score, a.rfm_segment) == (3, 3, 3, "need_attention")
    assert (b.r_score, b.f_score, b.m_score, b.rfm_segment) == (1, 1, 1, "lost")
    assert (c.r_score, c.rfm_segment, c.churn_band) == (None, None, None)
    # too few customers to fit: no model, no predictions
    assert {(p.p_alive, p.expected_purchases_90d, p.clv_12m) for p in profiles.values()} == {
        (None, None, None)
    }
    assert all(p.computed_at == NOW for p in profiles.values())


def test_bands_and_stages_of_a_hand_made_shop(db: Session, shop: dict[str, int]) -> None:
    # when
    service.recompute(db, now=NOW)
    # then
    profiles = _profiles(db)
    found = {
        name: (profiles[i].churn_band, profiles[i].lifecycle_stage) for name, i in shop.items()
    }
    assert found == {
        "A": ("low", "loyalty"),  # 2+ orders, 10 days since the last, rhythm 45
        "B": ("lost", "churned"),  # one order 200 days ago > 3 x the shop's 45 and > 180
        "C": (None, "attraction"),  # only a cancelled order, no events
        "D": (None, "attraction"),
        "E": (None, "interest"),
        "F": (None, "evaluation"),  # cart within 30 days
        "G": (None, "interest"),  # checkout 40 days ago is outside the window
    }


def test_recompute_twice_gives_the_same_rows(db: Session, shop: dict[str, int]) -> None:
    # given
    service.recompute(db, now=NOW)
    first = _rows(db)
    # when
    service.recompute(db, now=NOW)
    # then
    assert _rows(db) == first
    assert len(first) == len(shop)


def test_deleted_contacts_lose_their_profile(db: Session, shop: dict[str, int]) -> None:
    # given
    service.recompute(db, now=NOW)
    contact = db.get(Contact, shop["D"])
    assert contact is not None
    contact.deleted_at = NOW
    db.flush()
    # when
    service.recompute(db, now=NOW)
    # then
    assert shop["D"] not in _profiles(db)


def test_demo_shop_profiles_are_complete_and_finite(db: Session) -> None:
    # given
    today = date(2026, 6, 30)
    build_demo(db, customers=400, seed=11, admin_password="demo-password-1", today=today)
    db.flush()
    now = datetime(2026, 7, 1, tzinfo=UTC)
    done: list[tuple[int, int]] = []
    # when
    result = service.recompute(db, now=now, progress=lambda d, t: done.append((d, t)))
    # then
    contacts = db.scalar(select(func.count()).select_from(Contact))
    profiles = list(_profiles(db).values())
    assert len(profiles) == contacts == result.profiles
    assert done[-1] == (contacts, contacts)
    assert (result.model_fitted, result.spend_model_fitted) == (True, True)
    buyers = [p for p in profiles if p.orders > 0]
    assert len(buyers) == result.customers > 0
    for p in buyers:
        assert p.p_alive is not None
        assert 0.0 <= p.p_alive <= 1.0
        assert p.expected_purchases_90d is not None
        assert p.expected_purchases_90d >= 0.0
        assert p.clv_12m is not None
        assert p.clv_12m >= 0
        assert p.churn_band in {"low", "medium", "high", "lost"}
        assert p.r_score in range(1, 6)
        assert p.f_score in range(1, 6)
        assert p.m_score in range(1, 6)
    for p in profiles:
        for value in (p.p_alive, p.expected_purchases_90d, p.mean_days_between):
            assert value is None or math.isfinite(value)
        assert p.lifecycle_stage in {
            "attraction",
            "interest",
            "evaluation",
            "purchase",
            "loyalty",
            "churned",
        }
    assert {p.lifecycle_stage for p in buyers} >= {"loyalty", "purchase"}


def test_orders_dated_after_now_do_not_stop_the_model(db: Session) -> None:
    # given: a shop whose last day of orders is still running (orders later today)
    build_demo(db, customers=300, seed=5, admin_password="demo-password-1", today=date(2026, 6, 30))
    db.flush()
    latest = db.scalar(select(func.max(Order.placed_at)))
    assert latest is not None
    now = latest - timedelta(hours=1)
    # when
    result = service.recompute(db, now=now)
    # then
    assert result.model_fitted is True
    assert all(p.p_alive is not None for p in _profiles(db).values() if p.orders > 0)
