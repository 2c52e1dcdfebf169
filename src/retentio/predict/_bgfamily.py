"""The algebra BG/NBD and MBG/NBD share, written once with a `modified` switch.

Both models (Fader, Hardie & Lee 2005; Batislam, Denizel & Filiztekin 2007) let purchases
follow a Poisson process with rate lambda ~ Gamma(r, alpha) and let the customer drop out with
probability p ~ Beta(a, b) after each repeat purchase; the MBG/NBD also after the first. With
`shift` = 1 for the MBG/NBD and 0 for the BG/NBD, the formulas differ only by b + shift and by
whether a customer with x = 0 may have dropped out:

    L = B(a, b+x+shift)/B(a, b) * Gamma(r+x) alpha^r / (Gamma(r) (alpha+T)^(r+x))
      + [x > 0 or MBG] B(a+1, b+x-1+shift)/B(a, b) * Gamma(r+x) alpha^r
                                                      / (Gamma(r) (alpha+t_x)^(r+x))

(FHL 2005 eq. 6; Batislam et al. 2007, section 2), evaluated as A1 + A2 + logaddexp(A3, A4) with
B(a+1, b+x-1+shift) / B(a, b+x+shift) = a / (b+x-1+shift). Time is in whatever unit the
summary uses (alpha then has that unit).
"""

# T (the customer's age) keeps the papers' name, as in the literature and in lifetimes.
# ruff: noqa: N803, N806

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special

from retentio.predict._arrays import FloatArray, IntArray, Rows, distinct
from retentio.predict._fitting import Fitted, minimise
from retentio.predict._special import log_hyp2f1, near_point

__all__ = [
    "Prepared",
    "conditional_expected",
    "expected",
    "fit",
    "log_likelihood",
    "objective",
    "p_alive",
    "pmf",
    "prepare",
    "simulate",
]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Distinct rows plus their distinct x values, for an objective evaluated many times."""

    rows: Rows
    x_values: FloatArray  # distinct x
    x_weight: FloatArray  # customers per distinct x
    x_index: IntArray  # each row's position in x_values
    x_may_drop: NDArray[
        np.bool_
    ]  # per distinct x: has the "dropped after the last purchase" branch
    total: float


def prepare(rows: Rows, *, modified: bool) -> Prepared:
    x_values, inverse = np.unique(rows.x, return_inverse=True)
    x_weight = np.bincount(inverse, weights=rows.weight).astype(np.float64)
    may_drop = np.ones(x_values.size, dtype=bool) if modified else x_values > 0
    return Prepared(rows, x_values, x_weight, inverse.astype(np.int64), may_drop, rows.customers)


def _log_drop_term(
    a: float, b: float, x: FloatArray, may_drop: NDArray[np.bool_], shift: float
) -> tuple[FloatArray, FloatArray]:
    """log(a / (b + x - 1 + shift)) where the branch exists (-inf elsewhere), and the divisor."""
    divisor = np.where(may_drop, b + x - 1.0 + shift, 1.0)
    with np.errstate(divide="ignore"):
        log_term = np.where(may_drop, np.log(a) - np.log(divisor), -np.inf)
    return log_term, divisor


def log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    *,
    modified: bool,
) -> FloatArray:
    """Each customer's log-likelihood (FHL 2005 eq. 6; Batislam et al. 2007)."""
    shift = 1.0 if modified else 0.0
    may_drop = np.ones(x.shape, dtype=bool) if modified else x > 0
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x + shift) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    log_drop, _ = _log_drop_term(a, b, x, may_drop, shift)
    a4 = log_drop - (r + x) * np.log(alpha + t_x)
    result: FloatArray = a1 + a2 + np.logaddexp(a3, a4)
    return result


def objective(
    log_params: FloatArray, data: Prepared, *, modified: bool
) -> tuple[float, FloatArray]:
    """Minus the mean log-likelihood over customers and its gradient in log-parameters.

    The gradient is analytic: d/dr, d/dalpha, d/da, d/db of A1 + A2 (digamma terms, summed
    once per distinct x) and of logaddexp(A3, A4) (the two branches weighted by their share
    of the likelihood), each times the parameter for the chain rule through exp. Sums are
    numpy reductions rather than BLAS dot products, which on a busy 2-core box pay for thread
    hand-offs more than they gain.
    """
    r, alpha, a, b = np.exp(log_params)
    shift = 1.0 if modified else 0.0
    xs, wx, total = data.x_values, data.x_weight, data.total
    rows = data.rows
    # Terms of x alone, once per distinct x.
    psi_ab = special.digamma(a + b)
    psi_abx = special.digamma(a + b + xs + shift)
    ll = _dot(
        wx,
        special.gammaln(r + xs)
        - special.gammaln(r)
        + special.betaln(a, b + xs + shift)
        - special.betaln(a, b),
    ) + total * r * np.log(alpha)
    g_r = _dot(wx, special.digamma(r + xs) - special.digamma(r)) + total * np.log(alpha)
    g_alpha = total * r / alpha
    g_a = _dot(wx, psi_ab - psi_abx)
    g_b = _dot(wx, special.digamma(b + xs + shift) - special.digamma(b) - psi_abx + psi_ab)
    log_drop, divisor = _log_drop_term(a, b, xs, data.x_may_drop, shift)
    # Terms of each distinct row: A3 + softplus(A4 - A3) = logaddexp(A3, A4).
    m = r + rows.x
    inv_T = 1.0 / (alpha + rows.T)
    inv_tx = 1.0 / (alpha + rows.t_x)
    log_T = -np.log(inv_T)
    log_ratio = np.log(inv_T * (alpha + rows.t_x))  # log((alpha+t_x)/(alpha+T)) <= 0
    gap = log_drop[data.x_index] - m * log_ratio  # A4 - A3; -inf without the branch
    softplus = np.maximum(gap, 0.0) + np.log1p(np.exp(-np.abs(gap)))
    share4 = special.expit(gap)  # the "dropped after the last purchase" branch's share
    w = rows.weight
    ll += _dot(w, softplus - m * log_T)
    g_r -= _dot(w, log_T + share4 * log_ratio)
    g_alpha -= _dot(w * m, inv_T + share4 * (inv_tx - inv_T))
    drop_weight = np.bincount(data.x_index, weights=w * share4, minlength=xs.size).astype(float)
    g_a += float(np.sum(drop_weight)) / a
    g_b -= _dot(drop_weight, 1.0 / divisor)
    gradient = np.array([r * g_r, alpha * g_alpha, a * g_a, b * g_b])
    return -float(ll) / total, -gradient / total


def _dot(u: FloatArray, v: FloatArray) -> float:
    return float(np.sum(u * v))


def p_alive(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    *,
    modified: bool,
) -> FloatArray:
    """P(alive | x, t_x, T) = 1 / (1 + [x>0 or MBG] a/(b+x-1+shift) ((alpha+T)/(alpha+t_x))^(r+x)).

    Fader, Hardie & Lee 2008, "Computing P(alive) Using the BG/NBD Model" (brucehardie.com
    note 021); Batislam et al. 2007 for the MBG/NBD. Evaluated as expit of the log-odds, so no
    overflow for x = 300.
    """
    shift = 1.0 if modified else 0.0
    may_drop = np.ones(x.shape, dtype=bool) if modified else x > 0
    log_drop, _ = _log_drop_term(a, b, x, may_drop, shift)
    log_odds_dead = log_drop + (r + x) * np.log1p((T - t_x) / (alpha + t_x))
    result: FloatArray = special.expit(-log_odds_dead)
    return result


def conditional_expected(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    *,
    modified: bool,
) -> FloatArray:
    """E[Y(t) | x, t_x, T], the expected purchases in (T, T + t].

    FHL 2005 eq. 10 (for the MBG/NBD, Batislam et al. 2007, the same with b + 1):
        (a + b' - 1)/(a - 1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
                                  2F1(r+x, b'; a+b'-1; t/(alpha+T+t))] * P(alive),
    b' = b + x + shift. The power and 2F1 are combined in log space; at a = 1 (a removable
    singularity) the value is interpolated in a.
    """
    alive = p_alive(r, alpha, a, b, x, t_x, T, modified=modified)
    # Only P(alive) depends on t_x: the rest is evaluated once per distinct (x, T, t).
    first, inverse = distinct(x, T, t)
    xs, Ts, ts = np.ravel(x)[first], np.ravel(T)[first], np.ravel(t)[first]
    b_post = b + xs + (1.0 if modified else 0.0)
    log_keep = -np.log1p(ts / (alpha + Ts))  # log(1 - z)
    z = -np.expm1(log_keep)

    def expected_if_alive(a_: float) -> FloatArray:
        log_f, _ = log_hyp2f1(r + xs, b_post, a_ + b_post - 1.0, z)
        bracket = -np.expm1(log_f + (r + xs) * log_keep)
        value: FloatArray = (a_ + b_post - 1.0) / (a_ - 1.0) * bracket
        return value

    per_row = near_point(expected_if_alive, a, point=1.0)[inverse].reshape(np.shape(x))
    result: FloatArray = per_row * alive
    return result


def expected(
    r: float, alpha: float, a: float, b: float, t: FloatArray, *, modified: bool
) -> FloatArray:
    """E[X(t)] for a customer just acquired.

    FHL 2005 eq. 9: (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))];
    MBG/NBD (Batislam et al. 2007): b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b;
    t/(alpha+t))].
    """
    b_post = b + (1.0 if modified else 0.0)
    log_keep = -np.log1p(t / alpha)
    z = -np.expm1(log_keep)

    def value_at(a_: float) -> FloatArray:
        log_f, _ = log_hyp2f1(r, b_post, a_ + b_post - 1.0, z)
        factor = (b / (a_ + b) if modified else 1.0) * (a_ + b_post - 1.0) / (a_ - 1.0)
        value: FloatArray = factor * -np.expm1(log_f + r * log_keep)
        return value

    return near_point(value_at, a, point=1.0)


def pmf(
    r: float, alpha: float, a: float, b: float, n: FloatArray, t: FloatArray, *, modified: bool
) -> FloatArray:
    """P(X(t) = n) for a customer just acquired.

    FHL 2005 eq. 8:
        B(a, b+n)/B(a, b) NB(n) + [n > 0] B(a+1, b+n-1)/B(a, b) P(NB >= n),
    NB the negative binomial count of a Poisson(lambda t) with lambda ~ Gamma(r, alpha); for
    the MBG/NBD b + n becomes b + n + 1 in both betas and the second term is always there. The
    tail P(NB >= n) = I_{t/(alpha+t)}(n, r) is a regularised incomplete beta, not 1 - a sum.
    """
    shift = 1.0 if modified else 0.0
    q = t / (alpha + t)
    log_nb = (
        special.gammaln(r + n)
        - special.gammaln(r)
        - special.gammaln(n + 1.0)
        + r * np.log(alpha / (alpha + t))
        + special.xlogy(n, q)
    )
    alive = np.exp(special.betaln(a, b + n + shift) - special.betaln(a, b) + log_nb)
    may_drop = (n > 0) | modified
    tail = np.where(n > 0, special.betainc(np.maximum(n, 1.0), r, q), 1.0)
    divisor = np.where(may_drop, b + n - 1.0 + shift, 1.0)
    dropped = np.where(
        may_drop,
        np.exp(special.betaln(a + 1.0, divisor) - special.betaln(a, b)) * tail,
        0.0,
    )
    result: FloatArray = alive + dropped
    return result


def fit(
    rows: Rows, initial: tuple[float, float, float, float] | None, *, modified: bool
) -> Fitted[tuple[float, float, float, float]]:
    """Maximum likelihood on the distinct rows, from `initial` or a start matched to the data."""
    if rows.x.size == 0 or not np.any(rows.T > 0):
        raise ValueError("fitting needs at least one customer with a positive age T")
    data = prepare(rows, modified=modified)
    start = _start(rows) if initial is None else np.log(np.array(initial))
    optimum = minimise(lambda p: objective(p, data, modified=modified), start)
    r, alpha, a, b = (float(v) for v in np.exp(optimum.log_params))
    return Fitted((r, alpha, a, b), optimum, rows.customers, rows.x.size)


def _start(rows: Rows) -> FloatArray:
    """r = 1 and alpha matching the mean purchase rate; a = b = 1 (a flat drop-out prior)."""
    age = float(rows.weight @ rows.T)
    purchases = float(rows.weight @ rows.x)
    alpha = age / max(purchases, 1e-3 * rows.customers)
    start: FloatArray = np.log(np.array([1.0, alpha, 1.0, 1.0]))
    return start


def simulate(
    lam: FloatArray,
    drop: FloatArray,
    age: FloatArray,
    rng: np.random.Generator,
    *,
    drop_at_start: bool,
) -> tuple[FloatArray, FloatArray]:
    """(x, t_x) of customers with rates `lam`, drop-out chances `drop` and ages `age`.

    Exponential gaps between purchases; after each repeat purchase (and, for the MBG/NBD,
    at the first) the customer drops out with probability `drop`.
    """
    n = age.size
    x = np.zeros(n)
    t_x = np.zeros(n)
    clock = np.zeros(n)
    alive = rng.random(n) >= drop if drop_at_start else np.ones(n, dtype=bool)
    active = np.flatnonzero(alive & (lam > 0))
    while active.size:
        clock[active] += rng.standard_exponential(active.size) / lam[active]
        active = active[clock[active] < age[active]]
        x[active] += 1.0
        t_x[active] = clock[active]
        active = active[rng.random(active.size) >= drop[active]]
    return x, t_x
