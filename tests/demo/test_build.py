"""The demo shop in a real database: complete, consistent, deterministic, and not doubled."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderItem, OrderStatus
from retentio.consent.models import ConsentState
from retentio.contacts.models import Contact, ContactIdentity
from retentio.demo.build import build_demo
from retentio.events.models import Event
from retentio.profiles.models import Profile
from retentio.segments.models import Segment

TODAY = date(2026, 6, 30)


def _fingerprint(db: Session) -> tuple[object, ...]:
    return (
        db.scalar(select(func.count()).select_from(Contact)),
        db.scalar(select(func.count()).select_from(Order)),
        db.scalar(select(func.sum(Order.total))),
        db.scalar(select(func.count()).select_from(Event)),
        tuple(db.scalars(select(Contact.email).order_by(Contact.id).limit(5))),
    )


def test_demo_builds_a_consistent_shop(db: Session) -> None:
    # when
    build_demo(db, customers=120, seed=7, admin_password="demo-password-1", today=TODAY)
    db.flush()
    # then: every customer is a contact with e-mail, phone and shop id identities
    assert db.scalar(select(func.count()).select_from(Contact)) == 120
    assert db.scalar(select(func.count()).select_from(ContactIdentity)) == 360
    # order totals equal the sum of their lines
    lines = dict(
        db.execute(
            select(
                OrderItem.order_id, func.sum(OrderItem.quantity * OrderItem.unit_price)
            ).group_by(OrderItem.order_id)
        ).all()
    )
    for order_id, total in db.execute(select(Order.id, Order.total)):
        assert Decimal(str(lines[order_id])).quantize(Decimal("0.01")) == total
    # refunds are whole, events precede their orders, consent states exist
    refunded = db.scalars(select(Order).where(Order.status == OrderStatus.REFUNDED)).all()
    assert all(o.refunded_total == o.total for o in refunded)
    assert db.scalar(
        select(func.count()).select_from(Event).where(Event.type == "order_placed")
    ) == db.scalar(select(func.count()).select_from(Order))
    assert (db.scalar(select(func.count()).select_from(ConsentState)) or 0) > 0
    # and: every contact has a profile, and the prebuilt segments are filled
    assert db.scalar(select(func.count()).select_from(Profile)) == 120
    champions = db.scalar(select(Segment).where(Segment.key == "rfm.champions"))
    assert champions is not None
    assert champions.size == db.scalar(
        select(func.count()).select_from(Profile).where(Profile.rfm_segment == "champions")
    )
    assert champions.size > 0


def test_same_seed_same_shop_and_rerun_adds_nothing(db: Session) -> None:
    build_demo(db, customers=60, seed=3, admin_password="demo-password-1", today=TODAY)
    db.flush()
    first = _fingerprint(db)
    build_demo(db, customers=60, seed=3, admin_password="demo-password-2", today=TODAY)
    db.flush()
    assert _fingerprint(db) == first
    assert first[0] == 60
