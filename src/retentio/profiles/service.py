"""Recompute every contact's profile: aggregates, RFM, BG/NBD + Gamma-Gamma, band and stage.

One grouped query reads the orders per contact (and one the events); everything per contact
after that is numpy over whole arrays; the rows are written back with Core inserts in chunks
after deleting the old ones. The caller owns the transaction (the CLI commits).

Model inputs, time in days, calibration end = `now`:

- x = non-cancelled orders - 1 (each order is a purchase, two on one day are two), t_x = days
  from the first to the last order, T = days from the first order to `now`;
- the Gamma-Gamma mean spend is the average check over all the customer's orders (not the
  repeat orders only: the grouped query has no per-order detail), fitted on repeat buyers
  with a positive average check;
- CLV over 12 months of 30.4375 days at a 1 % monthly discount rate.

With fewer than `MIN_CUSTOMERS` customers or `MIN_REPEAT_BUYERS` repeat buyers, or when a
fit fails, there is no model: P(alive), expected purchases and CLV stay NULL (and CLV also
when the Gamma-Gamma fit gives q <= 1, an infinite mean spend). NaN is never stored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from retentio.db import utcnow
from retentio.predict import bgnbd, gammagamma, rfm
from retentio.profiles import lifecycle, queries
from retentio.profiles.models import Profile

FloatArray = NDArray[np.float64]

DAY_SECONDS = 86_400.0
HORIZON_DAYS = 90.0
CLV_MONTHS = 12
MONTH_DAYS = 30.4375
MONTHLY_DISCOUNT = 0.01
MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 5
CHUNK = 10_000

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RecomputeResult:
    profiles: int
    customers: int
    model_fitted: bool
    spend_model_fitted: bool


@dataclass(frozen=True, slots=True)
class _Predictions:
    p_alive: FloatArray
    expected_90d: FloatArray
    clv_12m: FloatArray
    fitted: bool
    spend_fitted: bool


def recompute(
    session: Session, *, now: datetime | None = None, progress: Progress | None = None
) -> RecomputeResult:
    """Rebuild every live contact's profile as of `now` (default: the current time); flushes."""
    at = (now or utcnow()).astimezone(UTC)
    report = progress or (lambda _done, _total: None)
    data = queries.aggregates(session, at)
    size = data.contact_id.size
    report(0, size)
    buyers = data.orders > 0
    now_s = at.timestamp()
    # Per contact, in days; NaN for contacts without orders.
    span = (data.last_order - data.first_order) / DAY_SECONDS
    age = np.maximum(now_s - data.first_order, 0.0) / DAY_SECONDS
    recency = np.maximum(now_s - data.last_order, 0.0) / DAY_SECONDS
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_between = np.where(data.orders >= 2, span / (data.orders - 1), np.nan)
        average_check = np.where(buyers, data.revenue / data.orders, np.nan)
    recency_days = np.floor(recency)
    frequency = np.where(buyers, data.orders - 1, 0)

    scores = np.zeros((3, size), dtype=np.int64)
    segment = np.full(size, None, dtype=object)
    if buyers.any():
        found = rfm.rfm_scores(
            recency[buyers], data.orders[buyers], data.revenue[buyers], data.contact_id[buyers]
        )
        scores[:, buyers] = np.stack([found.recency, found.frequency, found.monetary])
        segment[buyers] = rfm.segments(found.recency, found.frequency).astype(object)

    predicted = _predict(
        frequency[buyers].astype(np.float64),
        # An order dated after `now` (a clock ahead, an order placed "tonight") would make the
        # last purchase later than the customer's age, which the model cannot take.
        np.minimum(span[buyers], age[buyers]),
        age[buyers],
        np.maximum(average_check[buyers], 0.0),
    )
    p_alive = np.full(size, np.nan)
    expected = np.full(size, np.nan)
    clv = np.full(size, np.nan)
    p_alive[buyers], expected[buyers], clv[buyers] = (
        predicted.p_alive,
        predicted.expected_90d,
        predicted.clv_12m,
    )
    bands = lifecycle.churn_bands(data.orders, recency, mean_between, p_alive)
    stages = lifecycle.lifecycle_stages(
        data.orders, p_alive, bands, data.has_events, data.recent_cart
    )

    columns: dict[str, list[Any]] = {
        "contact_id": data.contact_id.tolist(),
        "first_order_at": data.first_order_at,
        "last_order_at": data.last_order_at,
        "orders": data.orders.tolist(),
        "revenue": [_money(v) for v in data.revenue.tolist()],
        "average_check": [_money(v) for v in average_check.tolist()],
        "mean_days_between": _floats(mean_between),
        "recency_days": _ints(np.where(buyers, recency_days, np.nan)),
        "frequency": _ints(np.where(buyers, frequency, np.nan)),
        "r_score": _ints(np.where(buyers, scores[0], np.nan)),
        "f_score": _ints(np.where(buyers, scores[1], np.nan)),
        "m_score": _ints(np.where(buyers, scores[2], np.nan)),
        "rfm_segment": segment.tolist(),
        "p_alive": _floats(p_alive),
        "expected_purchases_90d": _floats(expected),
        "clv_12m": [_money(v) for v in clv.tolist()],
        "churn_band": bands.tolist(),
        "lifecycle_stage": stages.tolist(),
    }
    session.execute(delete(Profile))
    done = 0
    for rows in _chunks(columns, size, at):
        session.execute(insert(Profile), rows)
        done += len(rows)
        report(done, size)
    session.flush()
    return RecomputeResult(size, int(buyers.sum()), predicted.fitted, predicted.spend_fitted)


def _predict(x: FloatArray, t_x: FloatArray, T: FloatArray, spend: FloatArray) -> _Predictions:  # noqa: N803 - the papers' T
    """P(alive), expected purchases in 90 days and 12-month CLV; NaN where there is no model."""
    nothing = np.full(x.size, np.nan)
    if x.size < MIN_CUSTOMERS or int(np.count_nonzero(x > 0)) < MIN_REPEAT_BUYERS:
        return _Predictions(nothing, nothing, nothing, fitted=False, spend_fitted=False)
    try:
        params = bgnbd.fit(x, t_x, T).params
        alive = bgnbd.p_alive(params, x, t_x, T)
        expected = bgnbd.conditional_expected_purchases(params, HORIZON_DAYS, x, t_x, T)
    except (ValueError, FloatingPointError, ArithmeticError):
        return _Predictions(nothing, nothing, nothing, fitted=False, spend_fitted=False)
    clv = nothing
    spend_fitted = False
    repeat = (x > 0) & (spend > 0)
    if int(np.count_nonzero(repeat)) >= MIN_REPEAT_BUYERS:
        try:
            spend_params = gammagamma.fit(x[repeat], spend[repeat]).params
            if spend_params.q > 1:
                expected_spend = gammagamma.conditional_expected_spend(spend_params, x, spend)
                clv = gammagamma.customer_lifetime_value(
                    params,
                    x,
                    t_x,
                    T,
                    expected_spend,
                    periods=CLV_MONTHS,
                    period_length=MONTH_DAYS,
                    discount_rate=MONTHLY_DISCOUNT,
                )
                spend_fitted = True
        except (ValueError, FloatingPointError, ArithmeticError):
            clv = nothing
    return _Predictions(alive, expected, clv, fitted=True, spend_fitted=spend_fitted)


def _chunks(
    columns: dict[str, list[Any]], size: int, at: datetime
) -> Iterator[list[dict[str, Any]]]:
    names = list(columns)
    for start in range(0, size, CHUNK):
        stop = min(start + CHUNK, size)
        yield [
            {**{name: columns[name][i] for name in names}, "computed_at": at}
            for i in range(start, stop)
        ]


def _finite(value: float) -> bool:
    return value is not None and math.isfinite(value)


def _money(value: float) -> Decimal | None:
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01")) if _finite(value) else None


def _floats(values: FloatArray) -> list[float | None]:
    return [float(v) if _finite(v) else None for v in values.tolist()]


def _ints(values: NDArray[Any]) -> list[int | None]:
    return [int(v) if _finite(v) else None for v in values.astype(np.float64).tolist()]
