"""The MBG/NBD model: BG/NBD where a customer may also drop out right after the first purchase.

Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
customer base analysis", International Journal of Research in Marketing 24(3), 201-209 (the
model is also in Hoppe & Wagner 2007). Same summary (x, t_x, T) and parameters (r, alpha, a, b)
as `bgnbd`, and the same functions; the formulas are the BG/NBD ones with b + x + 1 in place of
b + x and the "dropped" branch present for x = 0 too (see `_bgfamily`):

- likelihood: Batislam et al., section 2; fit: as `bgnbd.fit` (analytic gradient, distinct rows);
- P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)) (a customer with x = 0
  is no longer surely alive);
- E[Y(t) | x, t_x, T] and E[X(t)]: FHL 2005 eqs. 10 and 9 with b + 1 (Batislam et al.);
  P(X(t) = n): derived as FHL 2005 eq. 8.
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
    "MbgNbdParams",
    "conditional_expected_purchases",
    "expected_purchases",
    "fit",
    "log_likelihood",
    "p_alive",
    "purchase_probability",
    "simulate",
]


@dataclass(frozen=True, slots=True)
class MbgNbdParams:
    """r, alpha: the Gamma purchase-rate heterogeneity; a, b: the Beta drop-out one."""

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        values = (self.r, self.alpha, self.a, self.b)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise ValueError("MBG/NBD parameters must be finite and positive")

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        return p_alive(self, x, t_x, T)

    def conditional_expected_purchases(
        self, t: npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        return conditional_expected_purchases(self, t, x, t_x, T)

    def expected_purchases(self, t: npt.ArrayLike) -> FloatArray:
        return expected_purchases(self, t)


def log_likelihood(
    params: MbgNbdParams, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Each customer's log-likelihood (Batislam et al. 2007)."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    return _bgfamily.log_likelihood(*_tuple(params), xx, tt, TT, modified=True)


def fit(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    initial: MbgNbdParams | None = None,
) -> FitResult[MbgNbdParams]:
    """Maximum-likelihood MBG/NBD parameters; `weights` as in `bgnbd.fit`."""
    start = None if initial is None else _tuple(initial)
    fitted = _bgfamily.fit(compress(x, t_x, T, weights), start, modified=True)
    return fitted.result(MbgNbdParams(*fitted.params))


def p_alive(
    params: MbgNbdParams, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(the customer is still alive at T | x, t_x, T) (Batislam et al. 2007)."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    return _bgfamily.p_alive(*_tuple(params), xx, tt, TT, modified=True)


def conditional_expected_purchases(
    params: MbgNbdParams,
    t: npt.ArrayLike,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Expected purchases in the next `t` time units (Batislam et al. 2007)."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    span, xx, tt, TT = np.broadcast_arrays(horizon(t), xx, tt, TT)
    return _bgfamily.conditional_expected(*_tuple(params), span, xx, tt, TT, modified=True)


def expected_purchases(params: MbgNbdParams, t: npt.ArrayLike) -> FloatArray:
    """E[X(t)] for a customer just acquired (Batislam et al. 2007)."""
    return _bgfamily.expected(*_tuple(params), horizon(t), modified=True)


def purchase_probability(params: MbgNbdParams, n: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
    """P(X(t) = n): B(a, b+n+1)/B(a, b) NB(n) + B(a+1, b+n)/B(a, b) P(NB >= n)."""
    count, span = np.broadcast_arrays(purchase_count(n), horizon(t))
    return _bgfamily.pmf(*_tuple(params), count, span, modified=True)


def simulate(
    params: MbgNbdParams, T: npt.ArrayLike, *, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw (x, t_x) for customers of ages `T` from the MBG/NBD process (continuous time)."""
    age = np.ravel(as_float(T, "T"))
    lam = rng.gamma(params.r, 1.0 / params.alpha, age.size)
    drop = rng.beta(params.a, params.b, age.size)
    return _bgfamily.simulate(lam, drop, age, rng, drop_at_start=True)


def _tuple(params: MbgNbdParams) -> tuple[float, float, float, float]:
    return params.r, params.alpha, params.a, params.b
