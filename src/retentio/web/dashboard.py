"""Reads for the dashboard (`/`): KPIs of the last 30 days, the weekly revenue trend, the
profile breakdowns and the service figures (complaints, SLA). Every read is one SQL
statement; the route only renders what this returns.

Revenue follows `analytics.queries`: non-cancelled orders of live contacts (not deleted, not
merged away) earn `total − refunded_total`, so the trend and the KPI cards agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import metadata
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from retentio.analytics.queries import PeriodMetrics, periods_metrics
from retentio.analytics.sqlfunc import UtcDate
from retentio.commerce.models import Order, OrderStatus
from retentio.contacts.models import Contact
from retentio.feedback.queries import (
    ComplaintRate,
    SlaFigures,
    breached,
    complaint_rate,
    sla_figures,
)
from retentio.kit.text import N_
from retentio.predict.rfm import Segment
from retentio.profiles.labels import CHURN_BAND_LABELS, SEGMENT_LABELS
from retentio.profiles.models import Profile

PERIOD_DAYS = 30
TREND_WEEKS = 26
ONE_TENTH = Decimal("0.1")
ZERO = Decimal("0")
# In the Plotly.js URL, so that its year-long cache ends when the package is upgraded.
PLOTLY_VERSION = metadata.version("plotly")

KpiKind = Literal["money", "number", "percent"]

# The segments a win-back pays off most for, in order of preference.
ACTION_SEGMENTS = (Segment.CANT_LOSE.value, Segment.AT_RISK.value)


@dataclass(frozen=True, slots=True)
class Kpi:
    """One card: this period's value against the previous period's."""

    key: str
    label: str  # English, translated where shown
    kind: KpiKind
    current: Decimal | int | None  # a percent kind holds percents (83.3), not a ratio
    previous: Decimal | int | None
    higher_is_better: bool = True

    @property
    def change(self) -> Decimal | None:
        """Relative change in percent; for percent kinds the difference in percentage points."""
        if self.current is None or self.previous is None:
            return None
        current, previous = Decimal(self.current), Decimal(self.previous)
        if self.kind == "percent":
            return (current - previous).quantize(ONE_TENTH)
        if previous == 0:
            return None
        return ((current - previous) / previous * 100).quantize(ONE_TENTH)

    @property
    def trend(self) -> Literal["up", "down", "flat"] | None:
        change = self.change
        if change is None:
            return None
        return "up" if change > 0 else "down" if change < 0 else "flat"

    @property
    def is_good(self) -> bool | None:
        """Whether the change is good news (None when there is none)."""
        trend = self.trend
        if trend in (None, "flat"):
            return None
        return (trend == "up") == self.higher_is_better


@dataclass(frozen=True, slots=True)
class WeekRevenue:
    start: date  # the Monday the week starts on (UTC)
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class SegmentRow:
    key: str | None  # None: customers without a segment (no purchase yet)
    label: str
    count: int
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class BandRow:
    key: str | None
    label: str
    count: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    period_start: datetime
    period_end: datetime
    kpis: list[Kpi]
    trend: list[WeekRevenue]
    bands: list[BandRow]
    segments: list[SegmentRow]
    profiles: int  # live contacts with a profile
    top_action: SegmentRow | None
    complaints: ComplaintRate
    sla: SlaFigures
    breached: int  # open tickets past a target now

    @property
    def chart(self) -> dict[str, list[Any]]:
        """The trend as plain JSON for the chart script."""
        return {
            "x": [week.start.isoformat() for week in self.trend],
            "y": [float(week.revenue) for week in self.trend],
        }


def build(session: Session, now: datetime) -> Dashboard:
    """Everything the dashboard shows, as of `now` (a UTC datetime)."""
    end = now
    start = end - timedelta(days=PERIOD_DAYS)
    # Both periods from one pass over the orders: the costliest query of the page.
    (current,), (previous,) = periods_metrics(
        session, [(start, end), (start - timedelta(days=PERIOD_DAYS), start)]
    )
    segments = segment_rows(session)
    bands = band_rows(session)
    return Dashboard(
        period_start=start,
        period_end=end,
        kpis=kpis(current, previous),
        trend=weekly_revenue(session, now.astimezone(UTC).date()),
        bands=bands,
        segments=segments,
        profiles=sum(band.count for band in bands),
        top_action=top_action(segments),
        complaints=complaint_rate(session, since=start, until=end),
        sla=sla_figures(session, since=start, until=end, now=now),
        breached=len(breached(session, now=now)),
    )


def _percent(rate: float | None) -> Decimal | None:
    return None if rate is None else (Decimal(str(rate)) * 100).quantize(ONE_TENTH)


def kpis(current: PeriodMetrics, previous: PeriodMetrics) -> list[Kpi]:
    now, before = current.counts, previous.counts
    return [
        Kpi("revenue", N_("Revenue"), "money", now.revenue, before.revenue),
        Kpi("orders", N_("Orders"), "number", now.orders, before.orders),
        Kpi("buyers", N_("Buyers"), "number", now.buyers, before.buyers),
        Kpi(
            "average_check",
            N_("Average check"),
            "money",
            current.average_check,
            previous.average_check,
        ),
        Kpi("active_base", N_("Active base"), "number", current.active_base, previous.active_base),
        Kpi(
            "retention_rate",
            N_("Retention rate"),
            "percent",
            _percent(current.retention_rate),
            _percent(previous.retention_rate),
        ),
        Kpi(
            "churn_rate",
            N_("Churn rate"),
            "percent",
            _percent(current.churn_rate),
            _percent(previous.churn_rate),
            higher_is_better=False,
        ),
    ]


def _live_contact() -> ColumnElement[bool]:
    return Contact.deleted_at.is_(None) & Contact.merged_into_id.is_(None)


def weekly_revenue(session: Session, today: date, weeks: int = TREND_WEEKS) -> list[WeekRevenue]:
    """Revenue per calendar week (Monday to Sunday, UTC), the last `weeks` ending with today's.

    One grouped query gives the revenue per UTC day; the days are put into weeks here.
    """
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    day = UtcDate(Order.placed_at)
    statement = (
        select(day, func.sum(Order.total - Order.refunded_total))
        .join(Contact, Contact.id == Order.contact_id)
        .where(
            Order.status != OrderStatus.CANCELLED,
            Order.placed_at >= datetime.combine(first, time(), tzinfo=UTC),
            _live_contact(),
        )
        .group_by(day)
    )
    totals = [ZERO] * weeks
    for placed_on, revenue in session.execute(statement):
        # SQLite returns the day as text, PostgreSQL as a date.
        placed = placed_on if isinstance(placed_on, date) else date.fromisoformat(str(placed_on))
        index = (placed - first).days // 7
        if 0 <= index < weeks:
            totals[index] += Decimal(revenue or 0)
    return [
        WeekRevenue(first + timedelta(weeks=n), total.quantize(Decimal("0.01")))
        for n, total in enumerate(totals)
    ]


def band_rows(session: Session) -> list[BandRow]:
    """Live contacts' profiles per churn band, in band order (no band last)."""
    statement = (
        select(Profile.churn_band, func.count())
        .join(Contact, Contact.id == Profile.contact_id)
        .where(_live_contact())
        .group_by(Profile.churn_band)
    )
    counts: dict[str | None, int] = {key: int(n) for key, n in session.execute(statement)}
    if not counts:
        return []
    rows = [BandRow(key, label, counts.pop(key, 0)) for key, label in CHURN_BAND_LABELS.items()]
    leftover = sum(counts.values())  # no band (and any unknown one)
    if leftover:
        rows.append(BandRow(None, N_("No band"), leftover))
    return rows


def segment_rows(session: Session) -> list[SegmentRow]:
    """Live contacts' profiles per RFM segment with their revenue, largest first."""
    statement = (
        select(Profile.rfm_segment, func.count(), func.coalesce(func.sum(Profile.revenue), 0))
        .join(Contact, Contact.id == Profile.contact_id)
        .where(_live_contact())
        .group_by(Profile.rfm_segment)
    )
    rows = [
        SegmentRow(
            key,
            SEGMENT_LABELS.get(key, key) if key else N_("No segment"),
            int(count),
            Decimal(revenue).quantize(Decimal("0.01")),
        )
        for key, count, revenue in session.execute(statement)
    ]
    return sorted(rows, key=lambda row: (row.key is None, -row.count, row.key or ""))


def top_action(segments: list[SegmentRow]) -> SegmentRow | None:
    """The first non-empty segment of ACTION_SEGMENTS."""
    by_key = {row.key: row for row in segments}
    for key in ACTION_SEGMENTS:
        row = by_key.get(key)
        if row is not None and row.count > 0:
            return row
    return None
