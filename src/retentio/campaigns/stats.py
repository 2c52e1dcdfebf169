"""The incremental effect of a campaign: the treated group against the holdout.

Pure functions over counts and sums, so the report can compute them from one SQL aggregate.
Conversions are a difference of two proportions (normal approximation, unpooled variance:
the groups are independent random samples of one audience); revenue is a difference of two
means with Welch's t interval, since per-contact revenue has unequal variances and a long tail.
Either effect scaled to the treated group is "how many more orders / roubles than without
the campaign".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float

    def scaled(self, factor: float) -> Interval:
        return Interval(self.estimate * factor, self.low * factor, self.high * factor)

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """One group's outcome: its size, how many converted, and the revenue per contact as
    sum and sum of squares (non-converters count as zero)."""

    size: int
    converted: int
    revenue: float
    revenue_squares: float

    @property
    def rate(self) -> float:
        return self.converted / self.size if self.size else 0.0

    @property
    def mean_revenue(self) -> float:
        return self.revenue / self.size if self.size else 0.0

    def revenue_variance(self) -> float:
        """The sample variance of per-contact revenue (n − 1 in the denominator)."""
        if self.size < 2:
            return 0.0
        mean = self.mean_revenue
        spread = self.revenue_squares - self.size * mean * mean
        return max(spread, 0.0) / (self.size - 1)


@dataclass(frozen=True, slots=True)
class Incremental:
    """Per contact (rates, means) and in total for the treated group."""

    rate_lift: Interval
    revenue_per_contact: Interval
    conversions: Interval
    revenue: Interval


def rate_difference(
    treated: GroupOutcome, control: GroupOutcome, *, confidence: float = CONFIDENCE
) -> Interval | None:
    if not treated.size or not control.size:
        return None
    p1, p0 = treated.rate, control.rate
    se = math.sqrt(p1 * (1 - p1) / treated.size + p0 * (1 - p0) / control.size)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return Interval(p1 - p0, p1 - p0 - z * se, p1 - p0 + z * se)


def mean_difference(
    treated: GroupOutcome, control: GroupOutcome, *, confidence: float = CONFIDENCE
) -> Interval | None:
    if treated.size < 2 or control.size < 2:
        return None
    diff = treated.mean_revenue - control.mean_revenue
    v1 = treated.revenue_variance() / treated.size
    v0 = control.revenue_variance() / control.size
    se = math.sqrt(v1 + v0)
    if se == 0:
        return Interval(diff, diff, diff)
    # Welch–Satterthwaite degrees of freedom.
    df = (v1 + v0) ** 2 / (v1**2 / (treated.size - 1) + v0**2 / (control.size - 1))
    t = float(stats.t.ppf(0.5 + confidence / 2, df))
    return Interval(diff, diff - t * se, diff + t * se)


def incremental(
    treated: GroupOutcome, control: GroupOutcome, *, confidence: float = CONFIDENCE
) -> Incremental | None:
    """None while either group is too small to say anything (no holdout, or an empty one)."""
    lift = rate_difference(treated, control, confidence=confidence)
    per_contact = mean_difference(treated, control, confidence=confidence)
    if lift is None or per_contact is None:
        return None
    return Incremental(
        rate_lift=lift,
        revenue_per_contact=per_contact,
        conversions=lift.scaled(treated.size),
        revenue=per_contact.scaled(treated.size),
    )
