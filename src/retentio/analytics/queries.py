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
The only dialect-specific piece is turning a timestamp into seconds (`sqlfunc.EpochSeconds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

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
    if end <= start:
        raise ValueError("the period must end after it starts")
    window = timedelta(days=activity_days)
    placed = Order.placed_at
    in_period = placed >= start  # the subquery only sees purchases before `end`
    per_customer = (
        select(
            Order.contact_id.label("contact_id"),
            func.min(placed).label("first_at"),
            func.max(_flag(and_(placed >= start - window, placed < start))).label("at_start"),
            func.max(_flag(placed >= end - window)).label("at_end"),
            func.sum(_flag(in_period)).label("orders"),
            func.sum(case((in_period, Order.total - Order.refunded_total), else_=literal(0))).label(
                "revenue"
            ),
            (func.max(_EpochSeconds(placed)) - func.min(_EpochSeconds(placed))).label("span"),
        )
        .where(Order.status != OrderStatus.CANCELLED, placed < end)
        .group_by(Order.contact_id)
        .subquery("per_customer")
    )
    c = per_customer.c
    group_column = _GROUP_COLUMNS[group_by] if group_by else literal(None).label("group")
    is_customer = c.contact_id.is_not(None)
    is_new = c.first_at >= start
    statement = (
        select(
            group_column,
            _count(c.at_start == 1),
            _count(c.at_end == 1),
            _count(is_new),
            _count(and_(c.at_start == 1, c.at_end == 0)),
            _count(and_(c.at_start == 1, c.at_end == 1)),
            _count(and_(c.at_start == 0, c.at_end == 1, ~is_new)),
            _count(
                Contact.is_anonymous.is_(False),
                Contact.created_at >= start,
                Contact.created_at < end,
            ),
            _count(c.orders > 0),
            _count(c.orders > 1),
            func.coalesce(func.sum(c.orders), 0),
            type_coerce(func.coalesce(func.sum(c.revenue), 0), MONEY),
            _count(is_customer),
            func.coalesce(func.sum(c.span), 0.0),
            type_coerce(func.avg(case((is_customer, Profile.clv_12m))), MONEY),
        )
        .select_from(Contact)
        .outerjoin(per_customer, per_customer.c.contact_id == Contact.id)
        .outerjoin(Profile, Profile.contact_id == Contact.id)
        .where(Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
    )
    if group_by:
        statement = statement.group_by(group_column).order_by(group_column.is_(None), group_column)
    return [
        PeriodCounts(
            group=row[0],
            active_at_start=int(row[1]),
            active_at_end=int(row[2]),
            new=int(row[3]),
            lost=int(row[4]),
            retained=int(row[5]),
            reactivated=int(row[6]),
            leads=int(row[7]),
            buyers=int(row[8]),
            repeat_buyers=int(row[9]),
            orders=int(row[10]),
            revenue=Decimal(row[11]).quantize(formulas.CENT),
            customers=int(row[12]),
            # Whole seconds: SQLite's julianday() is exact to about a millisecond only.
            lifetime_days=round(float(row[13])) / SECONDS_PER_DAY,
            predicted_clv_12m=None if row[14] is None else Decimal(row[14]).quantize(formulas.CENT),
        )
        for row in session.execute(statement)
    ]


def metrics(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    activity_days: int = 365,
    group_by: GroupBy | None = None,
) -> list[PeriodMetrics]:
    """Every metric for [start, end), overall (one row) or per RFM segment, source or city."""
    period_days = (end - start) / timedelta(days=1)
    rows = period_counts(session, start, end, activity_days=activity_days, group_by=group_by)
    return [_metrics(start, end, period_days, counts) for counts in rows]


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
