"""The incremental effect against the holdout: hand-computed examples, and the 95 % interval's
coverage on simulated campaigns with a known effect."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from retentio.campaigns.stats import GroupOutcome, incremental, mean_difference, rate_difference


def outcome(revenues: list[float]) -> GroupOutcome:
    return GroupOutcome(
        size=len(revenues),
        converted=sum(1 for r in revenues if r > 0),
        revenue=sum(revenues),
        revenue_squares=sum(r * r for r in revenues),
    )


def test_rate_difference_matches_the_normal_approximation_by_hand() -> None:
    # given 120 of 1000 treated and 40 of 500 held out converted
    treated = GroupOutcome(size=1000, converted=120, revenue=0, revenue_squares=0)
    control = GroupOutcome(size=500, converted=40, revenue=0, revenue_squares=0)
    # when
    interval = rate_difference(treated, control)
    # then: 0.12 − 0.08 ± 1.959964 × √(0.12·0.88/1000 + 0.08·0.92/500)
    se = (0.12 * 0.88 / 1000 + 0.08 * 0.92 / 500) ** 0.5
    assert interval is not None
    assert interval.estimate == pytest.approx(0.04)
    assert interval.low == pytest.approx(0.04 - 1.959964 * se, rel=1e-6)
    assert interval.high == pytest.approx(0.04 + 1.959964 * se, rel=1e-6)


def test_mean_difference_is_welchs_interval() -> None:
    # given small groups with different spreads
    treated = outcome([0, 0, 100, 300, 0, 200])
    control = outcome([0, 50, 0, 0, 50])
    # when
    interval = mean_difference(treated, control)
    # then: Welch by hand — means 100 and 20, variances 16000 and 750
    v1, v0 = 16000 / 6, 750 / 5
    df = (v1 + v0) ** 2 / (v1**2 / 5 + v0**2 / 4)
    half = stats.t.ppf(0.975, df) * (v1 + v0) ** 0.5
    assert interval is not None
    assert interval.estimate == pytest.approx(80.0)
    assert interval.low == pytest.approx(80.0 - half)
    assert interval.high == pytest.approx(80.0 + half)


def test_totals_scale_the_per_contact_effect_to_the_treated_group() -> None:
    treated = outcome([10.0] * 30 + [0.0] * 70)
    control = outcome([10.0] * 2 + [0.0] * 8)
    effect = incremental(treated, control)
    assert effect is not None
    assert effect.conversions.estimate == pytest.approx((0.3 - 0.2) * 100)
    assert effect.revenue.estimate == pytest.approx((3.0 - 2.0) * 100)


def test_no_holdout_means_no_effect_rather_than_a_made_up_one() -> None:
    treated = outcome([1.0, 0.0, 2.0])
    assert incremental(treated, outcome([])) is None
    assert incremental(treated, outcome([5.0])) is None


def test_the_95_percent_intervals_cover_a_known_effect_about_95_percent_of_the_time() -> None:
    # given simulated campaigns: base conversion 5 %, the message adds 2 points; each buyer
    # spends a log-normal amount, so the true revenue lift per contact is 0.02 × mean spend
    rng = np.random.default_rng(20261204)
    repetitions, n_treated, n_control = 1000, 4000, 1000
    mean_spend = float(np.exp(8.0 + 0.5**2 / 2))
    true_rate, true_revenue = 0.02, 0.02 * mean_spend
    covered_rate = covered_revenue = 0
    for _ in range(repetitions):
        spend_t = rng.lognormal(8.0, 0.5, n_treated) * (rng.random(n_treated) < 0.07)
        spend_c = rng.lognormal(8.0, 0.5, n_control) * (rng.random(n_control) < 0.05)
        effect = incremental(outcome(list(spend_t)), outcome(list(spend_c)))
        assert effect is not None
        covered_rate += effect.rate_lift.covers(true_rate)
        covered_revenue += effect.revenue_per_contact.covers(true_revenue)
    # then: binomial noise on 1000 repetitions is ±1.4 points at 2σ
    assert 0.93 <= covered_rate / repetitions <= 0.97
    assert 0.93 <= covered_revenue / repetitions <= 0.97
