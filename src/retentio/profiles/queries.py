"""Reads for profiles: per-contact order and event aggregates, stored stages, the stored model.

Each aggregate is one grouped SQL query, over every live contact or over a list of ids; the
per-contact work afterwards is numpy (`service`). The grouped queries hand back only integers
and floats (times as epoch microseconds, computed by the database), so a million rows cost no
datetime or Decimal objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    case,
    cast,
    extract,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderStatus
from retentio.contacts.models import Contact
from retentio.events.models import Event
from retentio.feedback.models import Response, Survey, SurveyKind
from retentio.predict.bgnbd import BgNbdParams
from retentio.predict.gammagamma import GammaGammaParams
from retentio.profiles.lifecycle import EVALUATION_EVENTS, EVALUATION_WINDOW_DAYS
from retentio.profiles.models import Profile, ProfileModel
from retentio.profiles.scoring import RFM_DIMENSIONS, Breakpoint, ShopModel

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
ObjectArray = NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class Aggregates:
    """One row per live contact, ordered by contact id."""

    contact_id: IntArray
    orders: IntArray  # non-cancelled orders
    revenue: FloatArray  # sum of total - refunded_total over them
    first_us: IntArray  # first order, epoch microseconds; 0 without orders
    last_us: IntArray  # last order, likewise
    has_events: BoolArray
    recent_cart: BoolArray  # a cart/checkout event within EVALUATION_WINDOW_DAYS of `now`
    declared_exit: BoolArray  # answered an exit survey after the last order

    @property
    def first_order(self) -> FloatArray:
        """Seconds since the epoch; NaN without orders."""
        return _seconds(self.first_us, self.orders)

    @property
    def last_order(self) -> FloatArray:
        return _seconds(self.last_us, self.orders)


def contact_ids(session: Session, among: Sequence[int] | None = None) -> IntArray:
    """Live contacts (not deleted, not merged away), ordered by id; of `among` when given."""
    query = select(Contact.id).where(Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
    if among is not None:
        query = query.where(Contact.id.in_(among))
    return np.fromiter(session.scalars(query.order_by(Contact.id)), dtype=np.int64)


def aggregates(session: Session, now: datetime, among: Sequence[int] | None = None) -> Aggregates:
    """The order and event aggregates of every live contact, or of the live ones of `among`."""
    ids = contact_ids(session, among)
    size = ids.size
    orders = np.zeros(size, dtype=np.int64)
    revenue = np.zeros(size)
    first = np.zeros(size, dtype=np.int64)
    last = np.zeros(size, dtype=np.int64)
    dialect = session.get_bind().dialect.name
    placed_min, placed_max = func.min(Order.placed_at), func.max(Order.placed_at)
    # Cancelled orders neither count nor earn (Order.revenue is zero for them).
    order_query = _among(
        select(
            _owner(dialect, among),
            func.count(),
            cast(func.sum(Order.total - Order.refunded_total), Float),
            _epoch_us(dialect, placed_min),
            _epoch_us(dialect, placed_max),
        ).where(Order.status != OrderStatus.CANCELLED),
        Order.contact_id,
        among,
    ).group_by(_owner(dialect, among))
    table = _table(session, order_query, 5)
    position, found = _positions(ids, table[:, 0].astype(np.int64))
    orders[position] = table[found, 1].astype(np.int64)
    revenue[position] = table[found, 2]
    # Microseconds since 1970 stay below 2**53 until the year 2255: exact in a float64.
    first[position] = table[found, 3].astype(np.int64)
    last[position] = table[found, 4].astype(np.int64)

    has_events = np.zeros(size, dtype=bool)
    recent_cart = np.zeros(size, dtype=bool)
    since = now - timedelta(days=EVALUATION_WINDOW_DAYS)
    cart = (Event.type.in_(EVALUATION_EVENTS)) & (Event.occurred_at >= since)
    event_query = _among(
        select(Event.contact_id, func.max(case((cart, 1), else_=0))), Event.contact_id, among
    ).group_by(Event.contact_id)
    table = _table(session, event_query, 2)
    position, found = _positions(ids, table[:, 0].astype(np.int64))
    has_events[position] = True
    recent_cart[position] = table[found, 1] > 0
    declared_exit = _declared_exit(session, ids, last, dialect, among)
    return Aggregates(ids, orders, revenue, first, last, has_events, recent_cart, declared_exit)


def _declared_exit(
    session: Session, ids: IntArray, last_us: IntArray, dialect: str, among: Sequence[int] | None
) -> BoolArray:
    """Who answered an exit survey after their last order (a new order wins them back)."""
    exit_query = _among(
        select(Response.contact_id, _epoch_us(dialect, func.max(Response.created_at)))
        .join(Survey, Survey.id == Response.survey_id)
        .where(Survey.kind == SurveyKind.EXIT),
        Response.contact_id,
        among,
    ).group_by(Response.contact_id)
    table = _table(session, exit_query, 2)
    position, found = _positions(ids, table[:, 0].astype(np.int64))
    declared = np.zeros(ids.size, dtype=bool)
    declared[position] = table[found, 1].astype(np.int64) > last_us[position]
    return declared


def stages(session: Session, among: Sequence[int] | None = None) -> tuple[IntArray, ObjectArray]:
    """Stored (contact id, lifecycle stage) of the profiles, ordered by contact id.

    Of `among` only, when given; then the rows are locked (PostgreSQL) until the caller's
    transaction ends, so two refreshes of one contact record its move once.
    """
    query = select(Profile.contact_id, Profile.lifecycle_stage).order_by(Profile.contact_id)
    if among is not None:
        query = query.where(Profile.contact_id.in_(among)).with_for_update()
    rows = session.execute(query).all()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    found = np.empty(len(rows), dtype=object)
    found[:] = [row[1] for row in rows]
    return ids, found


def shop_model(session: Session) -> ShopModel | None:
    """The model stored by the last full recompute; None before the first one."""
    row = session.get(ProfileModel, ProfileModel.CURRENT)
    if row is None:
        return None
    purchase = spend = None
    if None not in (row.bgnbd_r, row.bgnbd_alpha, row.bgnbd_a, row.bgnbd_b):
        purchase = BgNbdParams(row.bgnbd_r, row.bgnbd_alpha, row.bgnbd_a, row.bgnbd_b)  # type: ignore[arg-type]
    if None not in (row.gg_p, row.gg_q, row.gg_gamma):
        spend = GammaGammaParams(row.gg_p, row.gg_q, row.gg_gamma)  # type: ignore[arg-type]
    points = {name: [_breakpoint(p) for p in row.rfm_breakpoints[name]] for name in RFM_DIMENSIONS}
    return ShopModel(row.fitted_at, row.customers, purchase, spend, row.rhythm_days, points)


def _breakpoint(stored: Any) -> Breakpoint:
    return None if stored is None else (float(stored[0]), int(stored[1]))


def _owner(dialect: str, among: Sequence[int] | None) -> ColumnElement[int]:
    """The orders' contact id to group by.

    Over all orders on SQLite, `+contact_id` keeps the planner off the (contact_id,
    placed_at) index: walking it fetches each order's row at random (28 s of CPU at 6M
    orders) where a scan and a sort take 9 s. PostgreSQL picks a hash aggregate by itself.
    """
    if dialect == "sqlite" and among is None:
        return type_coerce(literal_column("+orders.contact_id"), Integer)
    column: ColumnElement[int] = Order.__table__.c.contact_id
    return column


def _epoch_us(dialect: str, moment: ColumnElement[Any]) -> ColumnElement[int]:
    """Epoch microseconds of a stored UTC moment, computed by the database."""
    if dialect == "sqlite":
        # Stored as text "YYYY-MM-DD HH:MM:SS.ffffff" (UTC): whole seconds plus the fraction.
        return cast(func.strftime("%s", moment), BigInteger) * 1_000_000 + cast(
            func.substr(moment, 21, 6), BigInteger
        )
    return cast(extract("epoch", moment) * 1_000_000, BigInteger)


def _among(query: Any, column: Any, among: Sequence[int] | None) -> Any:
    # `query` is any Select: SQLAlchemy types each by its columns, which differ here.
    return query if among is None else query.where(column.in_(among))


def _table(session: Session, query: Any, width: int) -> FloatArray:
    """The result as a (rows, width) float64 array, streamed: no row is kept as objects."""
    values = np.fromiter(itertools.chain.from_iterable(session.execute(query)), dtype=np.float64)
    return values.reshape(-1, width)


def _seconds(micros: IntArray, orders: IntArray) -> FloatArray:
    result: FloatArray = np.where(orders > 0, micros / 1e6, np.nan)
    return result


def _positions(ids: IntArray, who: IntArray) -> tuple[IntArray, BoolArray]:
    """Where each of `who` sits in the sorted `ids`, and which of them are there at all."""
    position = np.searchsorted(ids, who)
    found = position < ids.size
    found[found] = ids[position[found]] == who[found]
    result: IntArray = position[found].astype(np.int64)
    return result, found
