"""What the Analytics page (and the analytics API) shows, gathered with a fixed number of
grouped queries: the period, the metrics of two periods, the revenue levers, cohorts, the
profile distributions and the lifecycle flow; and the chart data of the calibration check,
which the page loads in a second request (`holdout` fits a model on every order).

Reads only. The chart payloads are plain JSON built here so that the page script only draws.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.orm import Session

from retentio.analytics import cohorts as cohort_reads
from retentio.analytics import distributions
from retentio.analytics.base import COMPLETENESS_FIELDS, BaseHealth, base_health
from retentio.analytics.cohorts import Cohort, Measure
from retentio.analytics.distributions import Bin, Decile, LifecycleFlow, RfmCell
from retentio.analytics.formulas import LEVERS, LeverName, lever_changes, weakest_lever, what_if
from retentio.analytics.holdout import HoldoutCheck
from retentio.analytics.queries import GroupBy, PeriodMetrics, metrics, periods_metrics
from retentio.errors import InvalidInput
from retentio.kit.text import N_
from retentio.profiles.labels import SEGMENT_LABELS, STAGE_LABELS
from retentio.web.dashboard import Kpi

DEFAULT_PERIOD_DAYS: Final = 90
MAX_PERIOD_DAYS: Final = 3660  # ten years: longer periods say nothing a shop can act on
EARLIEST: Final = date(1970, 1, 1)
WHAT_IF_STEP: Final = Decimal("1.2")  # +20 % on each lever
ONE_TENTH: Final = Decimal("0.1")
HUNDREDTH: Final = Decimal("0.01")

LEVER_LABELS: dict[LeverName, str] = {
    "leads": N_("Leads"),
    "conversion": N_("Conversion"),
    "average_check": N_("Average check"),
    "purchases_per_customer": N_("Purchases per customer"),
}
MEASURE_LABELS: dict[Measure, str] = {
    "retention": N_("Retention"),
    "revenue": N_("Revenue per customer"),
    "ltv": N_("Cumulative LTV"),
}
GROUP_LABELS: dict[GroupBy, str] = {
    "rfm_segment": N_("RFM segment"),
    "source": N_("Source"),
    "city": N_("City"),
}
NEW_STAGE_LABEL = N_("(first stage)")
UNKNOWN_GROUP_LABEL = N_("Unknown")


# --- The period -----------------------------------------------------------------------------


# The segment engine's channel names, as people call them.
CHANNEL_LABELS: dict[str, str] = {
    "email": N_("E-mail"),
    "sms": N_("SMS"),
    "telegram": N_("Telegram"),
}


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days, `first_day` to `last_day` inclusive: [start, end) in time."""

    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(
            self.first_day - timedelta(days=self.days), self.first_day - timedelta(days=1)
        )


def default_period(today: date) -> Period:
    """The last 90 days, today included."""
    return Period(today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today)


def parse_period(start: str | None, end: str | None, *, today: date) -> Period:
    """A period from the page's `start`/`end` query values (YYYY-MM-DD, both days included).

    Raises InvalidInput naming the field for a malformed date, and as `period_of` does.
    """
    return period_of(_day(start, "start"), _day(end, "end"), today=today)


def period_of(
    first: date | None,
    last: date | None,
    *,
    today: date,
    fields: tuple[str, str] = ("start", "end"),
) -> Period:
    """The period from `first` to `last`, both included: by default the 90 days to today.

    A missing last day is today; a missing first day is 90 days before the last. Raises
    InvalidInput naming the field (`fields`: how the caller calls the two) for a day before
    1970, a start after the end or a period over ten years.
    """
    for day, field in ((first, fields[0]), (last, fields[1])):
        if day is not None and day < EARLIEST:
            raise InvalidInput(f"{field} must not be before 1970-01-01.", details={"field": field})
    last = last or today
    first = first or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if first > last:
        raise InvalidInput("The period must not start after it ends.", details={"field": fields[0]})
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(
            f"The period must not be longer than {MAX_PERIOD_DAYS} days.",
            details={"field": fields[0]},
        )
    return Period(first, last)


def _day(raw: str | None, field: str) -> date | None:
    if raw is None or not raw.strip():
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise InvalidInput(
            f"{field} must be a date as YYYY-MM-DD.", details={"field": field}
        ) from None


# --- Revenue levers -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeverRow:
    lever: LeverName
    label: str
    previous: Decimal | None
    current: Decimal | None
    change: float | None  # relative: 0.1 is +10 %


@dataclass(frozen=True, slots=True)
class LeverComparison:
    rows: list[LeverRow]
    previous_revenue: Decimal | None
    current_revenue: Decimal | None
    weakest: LeverName | None
    what_if: Decimal  # revenue multiplier when every lever grows by WHAT_IF_STEP

    @property
    def weakest_label(self) -> str | None:
        return None if self.weakest is None else LEVER_LABELS[self.weakest]


def compare_levers(previous: PeriodMetrics, current: PeriodMetrics) -> LeverComparison:
    changes = lever_changes(previous.levers, current.levers)
    rows = [
        LeverRow(
            lever,
            LEVER_LABELS[lever],
            previous.levers.value(lever),
            current.levers.value(lever),
            changes[lever],
        )
        for lever in LEVERS
    ]
    return LeverComparison(
        rows=rows,
        previous_revenue=previous.levers.revenue,
        current_revenue=current.levers.revenue,
        weakest=weakest_lever(previous.levers, current.levers),
        what_if=what_if(dict.fromkeys(LEVERS, WHAT_IF_STEP)).quantize(HUNDREDTH),
    )


# --- Metrics of two periods -----------------------------------------------------------------


def _percent(rate: float | None) -> Decimal | None:
    return None if rate is None else (Decimal(str(rate)) * 100).quantize(ONE_TENTH)


def _rounded(value: float | None, step: Decimal) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(step)


def metric_rows(current: PeriodMetrics, previous: PeriodMetrics) -> list[Kpi]:
    """Every metric of the period against the previous one, as the dashboard's KPI rows."""

    def both(read: Callable[[PeriodMetrics], Any]) -> tuple[Any, Any]:
        return read(current), read(previous)

    return [
        Kpi("revenue", N_("Revenue"), "money", *both(lambda m: m.counts.revenue)),
        Kpi("orders", N_("Orders"), "number", *both(lambda m: m.counts.orders)),
        Kpi("buyers", N_("Buyers"), "number", *both(lambda m: m.counts.buyers)),
        Kpi("new", N_("New customers"), "number", *both(lambda m: m.counts.new)),
        Kpi(
            "active_at_start",
            N_("Active at start"),
            "number",
            *both(lambda m: m.counts.active_at_start),
        ),
        Kpi("active_base", N_("Active base"), "number", *both(lambda m: m.active_base)),
        Kpi(
            "lost",
            N_("Lost customers"),
            "number",
            *both(lambda m: m.counts.lost),
            higher_is_better=False,
        ),
        Kpi("reactivated", N_("Reactivated"), "number", *both(lambda m: m.counts.reactivated)),
        Kpi(
            "retention_rate",
            N_("Retention rate"),
            "percent",
            *both(lambda m: _percent(m.retention_rate)),
        ),
        Kpi(
            "churn_rate",
            N_("Churn rate"),
            "percent",
            *both(lambda m: _percent(m.churn_rate)),
            higher_is_better=False,
        ),
        Kpi(
            "repeat_purchase_rate",
            N_("Repeat purchase rate"),
            "percent",
            *both(lambda m: _percent(m.repeat_purchase_rate)),
        ),
        Kpi(
            "purchase_frequency",
            N_("Purchases per buyer"),
            "number",
            *both(lambda m: _rounded(m.purchase_frequency, HUNDREDTH)),
        ),
        Kpi("average_check", N_("Average check"), "money", *both(lambda m: m.average_check)),
        Kpi(
            "average_lifetime_days",
            N_("Average lifetime, days"),
            "number",
            *both(lambda m: _rounded(m.average_lifetime_days, ONE_TENTH)),
        ),
        Kpi("simple_ltv", N_("Simple LTV"), "money", *both(lambda m: m.simple_ltv)),
        Kpi(
            "predicted_clv_12m",
            N_("Predicted 12-month CLV"),
            "money",
            *both(lambda m: m.predicted_clv_12m),
        ),
        Kpi("leads", N_("Leads"), "number", *both(lambda m: m.counts.leads)),
    ]


def group_label(group_by: GroupBy | None, key: str | None) -> str:
    """The English label of a group (translated where shown)."""
    if key is None:
        return UNKNOWN_GROUP_LABEL
    if group_by == "rfm_segment":
        return SEGMENT_LABELS.get(key, key)
    return key


# --- The page -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnalyticsPage:
    now: datetime
    period: Period
    previous_period: Period
    current: PeriodMetrics
    previous: PeriodMetrics
    comparison: list[Kpi]
    levers: LeverComparison
    group_by: GroupBy | None
    groups: list[PeriodMetrics]
    measure: Measure
    cohorts: list[Cohort]
    rfm: list[RfmCell]
    deciles: list[Decile]
    p_alive: list[Bin]
    flow: LifecycleFlow
    base: BaseHealth

    @property
    def cohort_months(self) -> int:
        """Columns of the cohort table: the oldest cohort's observed months."""
        return max((len(c.buyers) for c in self.cohorts), default=0)

    @property
    def has_profiles(self) -> bool:
        return any(cell.customers for cell in self.rfm) or any(b.customers for b in self.p_alive)

    def chart_data(self, translate: Callable[[str], str]) -> dict[str, Any]:
        """Every chart's data as plain JSON, labels translated with `translate`."""
        return {
            "cohorts": _cohort_chart(self.cohorts),
            "rfm": _rfm_chart(self.rfm, translate),
            "deciles": {
                "x": [d.decile for d in self.deciles],
                "clv": [float(d.clv_mean) for d in self.deciles],
                "revenue": [float(d.revenue_mean) for d in self.deciles],
            },
            "p_alive": {
                "x": [round((b.low + b.high) / 2, 3) for b in self.p_alive],
                "y": [b.customers for b in self.p_alive],
                "width": 1 / len(self.p_alive) if self.p_alive else 0.05,
            },
            "flow": _flow_chart(self.flow, translate),
            "base": _base_chart(self.base, translate),
            "levers": {
                "x": [translate(row.label) for row in self.levers.rows],
                "y": [None if row.change is None else 100 * row.change for row in self.levers.rows],
                "weakest": None
                if self.levers.weakest_label is None
                else translate(self.levers.weakest_label),
            },
        }


def build(
    session: Session,
    now: datetime,
    period: Period,
    *,
    group_by: GroupBy | None = None,
    measure: Measure = "retention",
) -> AnalyticsPage:
    """Everything the page shows for `period`, as of `now` (a UTC datetime)."""
    previous_period = period.previous()
    # One statement, one scan of the orders, for both periods.
    [current], [previous] = periods_metrics(
        session, [(period.start, period.end), (previous_period.start, previous_period.end)]
    )
    groups = metrics(session, period.start, period.end, group_by=group_by) if group_by else []
    if group_by == "rfm_segment":
        # In the segments' own order (best first) rather than by their keys.
        order = list(SEGMENT_LABELS)
        groups.sort(key=lambda m: order.index(m.group) if m.group in order else len(order))
    return AnalyticsPage(
        now=now,
        period=period,
        previous_period=previous_period,
        current=current,
        previous=previous,
        comparison=metric_rows(current, previous),
        levers=compare_levers(previous, current),
        group_by=group_by,
        groups=groups,
        measure=measure,
        cohorts=cohort_reads.cohorts(session, now),
        rfm=distributions.rfm_grid(session),
        deciles=distributions.clv_deciles(session),
        p_alive=distributions.p_alive_histogram(session),
        flow=distributions.lifecycle_flow(session, now),
        base=base_health(session),
    )


def _base_chart(base: BaseHealth, translate: Callable[[str], str]) -> dict[str, Any]:
    """Shares in percent: reachable per channel, then each field of a complete record."""
    rows = [(translate(CHANNEL_LABELS[name]), count) for name, count in base.reachable.items()]
    rows += [(translate(COMPLETENESS_FIELDS[name]), count) for name, count in base.filled.items()]
    return {
        "x": [label for label, _count in rows],
        "y": [round(100 * (base.share(count) or 0.0), 1) for _label, count in rows],
        "reach": len(base.reachable),
    }


def _cohort_chart(cohorts: list[Cohort]) -> dict[str, Any]:
    width = max((len(c.buyers) for c in cohorts), default=0)

    def padded(values: list[float]) -> list[float | None]:
        return [*values, *([None] * (width - len(values)))]

    return {
        "x": list(range(width)),
        "y": [c.month.strftime("%Y-%m") for c in cohorts],
        "customers": [c.customers for c in cohorts],
        "z": {m: [padded(c.values(m)) for c in cohorts] for m in ("retention", "revenue", "ltv")},
    }


def _rfm_chart(cells: list[RfmCell], translate: Callable[[str], str]) -> dict[str, Any]:
    recency = sorted({c.recency for c in cells}, reverse=True)
    frequency = sorted({c.frequency for c in cells})
    by_cell = {(c.recency, c.frequency): c for c in cells}
    return {
        "x": frequency,
        "y": recency,
        "z": [[by_cell[(r, f)].customers for f in frequency] for r in recency],
        "revenue": [[float(by_cell[(r, f)].revenue) for f in frequency] for r in recency],
        "segment": [
            [translate(SEGMENT_LABELS[by_cell[(r, f)].segment.value]) for f in frequency]
            for r in recency
        ],
    }


def stage_label(stage: str | None) -> str:
    """The English label of a lifecycle stage; None is a contact's first known stage."""
    return NEW_STAGE_LABEL if stage is None else STAGE_LABELS.get(stage, stage)


def _flow_chart(flow: LifecycleFlow, translate: Callable[[str], str]) -> dict[str, Any]:
    """A Sankey over the whole window: "from" stages on the left, "to" stages on the right.

    Two node sets, because a flow back (loyalty → churned → loyalty) would otherwise be a cycle,
    which a Sankey cannot draw.
    """
    sources = sorted({t.from_stage or "" for t in flow.transitions})
    targets = sorted({t.to_stage for t in flow.transitions})
    labels = [translate(stage_label(s or None)) for s in sources]
    labels += [translate(stage_label(s)) for s in targets]
    return {
        "labels": labels,
        "source": [sources.index(t.from_stage or "") for t in flow.transitions],
        "target": [len(sources) + targets.index(t.to_stage) for t in flow.transitions],
        "value": [t.total for t in flow.transitions],
    }


def holdout_chart(check: HoldoutCheck) -> dict[str, Any] | None:
    report = check.report
    if report is None:
        return None
    return {
        "buckets": {
            "x": [b.label for b in report.buckets],
            "actual": [b.actual for b in report.buckets],
            "predicted": [b.predicted for b in report.buckets],
        },
        "tracking": {
            "x": [d.isoformat() for d in check.tracking_dates()],
            "actual": report.tracking.actual.tolist(),
            "predicted": report.tracking.predicted.tolist(),
            "calibration_end": None
            if check.calibration_end is None
            else check.calibration_end.isoformat(),
        },
    }
