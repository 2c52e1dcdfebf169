"""Special functions the customer-base models need, evaluated stably in float64.

The Gauss hypergeometric function 2F1(a, b; c; z) appears in every "buy till you die"
expectation (BG/NBD, MBG/NBD, Pareto/NBD). `scipy.special.hyp2f1` overflows for the large
parameters a heavy buyer brings (2F1(r + x, b + x; a + b + x - 1; z) with x = 300 is ~1e301
before it is multiplied by a tiny power) and slows down or loses accuracy as z nears 1, so this
module returns log|2F1| and its sign, for real parameters and 0 <= z < 1, as follows:

1. Euler's transformation (Abramowitz & Stegun 15.3.3, DLMF 15.8.1)
   2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z) when c - a - b < 0 and the
   new numerator parameters exceed -1: the series left to sum then has s = c - a - b >= 0,
   terms of one sign (no cancellation) and small terms even for huge a, b.
2. The Gauss series itself, term ratios accumulated in log space, summed in chunks against a
   running scale, stopped by a geometric bound on the tail.
3. For z > 0.75, s <= 25 and (1 - z) max(|a b|, |(c - a)(c - b)|) <= 3, where the series
   would decay only like z^k, the connection formula to 1 - z (A&S 15.3.6, DLMF 15.8.4),
   whose two series in w = 1 - z < 0.25 converge fast. It is singular when s is an integer
   (A&S 15.3.10-12 give the logarithmic limit); within 5e-4 of an integer the value is
   interpolated instead, in a, from six points a +- k 2e-3 (k = 1, 2, 3) where the formula is
   regular. 2F1 is analytic in a, so the interpolation error is O(delta^6) ~ 1e-16 and the
   cancellation costs about three digits. Outside that region the formula's two terms grow
   like exp(a b (1 - z)) and cancel, so the series is summed however many terms it takes (at
   most 200,000: NaN beyond, never a wrong number; that needs z within ~1e-3 of 1 together
   with parameters in the hundreds).

Accuracy against mpmath at 50 digits is ~1e-12 relative or better on the grids of
`tests/predict/test_special.py`. Not a general-purpose 2F1: complex values, z < 0 or z >= 1,
and c a non-positive integer are out of scope.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import special

from retentio.predict._arrays import FloatArray

__all__ = ["hyp2f1", "log1mexp", "log_hyp2f1", "near_point"]

_Z_SWITCH = 0.75
_NEAR_INTEGER = 5e-4
_STEP = 2e-3
_NODES = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
_MAX_TERMS = 200_000
_MAX_GROWTH = 3.0
_MAX_S = 25.0
_TAIL_TOL = np.log(1e-17)


def hyp2f1(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike, z: npt.ArrayLike) -> FloatArray:
    """2F1(a, b; c; z) for real a, b, c and 0 <= z < 1 (may overflow to inf: use log_hyp2f1)."""
    log_abs, sign = log_hyp2f1(a, b, c, z)
    with np.errstate(over="ignore"):
        value: FloatArray = sign * np.exp(log_abs)
    return value


def log_hyp2f1(
    a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike, z: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """log|2F1(a, b; c; z)| and sign(2F1), broadcast over the arguments.

    The sign is 0 (and the log -inf) where the function is exactly zero.
    """
    aa, bb, cc, zz = (np.asarray(v, dtype=np.float64) for v in (a, b, c, z))
    aa, bb, cc, zz = np.broadcast_arrays(aa, bb, cc, zz)
    if np.any((zz < 0) | (zz >= 1) | np.isnan(zz)):
        raise ValueError("log_hyp2f1 needs 0 <= z < 1")
    if np.any((cc <= 0) & (cc == np.round(cc))):
        raise ValueError("log_hyp2f1 needs c that is not 0, -1, -2, ...")
    shape = aa.shape
    aa, bb, cc, zz = (np.ravel(v) for v in (aa, bb, cc, zz))
    s = cc - aa - bb
    # A non-positive integer a or b makes the series a polynomial: summed exactly as it is.
    polynomial = ((aa <= 0) & (aa == np.round(aa))) | ((bb <= 0) & (bb == np.round(bb)))
    euler = _prefer_euler(aa, bb, cc) & ~polynomial
    log_pre = np.where(euler, s * np.log1p(-zz), 0.0)
    a2 = np.where(euler, cc - aa, aa)
    b2 = np.where(euler, cc - bb, bb)
    log_abs = np.empty(aa.size)
    sign = np.empty(aa.size)
    # The connection formula's two series grow like exp(parameter * w): with large parameters
    # and w not small its two terms are huge and cancel, so it is used only where
    # w * max|parameter| is modest; it is not needed when s is large (the series then decays
    # like k^-(1+s)).
    s2 = cc - a2 - b2
    spread = np.maximum(np.abs(a2 * b2), np.abs((cc - a2) * (cc - b2)))
    tame = (spread * (1.0 - zz) <= _MAX_GROWTH) & (s2 <= _MAX_S)
    near_one = (zz > _Z_SWITCH) & tame & ~polynomial
    low = ~near_one
    log_abs[low], sign[low] = _log_series(a2[low], b2[low], cc[low], zz[low])
    if near_one.any():
        log_abs[near_one], sign[near_one] = _log_near_one(
            a2[near_one], b2[near_one], cc[near_one], zz[near_one]
        )
    return (log_abs + log_pre).reshape(shape), sign.reshape(shape)


def _prefer_euler(a: FloatArray, b: FloatArray, c: FloatArray) -> npt.NDArray[np.bool_]:
    """Whether to sum Euler's form 2F1(c-a, c-b; c; z) rather than 2F1(a, b; c; z).

    A series whose numerator parameters are > -1 has terms of one sign after the first, so no
    cancellation. Prefer the form with that property; between two such, Euler's when
    c - a - b < 0, whose series then converges at z = 1 and has smaller terms.
    """
    direct_ok = (a > -1) & (b > -1)
    euler_ok = (c - a > -1) & (c - b > -1)
    prefer: npt.NDArray[np.bool_] = euler_ok & ((c - a - b < 0) | ~direct_ok)
    return prefer


def _log_series(
    a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The Gauss series sum_k (a)_k (b)_k / ((c)_k k!) z^k in log space, for 0 <= z < 1."""
    n = a.size
    scale = np.zeros(n)  # log of the running scale: the largest |term| so far
    total = np.ones(n)  # the partial sum divided by exp(scale); term 0 is 1
    log_term = np.zeros(n)  # log|last term|
    sign_term = np.ones(n)
    active = np.flatnonzero(z > 0)
    k0 = 0
    chunk = 16
    with np.errstate(divide="ignore", invalid="ignore"):
        while active.size and k0 < _MAX_TERMS:
            j = k0 + np.arange(chunk, dtype=np.float64)
            ratio = (
                (a[active, None] + j)
                * (b[active, None] + j)
                / ((c[active, None] + j) * (j + 1.0))
                * z[active, None]
            )
            log_ratio = np.log(np.abs(ratio))
            sign_ratio = np.sign(ratio)
            logs = log_term[active, None] + np.cumsum(log_ratio, axis=1)
            signs = sign_term[active, None] * np.cumprod(sign_ratio, axis=1)
            top = np.maximum(scale[active], np.max(logs, axis=1))
            part = np.sum(signs * np.exp(logs - top[:, None]), axis=1)
            total[active] = total[active] * np.exp(scale[active] - top) + part
            scale[active] = top
            log_term[active] = logs[:, -1]
            sign_term[active] = signs[:, -1]
            # The ratio tends to z; beyond the chunk it is bounded by max(last ratio, z) once
            # the index has passed the parameters, which bounds the tail geometrically.
            rho = np.maximum(np.exp(log_ratio[:, -1]), z[active])
            passed = j[-1] > np.maximum.reduce([-a[active], -b[active], -c[active]]) + 1
            with np.errstate(over="ignore"):
                tail = logs[:, -1] - np.log1p(-np.minimum(rho, 1 - 1e-16)) + np.log(rho)
            size = scale[active] + np.log(np.abs(total[active]))
            done = (sign_ratio[:, -1] == 0) | np.isneginf(logs[:, -1])
            done |= passed & (rho < 1) & (tail < size + _TAIL_TOL)
            done |= total[active] == 0  # an exact zero sum (cannot happen for the models)
            active = active[~done]
            k0 += chunk
            chunk = min(chunk * 2, 2048)
        log_abs = scale + np.log(np.abs(total))
    sign = np.sign(total)
    if active.size:
        log_abs[active] = np.nan
        sign[active] = np.nan
    return log_abs, sign


def _log_near_one(
    a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """2F1 for z > 0.75 and s = c - a - b >= 0 by the connection formula to 1 - z."""
    s = c - a - b
    distance = np.abs(s - np.round(s))
    regular = distance >= _NEAR_INTEGER
    log_abs = np.empty(a.size)
    sign = np.empty(a.size)
    log_abs[regular], sign[regular] = _log_connection(
        a[regular], b[regular], c[regular], z[regular]
    )
    singular = ~regular
    if singular.any():
        a_s, b_s, c_s, z_s = a[singular], b[singular], c[singular], z[singular]
        nodes = a_s[:, None] + _STEP * _NODES
        node_log, node_sign = _log_connection(
            nodes, b_s[:, None] + 0 * nodes, c_s[:, None] + 0 * nodes, z_s[:, None] + 0 * nodes
        )
        weights = _lagrange_weights(_NODES, np.zeros(a_s.size))
        log_abs[singular], sign[singular] = _combine_logs(node_log, node_sign, weights)
    return log_abs, sign


def _log_connection(
    a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """A&S 15.3.6: 2F1(a,b;c;z) = G1 2F1(a,b;1-s;w) + w^s G2 2F1(c-a,c-b;1+s;w), w = 1 - z.

    G1 = Gamma(c) Gamma(s) / (Gamma(c-a) Gamma(c-b)), G2 = Gamma(c) Gamma(-s) / (Gamma(a)
    Gamma(b)); s = c - a - b must not be an integer.
    """
    shape = a.shape
    a, b, c, z = (np.ravel(v) for v in (a, b, c, z))
    s = c - a - b
    w = 1.0 - z
    log_g1, sign_g1 = _log_gamma_ratio((c, s), (c - a, c - b))
    log_g2, sign_g2 = _log_gamma_ratio((c, -s), (a, b))
    log_f1, sign_f1 = _log_series(a, b, 1.0 - s, w)
    log_f2, sign_f2 = _log_series(c - a, c - b, 1.0 + s, w)
    first = np.stack([log_g1 + log_f1, log_g2 + s * np.log(w) + log_f2], axis=1)
    signs = np.stack([sign_g1 * sign_f1, sign_g2 * sign_f2], axis=1)
    log_abs, sign = _combine_logs(first, signs, np.ones((a.size, 2)))
    return log_abs.reshape(shape), sign.reshape(shape)


def _log_gamma_ratio(
    top: tuple[FloatArray, ...], bottom: tuple[FloatArray, ...]
) -> tuple[FloatArray, FloatArray]:
    """log|prod Gamma(top) / prod Gamma(bottom)| and its sign; a pole below makes it 0."""
    log_abs = np.zeros(top[0].shape)
    sign = np.ones(top[0].shape)
    for value in top:
        log_abs = log_abs + special.gammaln(value)
        sign = sign * special.gammasgn(value)
    for value in bottom:
        pole = (value <= 0) & (value == np.round(value))
        safe = np.where(pole, 0.5, value)
        log_abs = log_abs - np.where(pole, np.inf, special.gammaln(safe))
        sign = sign * np.where(pole, 0.0, special.gammasgn(safe))
    return log_abs, sign


def _combine_logs(
    log_abs: FloatArray, sign: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """log|sum_j weights_j sign_j exp(log_abs_j)| and its sign, along the last axis."""
    live = sign != 0
    top = np.max(np.where(live, log_abs, -np.inf), axis=-1)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(invalid="ignore"):
        terms = np.where(live, weights * sign * np.exp(log_abs - safe_top[..., None]), 0.0)
    total = np.sum(terms, axis=-1)
    with np.errstate(divide="ignore"):
        return safe_top + np.log(np.abs(total)), np.sign(total)


def _lagrange_weights(nodes: FloatArray, target: FloatArray) -> FloatArray:
    """Lagrange weights of `nodes` at each `target` (rows: targets, columns: nodes)."""
    weights = np.ones((target.size, nodes.size))
    for j, node in enumerate(nodes):
        for m, other in enumerate(nodes):
            if m != j:
                weights[:, j] *= (target - other) / (node - other)
    return weights


def near_point(
    function: Callable[[float], FloatArray],
    value: float,
    *,
    point: float,
    radius: float = 1e-3,
    step: float = 4e-3,
) -> FloatArray:
    """`function(value)`, or its interpolation when `value` is near a removable singularity.

    Within `radius` of `point` the result is interpolated in the parameter from six
    evaluations at point +- k step (k = 1, 2, 3), which stay clear of the singularity: an
    analytic function is recovered with error O(step^6). Used for the factor 1 / (a - 1) of
    the BG/NBD expectations, whose limit at a = 1 is finite.
    """
    if abs(value - point) >= radius:
        return function(value)
    columns = np.stack([function(point + step * node) for node in _NODES], axis=-1)
    weights = _lagrange_weights(_NODES, np.array([(value - point) / step]))[0]
    result: FloatArray = np.sum(columns * weights, axis=-1)
    return result


def log1mexp(x: npt.ArrayLike) -> FloatArray:
    """log(1 - exp(x)) for x <= 0, accurate at both ends (Maechler 2012); -inf at x = 0."""
    xx = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out: FloatArray = np.where(
            xx > -np.log(2.0), np.log(-np.expm1(np.minimum(xx, 0.0))), np.log1p(-np.exp(xx))
        )
    return out
