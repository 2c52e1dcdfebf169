"""The shop-wide model behind profiles: fitted by a full recompute, reused by a refresh.

Pure numpy, no database: `fit` turns the whole shop's customers into a `ShopModel` (BG/NBD,
Gamma-Gamma, RFM breakpoints, the shop's rhythm); `predict` and `rfm_scores` apply one to any
subset of customers. A full recompute fits and applies to everyone; a refresh applies the
stored model to a few contacts, so both run the same code.

RFM breakpoints. `predict.rfm.quintile_scores` gives position k of n (0-based, in the order
(key, contact id)) the score 1 + floor(5 k / n); so a customer scores s or more exactly when
they sort at or after position ceil((s - 1) n / 5). The customer at that position, for s = 2..5,
is the breakpoint (None when the position is n or beyond: nobody scores s). Counting the
breakpoints at or before a (key, id) gives the same scores as the full ranking for the
customers ranked, and places a changed or new customer where the ranking would put them,
without the others moving. Keys are "higher is better": minus the days since the last order
(counted to the model's `fitted_at`, so they do not drift with the refresh's own time), the
number of orders, and revenue.
"""

# T (the customer's age) keeps the papers' name.
# ruff: noqa: N806

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from retentio.predict import bgnbd, gammagamma
from retentio.predict.bgnbd import BgNbdParams
from retentio.predict.gammagamma import GammaGammaParams

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

DAY_SECONDS = 86_400.0
HORIZON_DAYS = 90.0
CLV_MONTHS = 12
MONTH_DAYS = 30.4375
MONTHLY_DISCOUNT = 0.01
MIN_CUSTOMERS = 20
MIN_REPEAT_BUYERS = 5
RFM_DIMENSIONS = ("recency", "frequency", "monetary")

Breakpoint = tuple[float, int] | None
"""(key, contact id) of the first customer with a score, or None when nobody has it."""


@dataclass(frozen=True, slots=True)
class ShopModel:
    fitted_at: datetime
    customers: int
    purchase: BgNbdParams | None  # None: too few customers, or the fit failed
    spend: GammaGammaParams | None  # None also when q <= 1 (infinite mean spend)
    rhythm_days: float
    breakpoints: dict[str, list[Breakpoint]]  # per RFM_DIMENSIONS, scores 2..5


@dataclass(frozen=True, slots=True)
class Predictions:
    p_alive: FloatArray  # NaN without a purchase model
    expected_90d: FloatArray
    clv_12m: FloatArray  # NaN also without a spend model


@dataclass(frozen=True, slots=True)
class Customers:
    """The model's view of buyers: BG/NBD summary in days, spend, and the RFM keys."""

    contact_id: IntArray
    x: FloatArray  # repeat purchases
    t_x: FloatArray  # days from the first to the last order
    T: FloatArray  # days from the first order to now
    spend: FloatArray  # average check, >= 0
    keys: dict[str, FloatArray]  # per RFM_DIMENSIONS, higher is better


def fit(customers: Customers, *, at: datetime, rhythm_days: float) -> ShopModel:
    """The model of the whole shop (these must be all of its buyers)."""
    purchase = spend = None
    x, t_x, T, m = customers.x, customers.t_x, customers.T, customers.spend
    if x.size >= MIN_CUSTOMERS and int(np.count_nonzero(x > 0)) >= MIN_REPEAT_BUYERS:
        try:
            purchase = bgnbd.fit(x, t_x, T).params
        except (ValueError, FloatingPointError, ArithmeticError):
            purchase = None
    repeat = (x > 0) & (m > 0)
    if purchase is not None and int(np.count_nonzero(repeat)) >= MIN_REPEAT_BUYERS:
        try:
            found = gammagamma.fit(x[repeat], m[repeat]).params
            spend = found if found.q > 1 else None
        except (ValueError, FloatingPointError, ArithmeticError):
            spend = None
    points = {
        name: breakpoints(customers.keys[name], customers.contact_id) for name in RFM_DIMENSIONS
    }
    return ShopModel(at, x.size, purchase, spend, rhythm_days, points)


def predict(model: ShopModel, customers: Customers) -> Predictions:
    """P(alive), expected purchases in 90 days and 12-month CLV; NaN where there is no model."""
    nothing = np.full(customers.x.size, np.nan)
    if model.purchase is None or customers.x.size == 0:
        return Predictions(nothing, nothing, nothing)
    x, t_x, T = customers.x, customers.t_x, customers.T
    try:
        alive = bgnbd.p_alive(model.purchase, x, t_x, T)
        expected = bgnbd.conditional_expected_purchases(model.purchase, HORIZON_DAYS, x, t_x, T)
    except (ValueError, FloatingPointError, ArithmeticError):
        return Predictions(nothing, nothing, nothing)
    if model.spend is None:
        return Predictions(alive, expected, nothing)
    try:
        mean_spend = gammagamma.conditional_expected_spend(model.spend, x, customers.spend)
        clv = gammagamma.customer_lifetime_value(
            model.purchase,
            x,
            t_x,
            T,
            mean_spend,
            periods=CLV_MONTHS,
            period_length=MONTH_DAYS,
            discount_rate=MONTHLY_DISCOUNT,
        )
    except (ValueError, FloatingPointError, ArithmeticError):
        clv = nothing
    return Predictions(alive, expected, clv)


def breakpoints(key: FloatArray, contact_id: IntArray) -> list[Breakpoint]:
    """For scores 2..5, the customer at the first position with that score (module docstring)."""
    size = key.size
    order = np.lexsort((contact_id, key))
    points: list[Breakpoint] = []
    for score in range(2, 6):
        position = -(-(score - 1) * size // 5)  # ceil((s - 1) n / 5) in integers
        if position < size:
            at = order[position]
            points.append((float(key[at]), int(contact_id[at])))
        else:
            points.append(None)
    return points


def scores(key: FloatArray, contact_id: IntArray, points: list[Breakpoint]) -> IntArray:
    """Score 1-5 of each customer: one plus the breakpoints at or before its (key, id)."""
    result = np.ones(key.size, dtype=np.int64)
    for point in points:
        if point is not None:
            value, who = point
            result += (key > value) | ((key == value) & (contact_id >= who))
    return result


def rfm_scores(model: ShopModel, customers: Customers) -> NDArray[np.int64]:
    """(3, n) array of R, F and M scores from the model's breakpoints."""
    return np.stack(
        [
            scores(customers.keys[name], customers.contact_id, model.breakpoints[name])
            for name in RFM_DIMENSIONS
        ]
    )
