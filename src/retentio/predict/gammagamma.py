"""The Gamma-Gamma model of spend per purchase, and discounted customer lifetime value.

Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis",
Journal of Marketing Research 42(4), 415-430, and Fader & Hardie (2013), "The Gamma-Gamma
Model of Monetary Value" (www.brucehardie.com/notes/025). The value of each purchase of a
customer is Gamma(p, nu); nu ~ Gamma(q, gamma) across customers, independent of the purchase
process. A repeat buyer is summarised by x (repeat purchases) and m (their mean value).

- likelihood (note 025: the density of the mean m of x purchases, nu integrated out):
      L = Gamma(px+q) / (Gamma(px) Gamma(q)) gamma^q m^(px-1) x^(px) / (gamma + m x)^(px+q);
- fit: maximum likelihood on log-parameters with the analytic gradient (digamma terms) and
  L-BFGS-B, on the repeat buyers (x > 0) only, as in the paper;
- E[M | x, m] = p (gamma + x m) / (p x + q - 1) (note 025 eq. 5), a weighted
  average of the population mean p gamma / (q - 1) and the customer's own mean m;
- CLV: see `customer_lifetime_value`.
"""

# T (the customer's age) keeps the papers' name, as in the literature and in lifetimes.
# ruff: noqa: N803, N806

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from retentio.predict._arrays import FloatArray, as_float, customer_arrays
from retentio.predict._fitting import FitResult, Fitted, minimise
from retentio.predict._protocols import PurchaseModel

__all__ = [
    "GammaGammaParams",
    "conditional_expected_spend",
    "customer_lifetime_value",
    "fit",
    "log_likelihood",
    "simulate",
]


@dataclass(frozen=True, slots=True)
class GammaGammaParams:
    """p: shape of one purchase's value; q, gamma: the Gamma heterogeneity of its rate nu."""

    p: float
    q: float
    gamma: float

    def __post_init__(self) -> None:
        values = (self.p, self.q, self.gamma)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError("Gamma-Gamma parameters must be finite and positive")

    @property
    def population_mean(self) -> float:
        """The mean value of a purchase across customers, p gamma / (q - 1); inf if q <= 1."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else math.inf


def log_likelihood(
    params: GammaGammaParams, x: npt.ArrayLike, mean_spend: npt.ArrayLike
) -> FloatArray:
    """Each repeat buyer's log-likelihood of their mean spend (note 025); x must be > 0."""
    xx, mm = _buyers(x, mean_spend)
    return _log_likelihood(params.p, params.q, params.gamma, xx, mm)


def fit(
    x: npt.ArrayLike,
    mean_spend: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    initial: GammaGammaParams | None = None,
) -> FitResult[GammaGammaParams]:
    """Maximum-likelihood p, q, gamma from the customers with x > 0 (the others are ignored)."""
    xx, mm = np.broadcast_arrays(as_float(x, "x"), as_float(mean_spend, "mean_spend"))
    ww = np.ones(xx.shape) if weights is None else as_float(weights, "weights")
    buyers = np.ravel(xx > 0)
    xx, mm, ww = np.ravel(xx)[buyers], np.ravel(mm)[buyers], np.ravel(ww)[buyers]
    _buyers(xx, mm)
    if xx.size == 0:
        raise ValueError("fitting Gamma-Gamma needs at least one repeat buyer (x > 0)")
    if initial is None:
        start = np.log(np.array([1.0, 2.0, float(np.average(mm, weights=ww))]))
    else:
        start = np.log(np.array([initial.p, initial.q, initial.gamma]))
    optimum = minimise(lambda theta: _objective(theta, xx, mm, ww), start)
    p, q, gamma = (float(v) for v in np.exp(optimum.log_params))
    fitted = Fitted((p, q, gamma), optimum, float(ww.sum()), xx.size)
    return fitted.result(GammaGammaParams(p, q, gamma))


def conditional_expected_spend(
    params: GammaGammaParams, x: npt.ArrayLike, mean_spend: npt.ArrayLike
) -> FloatArray:
    """E[value of a purchase | x, m] = p (gamma + x m) / (p x + q - 1) (note 025 eq. 5).

    For x = 0 this is the population mean p gamma / (q - 1) (inf when q <= 1).
    """
    xx, mm = np.broadcast_arrays(as_float(x, "x"), as_float(mean_spend, "mean_spend"))
    if np.any(xx < 0):
        raise ValueError("x (repeat purchases) must be >= 0")
    p, q, gamma = params.p, params.q, params.gamma
    spend = np.where(xx > 0, mm, 0.0)
    with np.errstate(divide="ignore"):
        result: FloatArray = np.where(
            p * xx + q - 1.0 > 0, p * (gamma + xx * spend) / (p * xx + q - 1.0), np.inf
        )
    return result


def customer_lifetime_value(
    model: PurchaseModel,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    expected_spend: npt.ArrayLike,
    *,
    periods: int,
    period_length: float,
    discount_rate: float,
) -> FloatArray:
    """Discounted value of each customer's purchases over the next `periods` periods.

        CLV = sum_{k=1..periods} spend * (E[Y(k L)] - E[Y((k-1) L)]) / (1 + d)^k,

    E[Y(t)] the model's conditional expected purchases in (T, T + t], L = `period_length` (in
    the model's time unit: 4.345 for months of a model in weeks, 30.4375 for a model in days),
    d = `discount_rate` per period, spend = `expected_spend` (e.g. `conditional_expected_spend`).
    Purchases of period k are discounted as if made at its end. This is the method of
    lifetimes' `GammaGammaFitter.customer_lifetime_value` (monthly periods, monthly rate), so
    the two agree; FHL 2005 instead discount continuously (their DERT), which this
    approximates as periods shorten.
    """
    if periods < 0:
        raise ValueError("periods must be >= 0")
    if not period_length > 0:
        raise ValueError("period_length must be positive")
    if not discount_rate > -1:
        raise ValueError("discount_rate must exceed -1")
    xx, tt, TT = customer_arrays(x, t_x, T)
    spend = as_float(expected_spend, "expected_spend")
    value = np.zeros(np.broadcast_shapes(xx.shape, spend.shape))
    before = np.zeros(xx.shape)
    for k in range(1, periods + 1):
        after = model.conditional_expected_purchases(k * period_length, xx, tt, TT)
        value = value + spend * (after - before) / (1.0 + discount_rate) ** k
        before = after
    return value


def simulate(params: GammaGammaParams, x: npt.ArrayLike, *, rng: np.random.Generator) -> FloatArray:
    """Draw the mean value of x purchases per customer (NaN where x = 0)."""
    xx = np.ravel(as_float(x, "x"))
    nu = rng.gamma(params.q, 1.0 / params.gamma, xx.size)
    total = rng.gamma(np.maximum(params.p * xx, 1e-300), 1.0 / nu)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: FloatArray = np.where(xx > 0, total / xx, np.nan)
    return mean


def _buyers(x: npt.ArrayLike, mean_spend: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    xx, mm = np.broadcast_arrays(as_float(x, "x"), as_float(mean_spend, "mean_spend"))
    if np.any(xx <= 0):
        raise ValueError("the Gamma-Gamma likelihood is for repeat buyers: x must be > 0")
    if np.any(mm <= 0):
        raise ValueError("mean_spend of a repeat buyer must be positive")
    return xx, mm


def _log_likelihood(p: float, q: float, gamma: float, x: FloatArray, m: FloatArray) -> FloatArray:
    px = p * x
    result: FloatArray = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )
    return result


def _objective(
    log_params: FloatArray, x: FloatArray, m: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Minus the mean log-likelihood and its analytic gradient in log-parameters."""
    p, q, gamma = np.exp(log_params)
    total = float(w.sum())
    px = p * x
    log_mx = np.log(gamma + m * x)
    psi = special.digamma(px + q)
    ll = w @ _log_likelihood(p, q, gamma, x, m)
    g_p = w @ (x * (psi - special.digamma(px) + np.log(m) + np.log(x) - log_mx))
    g_q = w @ (psi - special.digamma(q) + np.log(gamma) - log_mx)
    g_gamma = w @ (q / gamma - (px + q) / (gamma + m * x))
    gradient = np.array([p * g_p, q * g_q, gamma * g_gamma])
    return -float(ll) / total, -gradient / total
