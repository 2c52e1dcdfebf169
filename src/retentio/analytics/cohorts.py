"""Monthly cohorts by first purchase: retention, revenue per customer and cumulative LTV.

A customer's cohort is the UTC month of their first purchase (a non-cancelled order of a live
contact, as in `analytics.queries`). For each cohort and each month since (0 = the cohort's own
month) one grouped statement counts the cohort's customers who bought in that month and their
revenue (total − refunded_total); the measures are ratios to the cohort's size:

- retention % at month k = customers of the cohort who bought in month k / cohort size
  (100 % at month 0 by definition);
- revenue per customer at month k = the cohort's revenue in month k / cohort size;
- cumulative LTV at month k = the cohort's revenue in months 0 … k / cohort size.

Months after `now` are not observed yet and stay None (an empty cell), not 0. The running
month is included as far as it has gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final, Literal

from sqlalchemy import func, select, type_coerce
from sqlalchemy.orm import Session

from retentio.analytics.formulas import CENT
from retentio.analytics.sqlfunc import MonthIndex, month_index, month_start
from retentio.commerce.models import MONEY, Order, OrderStatus
from retentio.contacts.models import Contact

Measure = Literal["retention", "revenue", "ltv"]
MEASURES: Final[tuple[Measure, ...]] = ("retention", "revenue", "ltv")
DEFAULT_MONTHS: Final = 24


@dataclass(frozen=True, slots=True)
class Cohort:
    """One cohort: its month, its size, and per month since its first purchase the buyers and
    revenue (one entry per observed month: the cohort's own month up to `now`'s)."""

    month: date  # the first day of the cohort's month
    customers: int
    buyers: tuple[int, ...]
    revenue: tuple[Decimal, ...]

    def retention(self) -> list[float]:
        """Percent of the cohort buying in each month since (100.0 at month 0)."""
        return [100.0 * n / self.customers for n in self.buyers]

    def revenue_per_customer(self) -> list[Decimal]:
        return [(r / self.customers).quantize(CENT) for r in self.revenue]

    def cumulative_ltv(self) -> list[Decimal]:
        total = Decimal(0)
        values = []
        for revenue in self.revenue:
            total += revenue
            values.append((total / self.customers).quantize(CENT))
        return values

    def values(self, measure: Measure) -> list[float]:
        """One measure as plain floats, for charts and JSON."""
        if measure == "retention":
            return self.retention()
        if measure == "revenue":
            return [float(v) for v in self.revenue_per_customer()]
        return [float(v) for v in self.cumulative_ltv()]


def cohorts(session: Session, now: datetime, *, months: int = DEFAULT_MONTHS) -> list[Cohort]:
    """The cohorts of the last `months` calendar months up to `now`'s, oldest first.

    Cohorts without customers are left out.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    last = month_index(now.astimezone(UTC))
    first_month = last - months + 1
    since = datetime.combine(month_start(first_month), datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(month_start(last + 1), datetime.min.time(), tzinfo=UTC)
    purchase = (Order.status != OrderStatus.CANCELLED, Order.placed_at < until)
    live = (Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))
    first = (
        select(Order.contact_id.label("contact_id"), func.min(Order.placed_at).label("first_at"))
        .join(Contact, Contact.id == Order.contact_id)
        .where(*purchase, *live)
        .group_by(Order.contact_id)
        .having(func.min(Order.placed_at) >= since)
        .subquery("first_purchase")
    )
    cohort = MonthIndex(first.c.first_at)
    month = MonthIndex(Order.placed_at)
    statement = (
        select(
            cohort,
            month,
            func.count(func.distinct(Order.contact_id)),
            type_coerce(func.sum(Order.total - Order.refunded_total), MONEY),
        )
        .join(first, first.c.contact_id == Order.contact_id)
        .where(*purchase)
        .group_by(cohort, month)
    )
    cells: dict[int, dict[int, tuple[int, Decimal]]] = {}
    for cohort_index, month_of, buyers, revenue in session.execute(statement):
        offset = int(month_of) - int(cohort_index)
        cells.setdefault(int(cohort_index), {})[offset] = (int(buyers), Decimal(revenue or 0))
    result = []
    for cohort_index in sorted(cells):
        row = cells[cohort_index]
        span = range(last - cohort_index + 1)
        result.append(
            Cohort(
                month=month_start(cohort_index),
                customers=row[0][0],
                buyers=tuple(row.get(k, (0, Decimal(0)))[0] for k in span),
                revenue=tuple(row.get(k, (0, Decimal(0)))[1].quantize(CENT) for k in span),
            )
        )
    return result
