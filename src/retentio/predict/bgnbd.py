"""The BG/NBD model of repeat buying: likelihood, maximum-likelihood fit and predictions.

Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2), 275-284. While alive a customer buys as a Poisson
process with rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop out for good
with probability p ~ Beta(a, b). A customer is summarised by x (repeat purchases), t_x (time of
the last purchase) and T (time since the first purchase), all in one time unit, which alpha
then carries (CDNOW: weeks; the demo shop: days).

- likelihood: eq. 6, in log space (gammaln, betaln, logaddexp), see `_bgfamily`;
- fit: maximum likelihood on log-parameters with the analytic gradient and L-BFGS-B, on the
  distinct (x, t_x, T) rows weighted by their counts;
- P(alive | x, t_x, T): FHL 2008 note "Computing P(alive) Using the BG/NBD Model" (021);
- E[Y(t) | x, t_x, T]: eq. 10, with a log-space 2F1 (`_special`);
- E[X(t)]: eq. 9; P(X(t) = n): eq. 8.

Pure: arrays in, arrays out; nothing here reads a database or a file.
"""

# T (the customer's age) keeps the papers' name, as in the literature and in lifetimes.
# ruff: noqa: N803, N806

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from retentio.predict import _bgfamily
from retentio.predict._arrays import (
    FloatArray,
    as_float,
    compress,
    customer_arrays,
    horizon,
    purchase_count,
)
from retentio.predict._fitting import FitResult

__all__ = [
    "BgNbdParams",
    "conditional_expected_purchases",
    "expected_purchases",
    "fit",
    "log_likelihood",
    "p_alive",
    "purchase_probability",
    "simulate",
]


@dataclass(frozen=True, slots=True)
class BgNbdParams:
    """r, alpha: the Gamma purchase-rate heterogeneity; a, b: the Beta drop-out one."""

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        values = (self.r, self.alpha, self.a, self.b)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError("BG/NBD parameters must be finite and positive")

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        return p_alive(self, x, t_x, T)

    def conditional_expected_purchases(
        self, t: npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        return conditional_expected_purchases(self, t, x, t_x, T)

    def expected_purchases(self, t: npt.ArrayLike) -> FloatArray:
        return expected_purchases(self, t)


def log_likelihood(
    params: BgNbdParams, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Each customer's log-likelihood (FHL 2005 eq. 6)."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    return _bgfamily.log_likelihood(*_tuple(params), xx, tt, TT, modified=False)


def fit(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    initial: BgNbdParams | None = None,
) -> FitResult[BgNbdParams]:
    """Maximum-likelihood BG/NBD parameters for customers (x, t_x, T).

    `weights` counts the customers a row stands for (default 1 each); rows are deduplicated
    either way. Raises ValueError on an invalid summary or when nobody has a positive age.
    """
    start = None if initial is None else _tuple(initial)
    fitted = _bgfamily.fit(compress(x, t_x, T, weights), start, modified=False)
    return fitted.result(BgNbdParams(*fitted.params))


def p_alive(
    params: BgNbdParams, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(the customer is still alive at T | x, t_x, T); 1 for x = 0 (FHL 2008 note 021)."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    return _bgfamily.p_alive(*_tuple(params), xx, tt, TT, modified=False)


def conditional_expected_purchases(
    params: BgNbdParams,
    t: npt.ArrayLike,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Expected purchases in the next `t` time units (FHL 2005 eq. 10); t broadcasts."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    span, xx, tt, TT = np.broadcast_arrays(horizon(t), xx, tt, TT)
    return _bgfamily.conditional_expected(*_tuple(params), span, xx, tt, TT, modified=False)


def expected_purchases(params: BgNbdParams, t: npt.ArrayLike) -> FloatArray:
    """E[X(t)], expected repeat purchases within `t` of a first purchase (FHL 2005 eq. 9)."""
    return _bgfamily.expected(*_tuple(params), horizon(t), modified=False)


def purchase_probability(params: BgNbdParams, n: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
    """P(X(t) = n), the chance of exactly n repeat purchases within `t` (FHL 2005 eq. 8)."""
    count, span = np.broadcast_arrays(purchase_count(n), horizon(t))
    return _bgfamily.pmf(*_tuple(params), count, span, modified=False)


def simulate(
    params: BgNbdParams, T: npt.ArrayLike, *, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw (x, t_x) for customers of ages `T` from the BG/NBD process itself (continuous time).

    Each customer gets lambda ~ Gamma(r, alpha) and p ~ Beta(a, b); purchases follow with
    exponential gaps, and after each the customer drops out with probability p.
    """
    age = np.ravel(as_float(T, "T"))
    lam = rng.gamma(params.r, 1.0 / params.alpha, age.size)
    drop = rng.beta(params.a, params.b, age.size)
    return _bgfamily.simulate(lam, drop, age, rng, drop_at_start=False)


def _tuple(params: BgNbdParams) -> tuple[float, float, float, float]:
    return params.r, params.alpha, params.a, params.b
