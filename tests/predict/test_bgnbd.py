"""BG/NBD: the published CDNOW fit, recovery of known parameters, gradients, edge cases."""

# ruff: noqa: N803, N806 - T is the papers' name for a customer's age

from __future__ import annotations

import numpy as np
import pytest

from retentio.predict import _bgfamily, bgnbd
from retentio.predict._arrays import compress
from tests.predict.conftest import Cdnow

PUBLISHED = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def _sig3(value: float) -> float:
    return float(f"{value:.3g}")


def test_cdnow_fit_reproduces_the_published_estimates(cdnow: Cdnow) -> None:
    # when
    fitted = bgnbd.fit(cdnow.x, cdnow.t_x, cdnow.T)
    # then: FHL 2005 table 1, to three significant digits, and the log-likelihood to 0.1
    assert fitted.converged
    p = fitted.params
    assert (_sig3(p.r), _sig3(p.alpha), _sig3(p.a), _sig3(p.b)) == (0.243, 4.41, 0.793, 2.43)
    assert fitted.log_likelihood == pytest.approx(-9582.4, abs=0.1)
    assert fitted.customers == 2357
    assert fitted.rows < 2357  # fitted on the distinct rows
    assert np.sum(bgnbd.log_likelihood(p, cdnow.x, cdnow.t_x, cdnow.T)) == pytest.approx(
        fitted.log_likelihood, rel=1e-12
    )


def test_cdnow_predictions_match_the_reference_values(cdnow: Cdnow) -> None:
    # given: the fit (reference values from lifetimes 0.11.3 at its own, equal, fit)
    p = bgnbd.fit(cdnow.x, cdnow.t_x, cdnow.T).params
    first = slice(0, 3)
    # then
    np.testing.assert_allclose(
        bgnbd.p_alive(p, cdnow.x[first], cdnow.t_x[first], cdnow.T[first]),
        [0.72660914, 0.21222739, 1.0],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        bgnbd.conditional_expected_purchases(
            p, 39.0, cdnow.x[first], cdnow.t_x[first], cdnow.T[first]
        ),
        [1.22591042, 0.20325062, 0.19478086],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        bgnbd.expected_purchases(p, [1.0, 39.0, 78.0]),
        [5.31847369e-02, 1.19501623, 1.85797170],
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        bgnbd.purchase_probability(p, [0, 1, 2, 3], 39.0),
        [0.5743072834, 0.1991930613, 0.0853224088, 0.0457971917],
        rtol=1e-6,
    )


def test_fit_on_weighted_distinct_rows_equals_fit_on_customers(cdnow: Cdnow) -> None:
    # given
    rows = compress(cdnow.x, cdnow.t_x, cdnow.T)
    # when
    plain = bgnbd.fit(cdnow.x, cdnow.t_x, cdnow.T)
    weighted = bgnbd.fit(rows.x, rows.t_x, rows.T, weights=rows.weight)
    # then
    assert weighted.params == pytest.approx(plain.params)
    assert weighted.log_likelihood == pytest.approx(plain.log_likelihood, rel=1e-12)
    assert rows.customers == 2357


def test_fit_recovers_known_parameters_from_100000_customers() -> None:
    # given: customers drawn from the model itself. At this size the asymptotic standard
    # errors are about 0.5 % (r), 0.8 % (alpha), 1.1 % (a) and 1.6 % (b), so 5 % is > 3 SE.
    truth = bgnbd.BgNbdParams(r=0.5, alpha=10.0, a=0.8, b=2.5)
    rng = np.random.default_rng(20050101)
    T = rng.uniform(180.0, 730.0, 100_000)
    x, t_x = bgnbd.simulate(truth, T, rng=rng)
    # when
    fitted = bgnbd.fit(x, t_x, T)
    # then
    assert fitted.converged
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted.params, name) == pytest.approx(getattr(truth, name), rel=0.05)


@pytest.mark.parametrize("modified", [False, True])
@pytest.mark.parametrize(
    "point", [(0.243, 4.414, 0.793, 2.426), (2.0, 0.5, 0.3, 40.0), (0.05, 80.0, 5.0, 0.7)]
)
def test_analytic_gradient_matches_finite_differences(
    cdnow: Cdnow, point: tuple[float, float, float, float], modified: bool
) -> None:
    # given: CDNOW plus a heavy buyer, at a few parameter points (a < 1, b < 1 included)
    x = np.r_[cdnow.x, 300.0]
    rows = compress(x, np.r_[cdnow.t_x, 38.0], np.r_[cdnow.T, 38.86])
    data = _bgfamily.prepare(rows, modified=modified)
    theta = np.log(np.array(point))
    # when
    _, analytic = _bgfamily.objective(theta, data, modified=modified)
    numeric = np.empty(4)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6
        up, _ = _bgfamily.objective(theta + step, data, modified=modified)
        down, _ = _bgfamily.objective(theta - step, data, modified=modified)
        numeric[i] = (up - down) / 2e-6
    # then
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


EDGE_X = np.array([0.0, 0.0, 1.0, 300.0, 300.0, 5.0, 2.0, 0.0])
EDGE_TX = np.array([0.0, 0.0, 1e-3, 52.0, 10.0, 1e-3, 1e-3, 0.0])
EDGE_T = np.array([1e-3, 52.0, 1e-3, 52.0, 520.0, 1e-3, 1e-3, 0.0])


@pytest.mark.parametrize("a", [0.3, 0.793, 1.0, 1.0 + 1e-9, 1.0005, 4.0])
def test_edge_cases_give_finite_values(a: float) -> None:
    # given: x = 0 and 300, t_x = T, T = 1e-3 and 0, a below, at and near 1
    p = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=a, b=2.426)
    # when
    ll = bgnbd.log_likelihood(p, EDGE_X, EDGE_TX, EDGE_T)
    alive = bgnbd.p_alive(p, EDGE_X, EDGE_TX, EDGE_T)
    horizons = [(t, bgnbd.conditional_expected_purchases(p, t, EDGE_X, EDGE_TX, EDGE_T))
                for t in (0.0, 1e-3, 39.0, 5200.0)]  # fmt: skip
    # then
    assert np.all(np.isfinite(ll))
    assert np.all((alive >= 0) & (alive <= 1))  # x = 300 then silent for 510: underflows to 0
    for t, expected in horizons:
        assert np.all(np.isfinite(expected))
        assert np.all(expected >= 0)
        if t == 0.0:
            assert np.all(expected == 0)
    assert np.all(np.isfinite(bgnbd.expected_purchases(p, [0.0, 1e-3, 39.0, 5200.0])))


def test_a_equal_to_one_is_the_limit_of_its_neighbours() -> None:
    # given: (a + b - 1) / (a - 1) [1 - ...] is 0/0 at a = 1
    def at(a: float) -> np.ndarray:
        p = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=a, b=2.426)
        return np.r_[
            bgnbd.conditional_expected_purchases(p, 39.0, EDGE_X, EDGE_TX, EDGE_T),
            bgnbd.expected_purchases(p, [1.0, 39.0, 520.0]),
        ]

    # then: smooth through a = 1, and consistent with points outside the interpolation band
    left, centre, right = at(1.0 - 2e-3), at(1.0), at(1.0 + 2e-3)
    np.testing.assert_allclose(centre, (left + right) / 2, rtol=1e-5)
    np.testing.assert_allclose(at(1.0 - 1e-3 + 1e-12), at(1.0 - 1e-3 - 1e-12), rtol=1e-9)


def test_purchase_probabilities_sum_to_one_with_the_expected_mean() -> None:
    # given
    p = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    n = np.arange(0, 2000)
    # when
    pmf = bgnbd.purchase_probability(p, n, 39.0)
    # then
    assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
    assert (n * pmf).sum() == pytest.approx(float(bgnbd.expected_purchases(p, 39.0)), rel=1e-8)
    assert bgnbd.purchase_probability(p, [0, 1], 0.0).tolist() == [1.0, 0.0]


def test_simulated_customers_buy_as_many_times_as_expected() -> None:
    # given: 200,000 new customers all observed for 100 days
    p = bgnbd.BgNbdParams(r=0.5, alpha=10.0, a=0.8, b=2.5)
    x, t_x = bgnbd.simulate(p, np.full(200_000, 100.0), rng=np.random.default_rng(7))
    # then: the mean count matches E[X(100)] within 4 standard errors
    error = 4 * x.std() / np.sqrt(x.size)
    assert x.mean() == pytest.approx(float(bgnbd.expected_purchases(p, 100.0)), abs=error)
    assert np.all((t_x <= 100.0) & ((x > 0) | (t_x == 0)))


def test_invalid_summaries_are_refused() -> None:
    p = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    with pytest.raises(ValueError, match="must not exceed T"):
        bgnbd.p_alive(p, [1], [5.0], [4.0])
    with pytest.raises(ValueError, match="whole numbers"):
        bgnbd.fit([1.5], [1.0], [2.0])
    with pytest.raises(ValueError, match="finite"):
        bgnbd.fit([1.0], [np.nan], [2.0])
    with pytest.raises(ValueError, match="positive"):
        bgnbd.BgNbdParams(r=0.0, alpha=1.0, a=1.0, b=1.0)
    with pytest.raises(ValueError, match="horizon"):
        bgnbd.expected_purchases(p, -1.0)


def test_against_mpmath_at_50_digits() -> None:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 50
    x = np.array([0.0, 1.0, 7.0, 300.0, 300.0, 2.0])
    t_x = np.array([0.0, 1e-3, 30.0, 51.0, 10.0, 5.0])
    T = np.array([1e-3, 1e-3, 52.0, 52.0, 520.0, 5.0])
    for a, b in ((0.3, 2.426), (0.793, 2.426), (1.0, 0.4), (3.5, 60.0)):
        p = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=a, b=b)
        for t in (1e-3, 39.0, 5200.0):
            ours = bgnbd.conditional_expected_purchases(p, t, x, t_x, T)
            reference = [_mp_expected(mp, p, t, *row) for row in zip(x, t_x, T, strict=True)]
            np.testing.assert_allclose(ours, np.array(reference, dtype=float), rtol=1e-9)
        ll = bgnbd.log_likelihood(p, x, t_x, T)
        np.testing.assert_allclose(ll, [_mp_ll(mp, p, *row) for row in zip(x, t_x, T, strict=True)],
                                   rtol=1e-12)  # fmt: skip
        uncond = bgnbd.expected_purchases(p, [1e-3, 39.0, 5200.0])
        reference_u = [_mp_unconditional(mp, p, t) for t in (1e-3, 39.0, 5200.0)]
        np.testing.assert_allclose(uncond, np.array(reference_u, dtype=float), rtol=1e-9)


def _mp_ll(mp, p, x, t_x, T):  # type: ignore[no-untyped-def]
    r, alpha, a, b, x = mp.mpf(p.r), mp.mpf(p.alpha), mp.mpf(p.a), mp.mpf(p.b), int(x)
    common = mp.gamma(r + x) * alpha**r / mp.gamma(r)
    first = mp.beta(a, b + x) / mp.beta(a, b) * common / (alpha + T) ** (r + x)
    second = mp.beta(a + 1, b + x - 1) / mp.beta(a, b) * common / (alpha + t_x) ** (r + x)
    return float(mp.log(first + (second if x > 0 else 0)))


def _mp_alive(mp, p, x, t_x, T):  # type: ignore[no-untyped-def]
    if x == 0:
        return mp.mpf(1)
    r, alpha, a, b = mp.mpf(p.r), mp.mpf(p.alpha), mp.mpf(p.a), mp.mpf(p.b)
    return 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))


def _mp_expected(mp, p, t, x, t_x, T):  # type: ignore[no-untyped-def]
    a = mp.mpf(p.a)
    x, t_x, T, t = int(x), mp.mpf(t_x), mp.mpf(T), mp.mpf(t)
    if a == 1:  # the limit, by symmetric perturbation at 50 digits
        eps = mp.mpf("1e-20")
        up = bgnbd.BgNbdParams(p.r, p.alpha, 1.0, p.b)
        return (_mp_expected_a(mp, up, 1 + eps, t, x, t_x, T)
                + _mp_expected_a(mp, up, 1 - eps, t, x, t_x, T)) / 2  # fmt: skip
    return _mp_expected_a(mp, p, a, t, x, t_x, T)


def _mp_expected_a(mp, p, a, t, x, t_x, T):  # type: ignore[no-untyped-def]
    r, alpha, b = mp.mpf(p.r), mp.mpf(p.alpha), mp.mpf(p.b)
    z = t / (alpha + T + t)
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(
        r + x, b + x, a + b + x - 1, z
    )
    alive = _mp_alive(mp, bgnbd.BgNbdParams(p.r, p.alpha, float(a), p.b), x, t_x, T)
    return (a + b + x - 1) / (a - 1) * bracket * alive


def _mp_unconditional(mp, p, t):  # type: ignore[no-untyped-def]
    r, alpha, a, b, t = mp.mpf(p.r), mp.mpf(p.alpha), mp.mpf(p.a), mp.mpf(p.b), mp.mpf(t)
    if a == 1:
        eps = mp.mpf("1e-20")
        return sum(_mp_unconditional_a(mp, r, alpha, a + e, b, t) for e in (eps, -eps)) / 2
    return _mp_unconditional_a(mp, r, alpha, a, b, t)


def _mp_unconditional_a(mp, r, alpha, a, b, t):  # type: ignore[no-untyped-def]
    hyp = mp.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


@pytest.mark.parametrize("scale", [1.0, 0.37])  # whole days (codes by value), or fractions
def test_compress_counts_each_distinct_row_once(scale: float) -> None:
    rng = np.random.default_rng(5)
    T = rng.integers(1, 40, 5000) * scale
    x = rng.integers(0, 4, 5000).astype(np.float64)
    t_x = np.where(x > 0, np.floor(rng.uniform(0, 1, 5000) * T / scale) * scale, 0.0)
    counted = compress(x, t_x, T)
    weighted = compress(x, t_x, T, weights=np.ones(5000))
    expected = {}
    for row in zip(x.tolist(), t_x.tolist(), T.tolist(), strict=True):
        expected[row] = expected.get(row, 0) + 1
    for rows in (counted, weighted):
        got = dict(zip(zip(rows.x.tolist(), rows.t_x.tolist(), rows.T.tolist(), strict=True),
                       rows.weight.tolist(), strict=True))  # fmt: skip
        assert got == expected
