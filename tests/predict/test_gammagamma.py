"""Gamma-Gamma: the published CDNOW fit, recovery of known parameters, spend and CLV."""

# ruff: noqa: N803, N806 - T is the papers' name for a customer's age

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from retentio.predict import bgnbd, gammagamma
from retentio.predict._arrays import FloatArray
from tests.predict.conftest import Cdnow


def _sig3(value: float) -> float:
    return float(f"{value:.3g}")


def test_cdnow_fit_reproduces_the_published_estimates(cdnow: Cdnow) -> None:
    # when: fitted on everyone, it uses the 946 repeat buyers
    fitted = gammagamma.fit(cdnow.x, cdnow.zbar)
    # then: FHL 2005 "RFM and CLV" (p 6.25, q 3.74, gamma 15.44) to three significant digits
    p = fitted.params
    assert fitted.customers == 946
    assert (_sig3(p.p), _sig3(p.q), _sig3(p.gamma)) == (6.25, 3.74, 15.4)
    assert p.gamma == pytest.approx(15.44, abs=0.01)


def test_fit_recovers_known_parameters() -> None:
    # given: 200,000 repeat buyers with 1-3 purchases each, where the standard errors are
    # about 1 % (p, q) and 2 % (gamma): 5 % is > 2.5 SE for gamma, > 4 SE for p and q
    truth = gammagamma.GammaGammaParams(p=2.0, q=3.8, gamma=1500.0)
    rng = np.random.default_rng(2005)
    x = rng.integers(1, 4, 200_000).astype(np.float64)
    mean = gammagamma.simulate(truth, x, rng=rng)
    # when
    fitted = gammagamma.fit(x, mean)
    # then
    for name in ("p", "q", "gamma"):
        assert getattr(fitted.params, name) == pytest.approx(getattr(truth, name), rel=0.05)


def test_analytic_gradient_matches_finite_differences(cdnow: Cdnow) -> None:
    buyers = cdnow.x > 0
    x, m, w = cdnow.x[buyers], cdnow.zbar[buyers], np.ones(int(buyers.sum()))
    theta = np.log(np.array([6.25, 3.74, 15.44]))
    _, analytic = gammagamma._objective(theta, x, m, w)
    numeric = np.empty(3)
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6
        up, _ = gammagamma._objective(theta + step, x, m, w)
        down, _ = gammagamma._objective(theta - step, x, m, w)
        numeric[i] = (up - down) / 2e-6
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_expected_spend_shrinks_towards_the_population_mean() -> None:
    p = gammagamma.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    population = 6.25 * 15.44 / 2.74
    spend = gammagamma.conditional_expected_spend(p, [0.0, 1.0, 10.0], [0.0, 50.0, 50.0])
    # x = 0: the population mean; else p (gamma + x m) / (p x + q - 1)
    assert spend == pytest.approx([population, 6.25 * 65.44 / 8.99, 6.25 * 515.44 / 65.24])
    assert p.population_mean == pytest.approx(population)


class _SteadyBuyer:
    """A stand-in model: 2 purchases per time unit for everyone, alive for sure."""

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        return np.ones(np.shape(x))

    def conditional_expected_purchases(
        self, t: npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        return 2.0 * np.asarray(t, dtype=np.float64) * np.ones(np.shape(x))

    def expected_purchases(self, t: npt.ArrayLike) -> FloatArray:
        return 2.0 * np.asarray(t, dtype=np.float64)


def test_clv_discounts_each_period_by_hand() -> None:
    # given: 2 purchases a unit, 3 periods of 0.5 units, 10 % a period, spends of 100 and 30
    clv = gammagamma.customer_lifetime_value(
        _SteadyBuyer(), [1.0, 2.0], [1.0, 1.0], [2.0, 2.0], [100.0, 30.0],
        periods=3, period_length=0.5, discount_rate=0.1,
    )  # fmt: skip
    # then: one purchase per period, discounted 1/1.1, 1/1.21, 1/1.331
    factor = 1 / 1.1 + 1 / 1.21 + 1 / 1.331
    assert clv == pytest.approx([100 * factor, 30 * factor])


def test_clv_matches_the_reference_values(cdnow: Cdnow) -> None:
    # lifetimes 0.11.3: 12 months (4.345 weeks), 1 % a month, at its BG/NBD and GG fits
    bg = bgnbd.BgNbdParams(r=0.242593, alpha=4.413532, a=0.792886, b=2.425752)
    gg = gammagamma.GammaGammaParams(p=6.248802, q=3.744588, gamma=15.447748)
    x, t_x, T, m = cdnow.x[:3], cdnow.t_x[:3], cdnow.T[:3], cdnow.zbar[:3]
    spend = gammagamma.conditional_expected_spend(gg, x, m)
    clv = gammagamma.customer_lifetime_value(
        bg, x, t_x, T, spend, periods=12, period_length=4.345, discount_rate=0.01
    )
    np.testing.assert_allclose(clv, [36.278496, 4.637467, 8.344093], rtol=1e-5)


def test_invalid_inputs_are_refused() -> None:
    p = gammagamma.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    with pytest.raises(ValueError, match="repeat buyers"):
        gammagamma.log_likelihood(p, [0.0], [10.0])
    with pytest.raises(ValueError, match="at least one repeat buyer"):
        gammagamma.fit([0.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="periods"):
        gammagamma.customer_lifetime_value(
            _SteadyBuyer(),
            [1.0],
            [1.0],
            [2.0],
            [1.0],
            periods=-1,
            period_length=1.0,
            discount_rate=0.0,
        )
