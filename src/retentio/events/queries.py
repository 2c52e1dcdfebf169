"""Reads of the events domain: a contact's event history."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.events.models import Event


def events_of(
    session: Session, contact_id: int, *, page_number: int, per_page: int
) -> tuple[Sequence[Event], int]:
    """One page of a contact's events, newest first, and how many there are in all."""
    rows = session.scalars(
        select(Event)
        .where(Event.contact_id == contact_id)
        # The id breaks ties between events of the same instant, so pages never overlap.
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(per_page)
        .offset((page_number - 1) * per_page)
    ).all()
    total = session.scalar(select(func.count()).where(Event.contact_id == contact_id)) or 0
    return rows, total
