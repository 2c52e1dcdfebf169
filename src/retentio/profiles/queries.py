"""Reads for profiles: the per-contact order and event aggregates a recompute starts from.

Each read is one grouped SQL query; the per-contact work afterwards is numpy (`service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderStatus
from retentio.contacts.models import Contact
from retentio.events.models import Event
from retentio.profiles.lifecycle import EVALUATION_EVENTS, EVALUATION_WINDOW_DAYS

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Aggregates:
    """One row per live contact, ordered by contact id; times in seconds since the epoch."""

    contact_id: IntArray
    orders: IntArray  # non-cancelled orders
    revenue: FloatArray  # sum of total - refunded_total over them
    first_order: FloatArray  # NaN without orders
    last_order: FloatArray  # NaN without orders
    first_order_at: list[datetime | None]
    last_order_at: list[datetime | None]
    has_events: BoolArray
    recent_cart: BoolArray  # a cart/checkout event within EVALUATION_WINDOW_DAYS of `now`


def contact_ids(session: Session) -> IntArray:
    """Live contacts (not deleted, not merged away), ordered by id."""
    ids = session.scalars(
        select(Contact.id)
        .where(Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
        .order_by(Contact.id)
    ).all()
    return np.asarray(ids, dtype=np.int64)


def aggregates(session: Session, now: datetime) -> Aggregates:
    """Every live contact's order and event aggregates (one grouped query for each)."""
    ids = contact_ids(session)
    size = ids.size
    orders = np.zeros(size, dtype=np.int64)
    revenue = np.zeros(size)
    first = np.full(size, np.nan)
    last = np.full(size, np.nan)
    first_at: list[datetime | None] = [None] * size
    last_at: list[datetime | None] = [None] * size
    # Cancelled orders neither count nor earn (Order.revenue is zero for them).
    order_rows = session.execute(
        select(
            Order.contact_id,
            func.count(),
            func.sum(Order.total - Order.refunded_total),
            func.min(Order.placed_at),
            func.max(Order.placed_at),
        )
        .where(Order.status != OrderStatus.CANCELLED)
        .group_by(Order.contact_id)
    ).all()
    if order_rows:
        who = np.asarray([row[0] for row in order_rows], dtype=np.int64)
        position, found = _positions(ids, who)
        orders[position] = np.asarray([row[1] for row in order_rows], dtype=np.int64)[found]
        revenue[position] = np.asarray([float(row[2] or 0) for row in order_rows])[found]
        first[position] = np.asarray([row[3].timestamp() for row in order_rows])[found]
        last[position] = np.asarray([row[4].timestamp() for row in order_rows])[found]
        kept = [row for row, keep in zip(order_rows, found.tolist(), strict=True) if keep]
        for index, row in zip(position.tolist(), kept, strict=True):
            first_at[index], last_at[index] = row[3], row[4]
    has_events = np.zeros(size, dtype=bool)
    recent_cart = np.zeros(size, dtype=bool)
    since = now - timedelta(days=EVALUATION_WINDOW_DAYS)
    cart = (Event.type.in_(EVALUATION_EVENTS)) & (Event.occurred_at >= since)
    event_rows = session.execute(
        select(Event.contact_id, func.max(case((cart, 1), else_=0))).group_by(Event.contact_id)
    ).all()
    if event_rows:
        who = np.asarray([row[0] for row in event_rows], dtype=np.int64)
        position, found = _positions(ids, who)
        has_events[position] = True
        recent_cart[position] = np.asarray([bool(row[1]) for row in event_rows])[found]
    return Aggregates(ids, orders, revenue, first, last, first_at, last_at, has_events, recent_cart)


def _positions(ids: IntArray, who: IntArray) -> tuple[IntArray, BoolArray]:
    """Where each of `who` sits in the sorted `ids`, and which of them are there at all."""
    position = np.searchsorted(ids, who)
    found = position < ids.size
    found[found] = ids[position[found]] == who[found]
    result: IntArray = position[found].astype(np.int64)
    return result, found
