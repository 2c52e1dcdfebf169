"""MBG/NBD: the CDNOW fit, recovery of known parameters, the x = 0 drop-out, edge cases."""

# ruff: noqa: N806 - T is the papers' name for a customer's age

from __future__ import annotations

import numpy as np
import pytest

from retentio.predict import mbgnbd
from tests.predict.conftest import Cdnow


def test_cdnow_fit_matches_the_reference_estimates(cdnow: Cdnow) -> None:
    # when
    fitted = mbgnbd.fit(cdnow.x, cdnow.t_x, cdnow.T)
    # then: lifetimes 0.11.3's ModifiedBetaGeoFitter on the same file gives these
    p = fitted.params
    assert fitted.converged
    assert (p.r, p.alpha, p.a, p.b) == pytest.approx(
        (0.524838, 6.182988, 0.891356, 1.614000), rel=1e-4
    )
    assert fitted.log_likelihood == pytest.approx(-9582.13, abs=0.01)
    # and its predictions
    np.testing.assert_allclose(
        mbgnbd.p_alive(p, cdnow.x[:3], cdnow.t_x[:3], cdnow.T[:3]),
        [0.70612626, 0.17081963, 0.38971644],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        mbgnbd.conditional_expected_purchases(p, 39.0, cdnow.x[:3], cdnow.t_x[:3], cdnow.T[:3]),
        [1.26267078, 0.18878924, 0.15395364],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        mbgnbd.expected_purchases(p, [1.0, 39.0, 78.0]),
        [0.05306063, 1.1822838, 1.80363619],
        rtol=1e-5,
    )


def test_fit_recovers_known_parameters_from_100000_customers() -> None:
    truth = mbgnbd.MbgNbdParams(r=0.5, alpha=10.0, a=0.8, b=2.5)
    rng = np.random.default_rng(2007)
    T = rng.uniform(180.0, 730.0, 100_000)
    x, t_x = mbgnbd.simulate(truth, T, rng=rng)
    fitted = mbgnbd.fit(x, t_x, T)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted.params, name) == pytest.approx(getattr(truth, name), rel=0.05)


def test_a_customer_without_repeat_purchases_may_have_dropped_out() -> None:
    p = mbgnbd.MbgNbdParams(r=0.5, alpha=10.0, a=0.8, b=2.5)
    # P(alive | x = 0) = 1 / (1 + a/b ((alpha + T) / alpha)^r): below 1, falling with age
    T = np.array([1.0, 300.0])
    expected = 1 / (1 + 0.8 / 2.5 * ((10.0 + T) / 10.0) ** 0.5)
    assert mbgnbd.p_alive(p, [0.0, 0.0], [0.0, 0.0], T) == pytest.approx(expected)
    assert expected[1] < expected[0] < 1


def test_purchase_probabilities_sum_to_one_with_the_expected_mean() -> None:
    p = mbgnbd.MbgNbdParams(r=0.524838, alpha=6.182988, a=0.891356, b=1.614)
    n = np.arange(0, 2000)
    pmf = mbgnbd.purchase_probability(p, n, 39.0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
    assert (n * pmf).sum() == pytest.approx(float(mbgnbd.expected_purchases(p, 39.0)), rel=1e-8)


@pytest.mark.parametrize("a", [0.3, 1.0, 4.0])
def test_edge_cases_give_finite_values(a: float) -> None:
    p = mbgnbd.MbgNbdParams(r=0.243, alpha=4.414, a=a, b=2.426)
    x = np.array([0.0, 1.0, 300.0, 300.0])
    t_x = np.array([0.0, 1e-3, 52.0, 10.0])
    T = np.array([1e-3, 1e-3, 52.0, 520.0])
    assert np.all(np.isfinite(mbgnbd.log_likelihood(p, x, t_x, T)))
    for t in (1e-3, 39.0, 5200.0):
        assert np.all(np.isfinite(mbgnbd.conditional_expected_purchases(p, t, x, t_x, T)))


def test_against_mpmath_at_50_digits() -> None:
    import mpmath as mp

    mp.mp.dps = 50
    p = mbgnbd.MbgNbdParams(r=0.524838, alpha=6.182988, a=0.891356, b=1.614)
    x = np.array([0.0, 2.0, 300.0])
    t_x = np.array([0.0, 30.0, 51.0])
    T = np.array([1e-3, 52.0, 52.0])
    r, alpha, a, b = (mp.mpf(v) for v in (p.r, p.alpha, p.a, p.b))
    for t in (1.0, 39.0, 5200.0):
        reference = []
        for xi, ti, Ti in zip(x, t_x, T, strict=True):
            xi = int(xi)
            alive = 1 / (1 + a / (b + xi) * ((alpha + Ti) / (alpha + ti)) ** (r + xi))
            z = t / (alpha + Ti + t)
            hyp = mp.hyp2f1(r + xi, b + xi + 1, a + b + xi, z)
            bracket = 1 - ((alpha + Ti) / (alpha + Ti + t)) ** (r + xi) * hyp
            reference.append(float((a + b + xi) / (a - 1) * bracket * alive))
        ours = mbgnbd.conditional_expected_purchases(p, t, x, t_x, T)
        np.testing.assert_allclose(ours, reference, rtol=1e-9)
