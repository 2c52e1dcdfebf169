"""Pareto/NBD: the published CDNOW fit, and P(alive) against the integral form of A0."""

# ruff: noqa: N806 - T is the papers' name for a customer's age

from __future__ import annotations

import numpy as np
import pytest

from retentio.predict import paretonbd
from tests.predict.conftest import Cdnow


def _sig3(value: float) -> float:
    return float(f"{value:.3g}")


def test_cdnow_fit_reproduces_the_published_estimates(cdnow: Cdnow) -> None:
    # when
    fitted = paretonbd.fit(cdnow.x, cdnow.t_x, cdnow.T)
    # then: FHL 2005 table 1, to three significant digits, and the log-likelihood to 0.1
    p = fitted.params
    assert fitted.converged
    assert (_sig3(p.r), _sig3(p.alpha), _sig3(p.s), _sig3(p.beta)) == (0.553, 10.6, 0.606, 11.7)
    assert fitted.log_likelihood == pytest.approx(-9595.0, abs=0.1)


def test_predictions_match_the_reference_values(cdnow: Cdnow) -> None:
    # lifetimes 0.11.3's ParetoNBDFitter at its fit (r 0.553282, alpha 10.577803, s 0.606188,
    # beta 11.666807) on the first three CDNOW customers
    p = paretonbd.ParetoNbdParams(r=0.553282, alpha=10.577803, s=0.606188, beta=11.666807)
    x, t_x, T = cdnow.x[:3], cdnow.t_x[:3], cdnow.T[:3]
    np.testing.assert_allclose(
        paretonbd.p_alive(p, x, t_x, T), [0.869121, 0.167870, 0.295093], rtol=2e-5
    )
    np.testing.assert_allclose(
        paretonbd.conditional_expected_purchases(p, 39.0, x, t_x, T),
        [1.45512087, 0.17097975, 0.10705962],
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        paretonbd.expected_purchases(p, [1.0, 39.0, 78.0]),
        [0.05100613, 1.21338917, 1.90985549],
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "point", [(0.553, 10.578, 0.606, 11.669), (0.553, 30.0, 0.606, 0.5), (2.0, 1.0, 1.0, 1.0)]
)
def test_p_alive_agrees_with_the_integral_form(point: tuple[float, float, float, float]) -> None:
    # A0 s / (r+s+x) = s * integral_{t_x}^{T} (alpha+y)^-(r+x) (beta+y)^-(s+1) dy (FH note)
    import mpmath as mp

    mp.mp.dps = 30
    p = paretonbd.ParetoNbdParams(*point)
    x = np.array([0.0, 1.0, 5.0, 40.0, 300.0])
    t_x = np.array([0.0, 1.0, 20.0, 38.0, 38.8])
    T = np.array([39.0, 39.0, 39.0, 39.0, 39.0])
    r, alpha, s, beta = (mp.mpf(v) for v in point)
    expected = []
    for xi, ti, Ti in zip(x, t_x, T, strict=True):
        alive = (alpha + Ti) ** -(r + xi) * (beta + Ti) ** -s
        died = s * mp.quad(
            lambda y, xi=xi: (alpha + y) ** -(r + xi) * (beta + y) ** -(s + 1), [ti, Ti]
        )
        expected.append(float(alive / (alive + died)))
    np.testing.assert_allclose(paretonbd.p_alive(p, x, t_x, T), expected, rtol=1e-9)


def test_edge_cases_give_finite_values() -> None:
    p = paretonbd.ParetoNbdParams(r=0.553, alpha=10.578, s=1.0, beta=11.669)  # s = 1: the limit
    x = np.array([0.0, 1.0, 300.0, 300.0])
    t_x = np.array([0.0, 1e-3, 52.0, 10.0])
    T = np.array([1e-3, 1e-3, 52.0, 520.0])
    assert np.all(np.isfinite(paretonbd.log_likelihood(p, x, t_x, T)))
    alive = paretonbd.p_alive(p, x, t_x, T)
    assert np.all((alive >= 0) & (alive <= 1))
    for t in (0.0, 39.0, 5200.0):
        assert np.all(np.isfinite(paretonbd.conditional_expected_purchases(p, t, x, t_x, T)))
    assert np.all(np.isfinite(paretonbd.expected_purchases(p, [0.0, 39.0])))
