"""Small factories for profile tests: contacts, orders and events at days before `NOW`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.contacts.models import Contact
from retentio.events.models import Event
from retentio.profiles.models import LifecycleChange, Profile

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
_numbers = count(1)


def contact(db: Session, name: str = "C") -> int:
    row = Contact(first_name=name)
    db.add(row)
    db.flush()
    return row.id


def order(
    db: Session,
    contact_id: int,
    days_ago: float,
    total: str,
    *,
    status: OrderStatus = OrderStatus.PAID,
) -> int:
    row = Order(
        external_id=f"t-{next(_numbers)}",
        contact_id=contact_id,
        status=status,
        channel=OrderChannel.ONLINE,
        total=Decimal(total),
        refunded_total=Decimal("0"),
        placed_at=NOW - timedelta(days=days_ago),
    )
    db.add(row)
    db.flush()
    return row.id


def event(db: Session, contact_id: int, kind: str, days_ago: float) -> None:
    db.add(Event(contact_id=contact_id, type=kind, occurred_at=NOW - timedelta(days=days_ago)))
    db.flush()


def profile_rows(db: Session) -> dict[int, tuple[Any, ...]]:
    """Every profile as a tuple of its columns, by contact id."""
    columns = list(Profile.__table__.columns)
    rows = db.execute(select(*columns).order_by(Profile.contact_id))
    return {row[0]: tuple(row) for row in rows}


def changes(db: Session) -> list[tuple[int, str | None, str, datetime]]:
    rows = db.execute(
        select(
            LifecycleChange.contact_id,
            LifecycleChange.from_stage,
            LifecycleChange.to_stage,
            LifecycleChange.changed_at,
        ).order_by(LifecycleChange.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]
