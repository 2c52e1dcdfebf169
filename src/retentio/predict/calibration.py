"""The calibration-vs-holdout report: does the fitted model predict what customers did next?

Two views, as in Fader, Hardie & Lee 2005 (figs. 2-4): mean holdout purchases predicted vs
actual for each number of calibration-period repeat purchases (0, 1, ..., 7+), and cumulative
repeat purchases over calendar time, actual vs predicted, through calibration and holdout.
Plain dataclasses of numbers; charts are drawn elsewhere.
"""

# T (the customer's age) keeps the papers' name, as in the literature and in lifetimes.
# ruff: noqa: N803, N806

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retentio.predict._arrays import FloatArray, as_float, customer_arrays
from retentio.predict._protocols import PurchaseModel

__all__ = [
    "CalibrationReport",
    "FrequencyBucket",
    "Tracking",
    "by_frequency",
    "calibration_report",
    "tracking",
]


@dataclass(frozen=True, slots=True)
class FrequencyBucket:
    """Customers with `purchases` repeat purchases in calibration (`or_more`: that or more)."""

    purchases: int
    or_more: bool
    customers: int
    actual: float  # mean holdout purchases
    predicted: float

    @property
    def label(self) -> str:
        return f"{self.purchases}+" if self.or_more else str(self.purchases)


@dataclass(frozen=True, slots=True)
class Tracking:
    """Cumulative repeat purchases at each time (in the model's unit since the origin)."""

    time: FloatArray
    actual: FloatArray
    predicted: FloatArray
    calibration_end: float


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    buckets: tuple[FrequencyBucket, ...]
    tracking: Tracking
    holdout_actual: float  # total holdout purchases
    holdout_predicted: float


def by_frequency(
    x: npt.ArrayLike, actual: npt.ArrayLike, predicted: npt.ArrayLike, *, top: int = 7
) -> tuple[FrequencyBucket, ...]:
    """Mean actual and predicted holdout purchases for x = 0, 1, ..., top - 1 and top+.

    Buckets without customers are left out.
    """
    xx, aa, pp = np.broadcast_arrays(
        as_float(x, "x"), as_float(actual, "actual"), as_float(predicted, "predicted")
    )
    bucket = np.minimum(np.ravel(xx), top).astype(np.int64)
    count = np.bincount(bucket, minlength=top + 1)
    sum_actual = np.bincount(bucket, weights=np.ravel(aa), minlength=top + 1)
    sum_predicted = np.bincount(bucket, weights=np.ravel(pp), minlength=top + 1)
    return tuple(
        FrequencyBucket(
            purchases=k,
            or_more=k == top,
            customers=int(count[k]),
            actual=float(sum_actual[k] / count[k]),
            predicted=float(sum_predicted[k] / count[k]),
        )
        for k in range(top + 1)
        if count[k] > 0
    )


def tracking(
    model: PurchaseModel,
    first: npt.ArrayLike,
    repeats: npt.ArrayLike,
    *,
    time: npt.ArrayLike,
    calibration_end: float,
) -> Tracking:
    """Cumulative repeat purchases by each of `time`: actual, and predicted sum_i E[X(t - first_i)].

    `first` holds each customer's first purchase and `repeats` every repeat purchase, in the
    model's unit since a common origin (see `summary.timeline`). Customers sharing a first
    purchase time are evaluated once.
    """
    grid = np.ravel(as_float(time, "time"))
    starts, counts = np.unique(np.ravel(as_float(first, "first")), return_counts=True)
    ages = np.maximum(grid[:, None] - starts[None, :], 0.0)
    predicted = model.expected_purchases(ages) @ counts.astype(np.float64)
    actual = np.searchsorted(np.sort(np.ravel(as_float(repeats, "repeats"))), grid, side="right")
    return Tracking(grid, actual.astype(np.float64), predicted, calibration_end)


def calibration_report(
    model: PurchaseModel,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    holdout_purchases: npt.ArrayLike,
    *,
    holdout_length: float,
    first: npt.ArrayLike,
    repeats: npt.ArrayLike,
    step: float = 7.0,
    top: int = 7,
) -> CalibrationReport:
    """Both views for a model fitted on (x, t_x, T), over a holdout of `holdout_length`.

    The tracking grid runs every `step` (a week for a model in days; pass 1.0 for a model in
    weeks) from the origin to the end of the holdout, which is max(first + T) + holdout_length.
    """
    xx, tt, TT = customer_arrays(x, t_x, T)
    predicted = model.conditional_expected_purchases(holdout_length, xx, tt, TT)
    actual = as_float(holdout_purchases, "holdout_purchases")
    starts = as_float(first, "first")
    calibration_end = float(np.max(starts + TT)) if starts.size else 0.0
    grid = np.arange(step, calibration_end + holdout_length + step / 2, step)
    return CalibrationReport(
        buckets=by_frequency(xx, actual, predicted, top=top),
        tracking=tracking(model, starts, repeats, time=grid, calibration_end=calibration_end),
        holdout_actual=float(actual.sum()),
        holdout_predicted=float(predicted.sum()),
    )
