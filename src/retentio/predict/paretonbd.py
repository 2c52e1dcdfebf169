"""The Pareto/NBD model of repeat buying: likelihood, fit, P(alive) and expected purchases.

Schmittlein, Morrison & Colombo (1987), "Counting Your Customers: Who Are They and What Will
They Do Next?", Management Science 33(1), 1-24. While alive a customer buys as a Poisson
process with rate lambda ~ Gamma(r, alpha); their lifetime is exponential with rate
mu ~ Gamma(s, beta). Same summary (x, t_x, T) and interface as `bgnbd`.

Formulas from Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
Expressions" (www.brucehardie.com/notes/009):

- likelihood (section 3):
      L = Gamma(r+x) alpha^r beta^s / Gamma(r)
          * [1 / ((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0],
      A0 = F(t_x) - F(T), F(y) = 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+y))
                                 / (alpha+y)^(r+s+x)                     (alpha >= beta)
                      F(y) = 2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+y))
                                 / (beta+y)^(r+s+x)                      (alpha < beta);
  evaluated in log space: log A0 = log F(t_x) + log(1 - F(T)/F(t_x)), with the log-space 2F1
  of `_special` (which applies Euler's transformation here, c - a - b = -s < 0);
- P(alive | x, t_x, T) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0) (section 5);
- E[Y(t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
  P(alive) (section 6; its limit -log of the ratio at s = 1);
- E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (section 4).

The fit maximises the likelihood on log-parameters with L-BFGS-B on the distinct rows like
`bgnbd.fit`, but with a central-difference gradient: the derivatives of 2F1 in its parameters
have no cheap closed form. It is an alternative model for comparison, not the default.
"""

# T (the customer's age) keeps the papers' name, as in the literature and in lifetimes.
# ruff: noqa: N803, N806

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from retentio.predict._arrays import (
    FloatArray,
    Rows,
    compress,
    customer_arrays,
    distinct,
    horizon,
)
from retentio.predict._fitting import FitResult, Fitted, minimise
from retentio.predict._special import log1mexp, log_hyp2f1

__all__ = [
    "ParetoNbdParams",
    "conditional_expected_purchases",
    "expected_purchases",
    "fit",
    "log_likelihood",
    "p_alive",
]

_STEP = 1e-5  # central-difference step in log-parameters


@dataclass(frozen=True, slots=True)
class ParetoNbdParams:
    """r, alpha: the Gamma purchase-rate heterogeneity; s, beta: the Gamma drop-out-rate one."""

    r: float
    alpha: float
    s: float
    beta: float

    def __post_init__(self) -> None:
        values = (self.r, self.alpha, self.s, self.beta)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError("Pareto/NBD parameters must be finite and positive")

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        return p_alive(self, x, t_x, T)

    def conditional_expected_purchases(
        self, t: npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        return conditional_expected_purchases(self, t, x, t_x, T)

    def expected_purchases(self, t: npt.ArrayLike) -> FloatArray:
        return expected_purchases(self, t)


def log_likelihood(
    params: ParetoNbdParams, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Each customer's log-likelihood (Fader & Hardie 2005 note, section 3)."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    front, alive, died = _parts(params.r, params.alpha, params.s, params.beta, xx, tt, TT)
    result: FloatArray = front + np.logaddexp(alive, died)
    return result


def fit(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    initial: ParetoNbdParams | None = None,
) -> FitResult[ParetoNbdParams]:
    """Maximum-likelihood Pareto/NBD parameters; `weights` as in `bgnbd.fit`."""
    rows = compress(x, t_x, T, weights)
    if rows.x.size == 0 or not np.any(rows.T > 0):
        raise ValueError("fitting needs at least one customer with a positive age T")
    if initial is None:
        rate = float(rows.weight @ rows.x) / float(rows.weight @ rows.T)
        alpha = 1.0 / max(rate, 1e-3 / float(np.max(rows.T)))
        start = np.log(np.array([1.0, alpha, 1.0, float(np.average(rows.T, weights=rows.weight))]))
    else:
        start = np.log(np.array([initial.r, initial.alpha, initial.s, initial.beta]))
    optimum = minimise(lambda p: _objective(p, rows), start)
    r, alpha, s, beta = (float(v) for v in np.exp(optimum.log_params))
    fitted = Fitted((r, alpha, s, beta), optimum, rows.customers, rows.x.size)
    return fitted.result(ParetoNbdParams(r, alpha, s, beta))


def p_alive(
    params: ParetoNbdParams, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(the customer is still alive at T | x, t_x, T) (Fader & Hardie 2005 note, section 5)."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    _, alive, died = _parts(params.r, params.alpha, params.s, params.beta, xx, tt, TT)
    result: FloatArray = special.expit(alive - died)
    return result


def conditional_expected_purchases(
    params: ParetoNbdParams,
    t: npt.ArrayLike,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Expected purchases in the next `t` time units (Fader & Hardie 2005 note, section 6)."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    span, xx, tt, TT = np.broadcast_arrays(horizon(t), xx, tt, TT)
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    log_ratio = -np.log1p(span / (beta + TT))  # log((beta+T)/(beta+T+t))
    result: FloatArray = (
        (r + xx)
        * (beta + TT)
        / (alpha + TT)
        * _one_minus_power_over(s - 1.0, log_ratio)
        * p_alive(params, xx, tt, TT)
    )
    return result


def expected_purchases(params: ParetoNbdParams, t: npt.ArrayLike) -> FloatArray:
    """E[X(t)] for a customer just acquired (Fader & Hardie 2005 note, section 4)."""
    span = horizon(t)
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    log_ratio = -np.log1p(span / beta)
    result: FloatArray = r * beta / alpha * _one_minus_power_over(s - 1.0, log_ratio)
    return result


def _one_minus_power_over(eps: float, log_q: FloatArray) -> FloatArray:
    """(1 - q^eps) / eps, with its limit -log q at eps = 0."""
    if abs(eps) < 1e-8:
        return -log_q * (1.0 + eps * log_q / 2.0)
    result: FloatArray = -np.expm1(eps * log_q) / eps
    return result


def _parts(
    r: float,
    alpha: float,
    s: float,
    beta: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """log L = front + logaddexp(alive, died): the factor in front, and the log of each branch.

    `alive`: still alive at T, 1 / ((alpha+T)^(r+x) (beta+T)^s); `died`: died in (t_x, T],
    s/(r+s+x) A0.
    """
    front = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    high = max(alpha, beta)
    gap = abs(alpha - beta)

    def log_f(y: FloatArray) -> FloatArray:
        # F depends on (x, y) only: evaluate it once per distinct pair.
        first, inverse = distinct(x, y)
        xs, ys = np.ravel(x)[first], np.ravel(y)[first]
        rho = r + s + xs
        other = s + 1.0 if alpha >= beta else r + xs
        log_h, _ = log_hyp2f1(rho, other, rho + 1.0, gap / (high + ys))
        value: FloatArray = (log_h - rho * np.log(high + ys))[inverse].reshape(np.shape(x))
        return value

    at_tx = log_f(t_x)
    log_a0 = at_tx + log1mexp(np.minimum(log_f(T) - at_tx, 0.0))
    died = np.log(s) - np.log(r + s + x) + log_a0
    return front, alive, died


def _objective(log_params: FloatArray, rows: Rows) -> tuple[float, FloatArray]:
    """Minus the mean log-likelihood and its central-difference gradient in log-parameters."""

    def value(theta: FloatArray) -> float:
        r, alpha, s, beta = np.exp(theta)
        front, alive, died = _parts(r, alpha, s, beta, rows.x, rows.t_x, rows.T)
        return -float(rows.weight @ (front + np.logaddexp(alive, died))) / rows.customers

    gradient = np.empty(4)
    for i in range(4):
        step = np.zeros(4)
        step[i] = _STEP
        gradient[i] = (value(log_params + step) - value(log_params - step)) / (2 * _STEP)
    return value(log_params), gradient
