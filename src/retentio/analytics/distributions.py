"""How the customer base is spread: the RFM grid, CLV deciles, the P(alive) histogram and the
lifecycle flow. Reads over `profiles` and `lifecycle_changes`, one grouped statement each.

Only live contacts count (not deleted, not merged away), as everywhere in analytics. The
profile figures are those of the last recompute; the lifecycle flow is history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Final

from sqlalchemy import ColumnElement, case, func, select, type_coerce
from sqlalchemy.orm import Session

from retentio.analytics.formulas import CENT
from retentio.analytics.sqlfunc import MonthIndex, month_index, month_start
from retentio.contacts.models import Contact
from retentio.predict.rfm import DEFAULT_GRID, Segment
from retentio.profiles.models import MONEY, LifecycleChange, Profile

DECILES: Final = 10
P_ALIVE_BINS: Final = 20
FLOW_MONTHS: Final = 12
SCORES: Final = (1, 2, 3, 4, 5)


def _live() -> ColumnElement[bool]:
    return Contact.deleted_at.is_(None) & Contact.merged_into_id.is_(None)


# --- RFM grid -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RfmCell:
    recency: int  # R score, 5 = bought most recently
    frequency: int  # F score, 5 = buys most often
    segment: Segment
    customers: int
    revenue: Decimal


def rfm_grid(session: Session) -> list[RfmCell]:
    """All 25 (R, F) cells, R from 5 down to 1 and F from 1 up to 5; empty cells count 0."""
    statement = (
        select(
            Profile.r_score,
            Profile.f_score,
            func.count(),
            type_coerce(func.coalesce(func.sum(Profile.revenue), 0), MONEY),
        )
        .join(Contact, Contact.id == Profile.contact_id)
        .where(_live(), Profile.r_score.is_not(None), Profile.f_score.is_not(None))
        .group_by(Profile.r_score, Profile.f_score)
    )
    found = {
        (r, f): (int(n), Decimal(revenue).quantize(CENT))
        for r, f, n, revenue in session.execute(statement)
    }
    return [
        RfmCell(r, f, DEFAULT_GRID[(r, f)], *found.get((r, f), (0, Decimal("0.00"))))
        for r in reversed(SCORES)
        for f in SCORES
    ]


# --- CLV deciles ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decile:
    """Customers ranked by predicted 12-month CLV, decile 1 the most valuable."""

    decile: int
    customers: int
    clv_min: Decimal
    clv_max: Decimal
    clv_mean: Decimal  # mean predicted 12-month CLV
    revenue_mean: Decimal  # mean actual revenue to date (profiles.revenue)
    revenue_total: Decimal


def clv_deciles(session: Session) -> list[Decile]:
    """Contacts with a predicted CLV cut into 10 deciles by CLV, highest first.

    NTILE(10) over CLV descending, ties broken by contact id: with n customers the first
    n mod 10 deciles hold one customer more than the others. Fewer than 10 customers give
    fewer (one-customer) deciles.
    """
    ranked = (
        select(
            Profile.clv_12m.label("clv"),
            Profile.revenue.label("revenue"),
            func.ntile(DECILES)
            .over(order_by=(Profile.clv_12m.desc(), Profile.contact_id))
            .label("decile"),
        )
        .join(Contact, Contact.id == Profile.contact_id)
        .where(_live(), Profile.clv_12m.is_not(None))
        .subquery("ranked")
    )
    c = ranked.c
    statement = (
        select(
            c.decile,
            func.count(),
            type_coerce(func.min(c.clv), MONEY),
            type_coerce(func.max(c.clv), MONEY),
            type_coerce(func.avg(c.clv), MONEY),
            type_coerce(func.avg(c.revenue), MONEY),
            type_coerce(func.sum(c.revenue), MONEY),
        )
        .group_by(c.decile)
        .order_by(c.decile)
    )
    return [
        Decile(
            decile=int(decile),
            customers=int(n),
            clv_min=_money(low),
            clv_max=_money(high),
            clv_mean=_money(mean),
            revenue_mean=_money(revenue_mean),
            revenue_total=_money(revenue_total),
        )
        for decile, n, low, high, mean, revenue_mean, revenue_total in session.execute(statement)
    ]


def _money(value: Decimal | float | int | None) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


# --- P(alive) histogram ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bin:
    low: float
    high: float
    customers: int


def p_alive_histogram(session: Session, *, bins: int = P_ALIVE_BINS) -> list[Bin]:
    """Live contacts with a P(alive) in `bins` equal bins of [0, 1], each [low, high).

    The last bin also holds P(alive) = 1. Every bin is listed, empty ones with 0.
    """
    # Comparisons rather than FLOOR(p × bins): SQLite has no FLOOR without its math
    # extension, and PostgreSQL's CAST to an integer rounds instead of truncating.
    edges = [k / bins for k in range(bins + 1)]
    index = case(
        *((Profile.p_alive < edges[k + 1], k) for k in range(bins - 1)),
        else_=bins - 1,
    )
    # Grouped through a subquery: PostgreSQL does not see that two copies of an expression
    # with bound parameters are the same, so "GROUP BY <the CASE>" would be refused.
    binned = (
        select(index.label("bin"))
        .join(Contact, Contact.id == Profile.contact_id)
        .where(_live(), Profile.p_alive.is_not(None))
        .subquery("binned")
    )
    statement = select(binned.c.bin, func.count()).group_by(binned.c.bin)
    counts = {int(k): int(n) for k, n in session.execute(statement)}
    return [Bin(edges[k], edges[k + 1], counts.get(k, 0)) for k in range(bins)]


# --- Lifecycle flow -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """Moves from one stage to another (from None: a contact's first known stage)."""

    from_stage: str | None
    to_stage: str
    per_month: tuple[int, ...]  # one count per month of `LifecycleFlow.months`

    @property
    def total(self) -> int:
        return sum(self.per_month)


@dataclass(frozen=True, slots=True)
class LifecycleFlow:
    months: tuple[date, ...]  # first days of the months counted, oldest first
    transitions: tuple[Transition, ...]  # largest total first

    @property
    def total(self) -> int:
        return sum(t.total for t in self.transitions)

    def month_totals(self) -> list[int]:
        return [sum(t.per_month[k] for t in self.transitions) for k in range(len(self.months))]


def lifecycle_flow(session: Session, now: datetime, *, months: int = FLOW_MONTHS) -> LifecycleFlow:
    """Stage changes per (from, to) and UTC month, for the last `months` months up to `now`'s."""
    last = month_index(now.astimezone(UTC))
    first = last - months + 1
    since = datetime.combine(month_start(first), datetime.min.time(), tzinfo=UTC)
    until = datetime.combine(month_start(last + 1), datetime.min.time(), tzinfo=UTC)
    month = MonthIndex(LifecycleChange.changed_at)
    statement = (
        select(LifecycleChange.from_stage, LifecycleChange.to_stage, month, func.count())
        .join(Contact, Contact.id == LifecycleChange.contact_id)
        .where(_live(), LifecycleChange.changed_at >= since, LifecycleChange.changed_at < until)
        .group_by(LifecycleChange.from_stage, LifecycleChange.to_stage, month)
    )
    counts: dict[tuple[str | None, str], list[int]] = {}
    for from_stage, to_stage, month_of, n in session.execute(statement):
        row = counts.setdefault((from_stage, to_stage), [0] * months)
        row[int(month_of) - first] += int(n)
    transitions = sorted(
        (Transition(key[0], key[1], tuple(row)) for key, row in counts.items()),
        key=lambda t: (-t.total, t.from_stage or "", t.to_stage),
    )
    return LifecycleFlow(
        months=tuple(month_start(first + k) for k in range(months)),
        transitions=tuple(transitions),
    )
