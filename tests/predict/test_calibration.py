"""The calibration-vs-holdout report: buckets by hand, tracking with a stand-in model, CDNOW."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from retentio.predict import bgnbd, calibration, summary
from retentio.predict._arrays import FloatArray
from tests.predict.conftest import Transactions


def test_buckets_average_each_frequency_and_pool_the_top() -> None:
    x = [0, 0, 1, 3, 9, 12]
    actual = [0, 1, 2, 2, 5, 7]
    predicted = [0.5, 0.5, 1.0, 2.5, 4.0, 8.0]
    buckets = calibration.by_frequency(x, actual, predicted, top=7)
    assert [(b.label, b.customers, b.actual, b.predicted) for b in buckets] == [
        ("0", 2, 0.5, 0.5),
        ("1", 1, 2.0, 1.0),
        ("3", 1, 2.0, 2.5),
        ("7+", 2, 6.0, 6.0),
    ]


class _OnePerUnit:
    """A stand-in model: every new customer makes one repeat purchase per time unit."""

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:  # noqa: N803
        return np.ones(np.shape(x))

    def conditional_expected_purchases(
        self,
        t: npt.ArrayLike,
        x: npt.ArrayLike,
        t_x: npt.ArrayLike,
        T: npt.ArrayLike,  # noqa: N803
    ) -> FloatArray:
        return np.asarray(t, dtype=np.float64) * np.ones(np.shape(x))

    def expected_purchases(self, t: npt.ArrayLike) -> FloatArray:
        return np.asarray(t, dtype=np.float64)


def test_tracking_sums_expected_purchases_from_each_first_purchase() -> None:
    got = calibration.tracking(
        _OnePerUnit(), first=[0.0, 0.0, 2.0], repeats=[0.5, 1.0, 2.5, 3.0], time=[1.0, 2.0, 3.0],
        calibration_end=2.0,
    )  # fmt: skip
    assert got.predicted.tolist() == [2.0, 4.0, 7.0]  # 1+1, 2+2, 3+3+1
    assert got.actual.tolist() == [2.0, 2.0, 4.0]


def test_cdnow_report_tracks_the_holdout(cdnow_transactions: Transactions) -> None:
    # given: the model fitted on the calibration summary built from the raw sample
    tx = cdnow_transactions
    split = summary.split(
        tx.customer, tx.moment, tx.amount, calibration_end=np.datetime64("1997-09-30"),
        observation_end=np.datetime64("1998-06-30"), unit=summary.WEEK,
    )  # fmt: skip
    cal = split.calibration
    params = bgnbd.fit(cal.x, cal.t_x, cal.T).params
    line = summary.timeline(
        tx.customer, tx.moment, origin=np.datetime64("1997-01-01"),
        end=np.datetime64("1998-06-30"), unit=summary.WEEK,
    )  # fmt: skip
    # when
    report = calibration.calibration_report(
        params, cal.x, cal.t_x, cal.T, split.holdout_purchases,
        holdout_length=split.holdout_length, first=line.first, repeats=line.repeats, step=1.0,
    )  # fmt: skip
    # then: FHL 2005 fig. 4 - buckets 0..7+ with 1,411 customers at zero, predictions close
    assert [b.label for b in report.buckets] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert report.buckets[0].customers == 1411
    assert report.buckets[0].actual == pytest.approx(0.237, abs=1e-3)
    assert report.buckets[0].predicted == pytest.approx(0.225, abs=2e-3)
    assert report.holdout_actual == 1882
    assert report.holdout_predicted == pytest.approx(1882, rel=0.15)
    # and fig. 2: 78 weekly points, calibration ending at week 38.86, within 5 % at the end
    assert report.tracking.time.size == 78
    assert report.tracking.calibration_end == pytest.approx(38.857, abs=1e-3)
    assert report.tracking.actual[-1] == 2457 + 1882
    assert report.tracking.predicted[-1] == pytest.approx(2457 + 1882, rel=0.05)
