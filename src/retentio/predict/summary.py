"""From transactions (customer, moment, amount) to the per-customer summary the models take.

Vectorised with numpy, no database: the caller passes arrays read elsewhere. Conventions, as in
Fader, Hardie & Lee's CDNOW work and lifetimes' `summary_data_from_transaction_data`:

- time is cut into periods (`period`, one day by default), counted from the Unix epoch in UTC
  (weeks as periods therefore start on Thursdays); all purchases of one period are one visit,
  its amount the sum of theirs;
- x is the number of visits after the first; t_x the time from the first visit's period to the
  last one's, T from the first visit's period to the calibration end's, both in `unit`
  (weeks for CDNOW: days / 7);
- the mean spend is that of the repeat visits (the first is left out; 0 when x = 0);
- `calibration_end` is inclusive: the period that contains it is the last of the calibration
  window, and the holdout runs from the next period to the one containing `observation_end`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from retentio.predict._arrays import FloatArray, IntArray

__all__ = ["CalibrationHoldout", "CustomerSummary", "Timeline", "split", "summarise", "timeline"]

DAY = np.timedelta64(1, "D")
WEEK = np.timedelta64(7, "D")


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """One row per customer with a purchase in the window, ordered by customer id."""

    customer: NDArray[Any]
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    mean_spend: FloatArray
    first_purchase: NDArray[np.datetime64]  # start of the first visit's period


@dataclass(frozen=True, slots=True)
class CalibrationHoldout:
    """The calibration summary and, for the same customers, what they did in the holdout."""

    calibration: CustomerSummary
    holdout_purchases: FloatArray  # visits (distinct periods) in the holdout
    holdout_spend: FloatArray  # their total amount
    holdout_length: float  # in `unit`


@dataclass(frozen=True, slots=True)
class Timeline:
    """Every customer's first visit and every repeat visit, in `unit` since `origin`."""

    customer: NDArray[Any]
    first: FloatArray  # per customer
    repeats: FloatArray  # per repeat visit, sorted


def summarise(
    customer: npt.ArrayLike,
    moment: npt.ArrayLike,
    amount: npt.ArrayLike,
    *,
    calibration_end: np.datetime64,
    period: np.timedelta64 = DAY,
    unit: np.timedelta64 = DAY,
) -> CustomerSummary:
    """The (x, t_x, T, mean spend) summary of every customer who bought by `calibration_end`."""
    visits = _Visits.of(customer, moment, amount, period)
    end = _period_of(calibration_end, period)
    return visits.summary(visits.period <= end, end, period, unit)


def split(
    customer: npt.ArrayLike,
    moment: npt.ArrayLike,
    amount: npt.ArrayLike,
    *,
    calibration_end: np.datetime64,
    observation_end: np.datetime64,
    period: np.timedelta64 = DAY,
    unit: np.timedelta64 = DAY,
) -> CalibrationHoldout:
    """The calibration summary, and each of its customers' holdout visits and spend."""
    visits = _Visits.of(customer, moment, amount, period)
    end = _period_of(calibration_end, period)
    last = _period_of(observation_end, period)
    if last < end:
        raise ValueError("observation_end must not be before calibration_end")
    summary = visits.summary(visits.period <= end, end, period, unit)
    holdout = (visits.period > end) & (visits.period <= last)
    position = np.searchsorted(summary.customer, visits.customer[holdout])
    known = position < summary.customer.size
    known[known] = summary.customer[position[known]] == visits.customer[holdout][known]
    size = summary.customer.size
    purchases = np.bincount(position[known], minlength=size).astype(np.float64)
    spend = np.bincount(
        position[known], weights=visits.amount[holdout][known], minlength=size
    ).astype(np.float64)
    length = float((last - end) * (period / unit))
    return CalibrationHoldout(summary, purchases, spend, length)


def timeline(
    customer: npt.ArrayLike,
    moment: npt.ArrayLike,
    *,
    origin: np.datetime64,
    end: np.datetime64,
    period: np.timedelta64 = DAY,
    unit: np.timedelta64 = DAY,
) -> Timeline:
    """First visits and repeat visits up to `end` (inclusive), for the tracking chart."""
    ids = np.asarray(customer)
    visits = _Visits.of(ids, moment, np.zeros(ids.shape), period)
    keep = visits.period <= _period_of(end, period)
    cust, when = visits.customer[keep], visits.period[keep]
    start = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]]) if cust.size else np.zeros(0, int)
    scale = float(period / unit)
    base = _period_of(origin, period)
    first = (when[start] - base) * scale
    repeat = np.ones(cust.size, dtype=bool)
    repeat[start] = False
    return Timeline(cust[start], first.astype(np.float64), np.sort((when[repeat] - base) * scale))


@dataclass(frozen=True, slots=True)
class _Visits:
    """One row per customer and period with a purchase, sorted by customer then period."""

    customer: NDArray[Any]
    period: IntArray
    amount: FloatArray

    @classmethod
    def of(
        cls,
        customer: npt.ArrayLike,
        moment: npt.ArrayLike,
        amount: npt.ArrayLike,
        period: np.timedelta64,
    ) -> _Visits:
        ids = np.ravel(np.asarray(customer))
        when = np.ravel(np.asarray(moment))
        value = np.ravel(np.asarray(amount, dtype=np.float64))
        if not (ids.size == when.size == value.size):
            raise ValueError("customer, moment and amount must have one value per transaction")
        if not np.issubdtype(when.dtype, np.datetime64):
            raise ValueError("moment must be numpy datetime64 values")
        if np.any(np.isnat(when)):
            raise ValueError("moment must not contain NaT")
        if not np.all(np.isfinite(value)):
            raise ValueError("amount must be finite")
        if ids.size == 0:
            return cls(ids, np.zeros(0, np.int64), np.zeros(0))
        index = _period_index(when, period)
        names, who = np.unique(ids, return_inverse=True)
        low = int(index.min())
        span = int(index.max()) - low + 1
        key = who.astype(np.int64) * span + (index - low)
        keys, slot = np.unique(key, return_inverse=True)
        total = np.bincount(slot, weights=value).astype(np.float64)
        return cls(names[keys // span], keys % span + low, total)

    def summary(
        self, keep: NDArray[np.bool_], end: int, period: np.timedelta64, unit: np.timedelta64
    ) -> CustomerSummary:
        cust, when, value = self.customer[keep], self.period[keep], self.amount[keep]
        if cust.size == 0:
            empty = np.zeros(0)
            return CustomerSummary(cust, empty, empty, empty, empty, np.zeros(0, "datetime64[s]"))
        start = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
        stop = np.r_[start[1:], cust.size]
        visits = (stop - start).astype(np.float64)
        first, last = when[start], when[stop - 1]
        scale = float(period / unit)
        repeat_spend = np.add.reduceat(value, start) - value[start]
        x = visits - 1.0
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(x > 0, repeat_spend / x, 0.0)
        return CustomerSummary(
            customer=cust[start],
            x=x,
            t_x=((last - first) * scale).astype(np.float64),
            T=((end - first) * scale).astype(np.float64),
            mean_spend=mean,
            first_purchase=np.datetime64(0, "s") + first * _seconds(period),
        )


def _seconds(step: np.timedelta64) -> np.timedelta64:
    seconds = step / np.timedelta64(1, "s")
    if seconds <= 0 or seconds != int(seconds):
        raise ValueError("period and unit must be positive whole numbers of seconds")
    return np.timedelta64(int(seconds), "s")


def _period_index(when: NDArray[Any], period: np.timedelta64) -> IntArray:
    seconds = when.astype("datetime64[s]").astype(np.int64)
    length = _seconds(period).astype(np.int64)
    index: IntArray = np.floor_divide(seconds, length)
    return index


def _period_of(moment: np.datetime64, period: np.timedelta64) -> int:
    return int(_period_index(np.asarray([moment]), period)[0])
