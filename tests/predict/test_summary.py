"""From transactions to (x, t_x, T, mean spend): CDNOW's published summary and hand examples."""

from __future__ import annotations

import numpy as np
import pytest

from retentio.predict import summary
from tests.predict.conftest import Cdnow, Transactions

CALIBRATION_END = np.datetime64("1997-09-30")
OBSERVATION_END = np.datetime64("1998-06-30")


def test_cdnow_summary_from_the_raw_sample_matches_the_published_file(
    cdnow: Cdnow, cdnow_transactions: Transactions
) -> None:
    # when: days as periods, weeks as the unit, calibration to 1997-09-30 inclusive
    split = summary.split(
        cdnow_transactions.customer,
        cdnow_transactions.moment,
        cdnow_transactions.amount,
        calibration_end=CALIBRATION_END,
        observation_end=OBSERVATION_END,
        unit=summary.WEEK,
    )
    got = split.calibration
    # then: every customer, to the file's rounding (2 decimals)
    np.testing.assert_array_equal(got.customer, cdnow.customer)
    np.testing.assert_array_equal(got.x, cdnow.x)
    for column, published in ((got.t_x, cdnow.t_x), (got.T, cdnow.T), (got.mean_spend, cdnow.zbar)):
        assert np.max(np.abs(column - published)) <= 0.005 + 1e-9
    assert split.holdout_length == 39.0
    assert split.holdout_purchases.sum() == 1882  # repeat-purchase days in the holdout
    assert got.first_purchase.min() == np.datetime64("1997-01-01")


def test_a_small_shop_by_hand() -> None:
    # given: customer 7 buys twice on day 1 (one visit), then days 3 and 10; customer 2 buys
    # on day 5 only; customer 9 only after the calibration end (day 12)
    day = np.datetime64("2024-01-01")
    moments = day + np.array([0, 0, 2, 9, 4, 11, 13, 14]) + np.timedelta64(13, "h")
    customers = np.array([7, 7, 7, 7, 2, 9, 7, 2])
    amounts = np.array([10.0, 5.0, 20.0, 40.0, 99.0, 1.0, 8.0, 3.0])
    # when
    split = summary.split(
        customers, moments, amounts,
        calibration_end=day + np.timedelta64(10, "D"),
        observation_end=day + np.timedelta64(20, "D"),
    )  # fmt: skip
    got = split.calibration
    # then: customers 2 and 7 (sorted), days as unit, calibration end day 10 inclusive
    assert got.customer.tolist() == [2, 7]
    assert got.x.tolist() == [0.0, 2.0]
    assert got.t_x.tolist() == [0.0, 9.0]
    assert got.T.tolist() == [6.0, 10.0]
    assert got.mean_spend.tolist() == [0.0, 30.0]  # (20 + 40) / 2: the first visit left out
    assert got.first_purchase.tolist() == [
        np.datetime64("2024-01-05T00:00:00"), np.datetime64("2024-01-01T00:00:00")
    ]  # fmt: skip
    assert split.holdout_purchases.tolist() == [1.0, 1.0]
    assert split.holdout_spend.tolist() == [3.0, 8.0]
    assert split.holdout_length == 10.0


def test_weeks_as_periods_count_one_visit_per_week() -> None:
    start = np.datetime64("2024-01-04")  # a Thursday: periods are counted from the epoch
    moments = start + np.array([0, 1, 6, 7, 15])
    got = summary.summarise(
        np.zeros(5, dtype=np.int64), moments, np.ones(5),
        calibration_end=start + np.timedelta64(20, "D"), period=summary.WEEK, unit=summary.WEEK,
    )  # fmt: skip
    assert got.x.tolist() == [2.0]  # weeks 0, 1, 2
    assert got.t_x.tolist() == [2.0]
    assert got.T.tolist() == [2.0]


def test_timeline_places_first_and_repeat_visits(cdnow_transactions: Transactions) -> None:
    line = summary.timeline(
        cdnow_transactions.customer,
        cdnow_transactions.moment,
        origin=np.datetime64("1997-01-01"),
        end=OBSERVATION_END,
        unit=summary.WEEK,
    )
    assert line.first.size == 2357
    assert line.first.min() == 0.0
    assert line.first.max() < 12.9  # everyone first bought in Q1 1997
    # 2,457 repeat visits in calibration (the sum of x) and 1,882 in the holdout
    assert line.repeats.size == 2457 + 1882
    assert np.all(np.diff(line.repeats) >= 0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="datetime64"):
        summary.summarise([1], [1.0], [1.0], calibration_end=np.datetime64("2024-01-01"))
    with pytest.raises(ValueError, match="one value per transaction"):
        summary.summarise(
            [1, 2], np.array(["2024-01-01"], dtype="datetime64[D]"), [1.0],
            calibration_end=np.datetime64("2024-01-01"),
        )  # fmt: skip
