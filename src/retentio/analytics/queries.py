"""Period metrics from the database: one grouped SQL statement, then `formulas`.

For a period [start, end) and an activity window of W days:

- a *purchase* is a non-cancelled order (a refunded one counts, earning total − refunded_total),
  the same rule as `profiles` and `Order.revenue`;
- a customer is *active at* moment T when they made a purchase in [T − W, T);
- *new* customers made their first purchase ever inside the period; *lost* ones were active at
  the start and are not at the end; *retained* ones are active at both; *reactivated* ones are
  active at the end, not at the start, and not new;
- *leads* are identified (not anonymous) contacts created inside the period;
- only live contacts count (not deleted, not merged away), as in `profiles`.

Everything is counted by one statement that is the same on SQLite and PostgreSQL: a grouped
subquery with one row per customer, aggregated again per group (RFM segment, source or city).
Several periods (a period and the one before it) share that statement and its one scan of the
orders (`periods_counts`).
The only dialect-specific piece is turning a timestamp into seconds (`sqlfunc.EpochSeconds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from retentio.analytics import formulas
from retentio.analytics.formulas import Levers
from retentio.analytics.sqlfunc import EpochSeconds as _EpochSeconds
from retentio.commerce.models import MONEY, Order, OrderStatus
from retentio.contacts.models import Contact
from retentio.profiles.models import Profile

GroupBy = Literal["rfm_segment", "source", "city"]
SECONDS_PER_DAY = 86_400
_COUNTS_PER_PERIOD = 14  # the aggregates of one period in `periods_counts`, as in `_counts`
# The RFM segment is the one of the last profiles recompute, not of the period itself.
_GROUP_COLUMNS = {
    "rfm_segment": Profile.rfm_segment,
    "source": Contact.source,
    "city": Contact.city,
}


@dataclass(frozen=True, slots=True)
class PeriodCounts:
    """The raw counts of one group (or of everybody) for a period."""

    group: str | None  # the segment, source or city; None without grouping or when unknown
    active_at_start: int
    active_at_end: int
    new: int
    lost: int
    retained: int
    reactivated: int
    leads: int
    buyers: int  # customers with at least one purchase in the period
    repeat_buyers: int  # customers with two or more purchases in the period
    orders: int  # purchases in the period
    revenue: Decimal  # their revenue
    customers: int  # customers with a purchase before the end of the period
    lifetime_days: float  # Σ over `customers` of days from first to last purchase
    predicted_clv_12m: Decimal | None  # mean `profiles.clv_12m` of `customers` who have one


@dataclass(frozen=True, slots=True)
class PeriodMetrics:
    """Every metric of one group for a period; a None metric has a zero denominator."""

    start: datetime
    end: datetime
    counts: PeriodCounts
    retention_rate: float | None
    churn_rate: float | None
    repeat_purchase_rate: float | None
    purchase_frequency: float | None  # purchases per buyer in the period
    average_check: Decimal | None
    average_lifetime_days: float | None
    simple_ltv: Decimal | None  # check × frequency × lifetime in periods of this length
    predicted_clv_12m: Decimal | None  # from the last profiles recompute, not period-aware
    active_base: int  # customers active at the end of the period
    levers: Levers

    @property
    def group(self) -> str | None:
        return self.counts.group


def period_counts(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    activity_days: int = 365,
    group_by: GroupBy | None = None,
) -> list[PeriodCounts]:
    """The counts for [start, end): one row, or one per group ordered by group (unknown last)."""
    (rows,) = periods_counts(
        session, [(start, end)], activity_days=activity_days, group_by=group_by
    )
    return rows


def periods_counts(
    session: Session,
    periods: Sequence[tuple[datetime, datetime]],
    *,
    activity_days: int = 365,
    group_by: GroupBy | None = None,
) -> list[list[PeriodCounts]]:
    """The counts of several periods [start, end) in one statement, one list per period.

    One pass over the orders whatever the number of periods: comparing a period with the
    previous one costs one scan, not two. Each list is as `period_counts` returns it.
    """
    if not periods:
        return []
    if any(end <= start for start, end in periods):
        raise ValueError("the period must end after it starts")
    window = timedelta(days=activity_days)
    placed = Order.placed_at
    columns: list[ColumnElement[Any]] = [
        Order.contact_id.label("contact_id"),
        func.min(placed).label("first_at"),
    ]
    for k, (start, end) in enumerate(periods):
        in_period = and_(placed >= start, placed < end)
        columns += [
            func.max(_flag(and_(placed >= start - window, placed < start))).label(f"at_start{k}"),
            func.max(_flag(and_(placed >= end - window, placed < end))).label(f"at_end{k}"),
            func.sum(_flag(in_period)).label(f"orders{k}"),
            func.sum(case((in_period, Order.total - Order.refunded_total), else_=literal(0))).label(
                f"revenue{k}"
            ),
            # The last purchase before the end; converted to seconds after aggregating: two
            # conversions per customer, not two per order.
            _EpochSeconds(func.max(case((placed < end, placed)))).label(f"last{k}"),
        ]
    per_customer = (
        select(*columns)
        .where(Order.status != OrderStatus.CANCELLED, placed < max(end for _, end in periods))
        .group_by(Order.contact_id)
        .subquery("per_customer")
    )
    c = per_customer.c
    group_column = _GROUP_COLUMNS[group_by] if group_by else literal(None).label("group")
    first_s = _EpochSeconds(c.first_at)
    aggregates: list[Any] = [group_column]
    for k, (start, end) in enumerate(periods):
        at_start, at_end, orders = c[f"at_start{k}"], c[f"at_end{k}"], c[f"orders{k}"]
        is_customer = c.first_at < end
        is_new = and_(c.first_at >= start, c.first_at < end)
        aggregates += [
            _count(at_start == 1),
            _count(at_end == 1),
            _count(is_new),
            _count(and_(at_start == 1, at_end == 0)),
            _count(and_(at_start == 1, at_end == 1)),
            _count(and_(at_start == 0, at_end == 1, ~is_new)),
            _count(
                Contact.is_anonymous.is_(False),
                Contact.created_at >= start,
                Contact.created_at < end,
            ),
            _count(orders > 0),
            _count(orders > 1),
            func.coalesce(func.sum(orders), 0),
            type_coerce(func.coalesce(func.sum(c[f"revenue{k}"]), 0), MONEY),
            _count(is_customer),
            func.coalesce(func.sum(case((is_customer, c[f"last{k}"] - first_s))), 0.0),
            type_coerce(func.avg(case((is_customer, Profile.clv_12m))), MONEY),
        ]
    statement = (
        select(*aggregates)
        .select_from(Contact)
        .outerjoin(per_customer, per_customer.c.contact_id == Contact.id)
        .outerjoin(Profile, Profile.contact_id == Contact.id)
        .where(Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
    )
    if group_by:
        statement = statement.group_by(group_column).order_by(group_column.is_(None), group_column)
    rows = session.execute(statement).all()
    width = _COUNTS_PER_PERIOD
    return [
        [_counts(row[0], row[1 + width * k : 1 + width * (k + 1)]) for row in rows]
        for k in range(len(periods))
    ]


def _counts(group: str | None, row: Sequence[Any]) -> PeriodCounts:
    return PeriodCounts(
        group=group,
        active_at_start=int(row[0]),
        active_at_end=int(row[1]),
        new=int(row[2]),
        lost=int(row[3]),
        retained=int(row[4]),
        reactivated=int(row[5]),
        leads=int(row[6]),
        buyers=int(row[7]),
        repeat_buyers=int(row[8]),
        orders=int(row[9]),
        revenue=Decimal(row[10]).quantize(formulas.CENT),
        customers=int(row[11]),
        # Whole seconds: SQLite's julianday() is exact to about a millisecond only.
        lifetime_days=round(float(row[12])) / SECONDS_PER_DAY,
        predicted_clv_12m=None if row[13] is None else Decimal(row[13]).quantize(formulas.CENT),
    )


def metrics(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    activity_days: int = 365,
    group_by: GroupBy | None = None,
) -> list[PeriodMetrics]:
    """Every metric for [start, end), overall (one row) or per RFM segment, source or city."""
    (rows,) = periods_metrics(
        session, [(start, end)], activity_days=activity_days, group_by=group_by
    )
    return rows


def periods_metrics(
    session: Session,
    periods: Sequence[tuple[datetime, datetime]],
    *,
    activity_days: int = 365,
    group_by: GroupBy | None = None,
) -> list[list[PeriodMetrics]]:
    """`metrics` of several periods from one statement (`periods_counts`)."""
    found = periods_counts(session, periods, activity_days=activity_days, group_by=group_by)
    return [
        [_metrics(start, end, (end - start) / timedelta(days=1), counts) for counts in rows]
        for (start, end), rows in zip(periods, found, strict=True)
    ]


def _metrics(
    start: datetime, end: datetime, period_days: float, counts: PeriodCounts
) -> PeriodMetrics:
    check = formulas.average_check(counts.revenue, counts.orders)
    frequency = formulas.purchase_frequency(counts.orders, counts.buyers)
    lifetime = formulas.average_lifetime(counts.lifetime_days, counts.customers)
    # Frequency is per period, so the lifetime is counted in periods of the same length.
    lifetime_periods = None if lifetime is None else lifetime / period_days
    return PeriodMetrics(
        start=start,
        end=end,
        counts=counts,
        retention_rate=formulas.retention_rate(
            counts.active_at_start, counts.active_at_end, counts.new
        ),
        churn_rate=formulas.churn_rate(counts.active_at_start, counts.lost),
        repeat_purchase_rate=formulas.repeat_purchase_rate(counts.repeat_buyers, counts.buyers),
        purchase_frequency=frequency,
        average_check=check,
        average_lifetime_days=lifetime,
        simple_ltv=formulas.simple_ltv(check, frequency, lifetime_periods),
        predicted_clv_12m=counts.predicted_clv_12m,
        active_base=counts.active_at_end,
        levers=Levers.from_counts(
            leads=counts.leads, buyers=counts.buyers, orders=counts.orders, revenue=counts.revenue
        ),
    )


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
    """How many rows meet every condition (rows of non-customers have NULLs: they do not)."""
    return func.coalesce(func.sum(_flag(and_(*conditions))), 0)
