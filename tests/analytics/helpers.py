"""Rows for the analytics tests, written straight to the tables through the `db` session.

Dates are UTC days at noon unless a time is given, so that a row never sits on a day boundary.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from itertools import count

from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.contacts.models import Contact
from retentio.profiles.models import LifecycleChange, Profile

PERIOD = "start=2026-01-01&end=2026-03-31"  # the levers shop's period (conftest.py)
_numbers = count(1)


def day(text: str) -> datetime:
    """'2026-01-05' at 12:00 UTC, or a full ISO timestamp as given (UTC)."""
    if "T" in text:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    return datetime.fromisoformat(f"{text}T12:00:00+00:00")


def contact(db: Session, name: str = "C", **fields: object) -> int:
    row = Contact(first_name=name, created_at=day("2025-01-01"))
    for key, value in fields.items():
        setattr(row, key, value)
    db.add(row)
    db.flush()
    return row.id


def order(
    db: Session,
    contact_id: int,
    placed: str,
    total: str = "100.00",
    *,
    refunded: str = "0",
    status: OrderStatus = OrderStatus.PAID,
) -> None:
    db.add(
        Order(
            external_id=f"o-{next(_numbers)}",
            contact_id=contact_id,
            status=status,
            channel=OrderChannel.ONLINE,
            total=Decimal(total),
            refunded_total=Decimal(refunded),
            placed_at=day(placed),
        )
    )
    db.flush()


def profile(db: Session, contact_id: int, **fields: object) -> None:
    row = Profile(contact_id=contact_id, lifecycle_stage="purchase", computed_at=day("2026-03-01"))
    for key, value in fields.items():
        setattr(row, key, value)
    db.add(row)
    db.flush()


def change(db: Session, contact_id: int, from_stage: str | None, to_stage: str, at: str) -> None:
    db.add(
        LifecycleChange(
            contact_id=contact_id, from_stage=from_stage, to_stage=to_stage, changed_at=day(at)
        )
    )
    db.flush()
