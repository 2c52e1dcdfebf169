"""Refreshing a few profiles with the stored model, after new orders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.contacts.models import Contact
from retentio.demo.build import build_demo
from retentio.predict import bgnbd
from retentio.profiles import queries, service
from retentio.profiles.models import Profile, ProfileModel
from retentio.profiles.scoring import scores
from tests.profiles.factories import NOW, contact, order, profile_rows

DEMO_NOW = datetime(2026, 7, 1, tzinfo=UTC)


@pytest.fixture
def demo(db: Session) -> int:
    """A recomputed demo shop; returns a repeat buyer's contact id."""
    build_demo(
        db, customers=300, seed=11, admin_password="demo-password-1", today=date(2026, 6, 30)
    )
    db.flush()
    service.recompute(db, now=DEMO_NOW)
    buyer = db.scalar(
        select(Profile.contact_id).where(Profile.orders >= 2).order_by(Profile.contact_id)
    )
    assert buyer is not None
    return buyer


def _new_order(db: Session, contact_id: int, total: str, placed_at: datetime) -> None:
    db.add(
        Order(
            external_id=f"new-{contact_id}-{total}",
            contact_id=contact_id,
            status=OrderStatus.PAID,
            channel=OrderChannel.ONLINE,
            total=Decimal(total),
            refunded_total=Decimal("0"),
            placed_at=placed_at,
        )
    )
    db.flush()


def test_a_new_order_updates_the_buyers_figures(db: Session, demo: int) -> None:
    # given
    before = db.get(Profile, demo)
    assert before is not None
    orders, revenue, first = before.orders, before.revenue, before.first_order_at
    placed = DEMO_NOW - timedelta(hours=2)
    _new_order(db, demo, "1234.50", placed)
    # when
    result = service.refresh(db, [demo], now=DEMO_NOW)
    # then
    db.expire_all()
    after = db.get(Profile, demo)
    assert after is not None
    assert (result.profiles, result.customers, result.model_fitted) == (1, 1, True)
    assert (after.orders, after.frequency, after.revenue) == (
        orders + 1,
        orders,
        revenue + Decimal("1234.50"),
    )
    assert (after.first_order_at, after.last_order_at, after.recency_days) == (first, placed, 0)
    assert after.computed_at == DEMO_NOW
    # predictions from the stored parameters at the refresh's time
    assert first is not None
    model = queries.shop_model(db)
    assert model is not None
    assert model.purchase is not None
    # the model counts whole UTC days
    t_x = (placed.date() - first.date()).days
    age = (DEMO_NOW.date() - first.date()).days
    expected = bgnbd.p_alive(model.purchase, [orders], [t_x], [age])[0]
    assert after.p_alive == pytest.approx(expected, rel=1e-12)
    # R from the stored breakpoints: an order two hours before the model's time is the best
    key = np.array([-2 / 24])  # minus the days since the last order, at the model's time
    assert after.r_score == scores(key, np.array([demo]), model.breakpoints["recency"])[0] == 5


def test_a_refresh_leaves_the_model_and_everyone_else_alone(db: Session, demo: int) -> None:
    # given
    model_before = db.execute(select(ProfileModel.__table__)).all()
    rows_before = profile_rows(db)
    _new_order(db, demo, "99.00", DEMO_NOW - timedelta(days=1))
    # when
    service.refresh(db, [demo], now=DEMO_NOW)
    # then
    rows_after = profile_rows(db)
    assert db.execute(select(ProfileModel.__table__)).all() == model_before
    assert rows_after[demo] != rows_before[demo]
    del rows_after[demo], rows_before[demo]
    assert rows_after == rows_before


def test_a_refresh_gives_what_a_recompute_with_the_same_model_gives(db: Session, demo: int) -> None:
    # given: two buyers with a new order each, one new customer, refreshed
    other = db.scalar(
        select(Profile.contact_id).where(Profile.orders == 1).order_by(Profile.contact_id)
    )
    assert other is not None
    newcomer = contact(db, "New")
    _new_order(db, demo, "500.00", DEMO_NOW - timedelta(days=3))
    _new_order(db, other, "700.00", DEMO_NOW - timedelta(days=8))
    _new_order(db, newcomer, "50.00", DEMO_NOW - timedelta(days=1))
    service.refresh(db, [demo, other, newcomer], now=DEMO_NOW)
    refreshed = profile_rows(db)
    # when: every profile recomputed at the same time with the stored model
    service.recompute(db, now=DEMO_NOW, refit=False)
    # then
    recomputed = profile_rows(db)
    assert recomputed.keys() == refreshed.keys()
    for contact_id in (demo, other, newcomer):
        _assert_same_row(refreshed[contact_id], recomputed[contact_id])


def _assert_same_row(left: tuple[object, ...], right: tuple[object, ...]) -> None:
    # Floats may differ in the last bit: numpy's vector loops and the scalar tail of an array
    # can round transcendental functions differently.
    for a, b in zip(left, right, strict=True):
        if isinstance(a, float) and isinstance(b, float):
            assert a == pytest.approx(b, rel=1e-12)
        else:
            assert a == b


def test_refreshing_a_deleted_contact_removes_its_profile(db: Session, demo: int) -> None:
    # given
    gone = db.get(Contact, demo)
    assert gone is not None
    gone.deleted_at = DEMO_NOW
    db.flush()
    # when
    result = service.refresh(db, [demo], now=DEMO_NOW)
    # then
    assert result.profiles == 0
    assert db.get(Profile, demo) is None


def test_before_any_recompute_a_refresh_computes_every_profile(db: Session) -> None:
    # given: no recompute has stored a model
    a, b = contact(db, "A"), contact(db, "B")
    order(db, a, 3, "10.00")
    # when
    result = service.refresh(db, [a], now=NOW)
    # then
    assert result.profiles == 2
    assert db.scalar(select(func.count()).select_from(ProfileModel)) == 1
    assert set(profile_rows(db)) == {a, b}
