"""The log-space Gauss hypergeometric function against high-precision references."""

from __future__ import annotations

import numpy as np
import pytest

from retentio.predict._special import hyp2f1, log1mexp, log_hyp2f1

# log 2F1(a, b; c; z) computed with mpmath at 40 digits: large parameters (a heavy buyer's
# BG/NBD term), z within 1e-7 of 1, c - a - b an integer or within 1e-4 of one.
REFERENCE = [
    (0.243, 2.426, 2.219, 0.5, 0.188218309262043048624667),
    (300.243, 302.426, 302.219, 0.9, 691.8104680596259556333236),
    (2.97, -0.207, 302.2, 0.999, -0.002045081488346249427089232),
    (0.5, 0.5, 1.0, 0.9999999, 1.7939390467799182134221),
    (0.25, 0.25, 0.5001, 0.9999999, 1.149196500613230939326715),
    (1.0, 1.0, 2.0, 0.99, 1.53722996166140236651),
    (0.553, 1.606, 3.159, 0.3, 0.09477225564657561968207496),
    (30.24, 0.5, 3.2, 0.74, 29.20943539210881431588154),
    (0.01, 302.4, 0.3, 0.74, 401.892605236903936802197),
    (2.5, 0.5, 1.0, 0.999999, 26.77397405247747368053948),
    (0.24, 302.4, 300.0, 0.999999, 21.83536703139165219480489),
    (1.0, 300.553, 302.159, 0.95, 2.90426492327899350020317),
]


def test_log_hyp2f1_matches_the_reference_values() -> None:
    a, b, c, z, expected = (np.array(column) for column in zip(*REFERENCE, strict=True))
    log_abs, sign = log_hyp2f1(a, b, c, z)
    assert np.all(sign == 1)
    # 1e-10, not 1e-15: z = 0.9999999 as a float is 1 - 1e-7 (1 +- 1e-9), and log 2F1 ~ log w
    np.testing.assert_allclose(log_abs, expected, rtol=1e-10, atol=1e-13)


def test_simple_closed_forms() -> None:
    z = np.array([0.0, 0.1, 0.5, 0.9, 0.999999])
    # 2F1(1, 1; 2; z) = -log(1 - z) / z; 2F1(a, b; b; z) = (1 - z)^-a
    np.testing.assert_allclose(hyp2f1(1.0, 1.0, 2.0, z[1:]), -np.log1p(-z[1:]) / z[1:], rtol=1e-10)
    np.testing.assert_allclose(hyp2f1(0.7, 3.0, 3.0, z), (1 - z) ** -0.7, rtol=1e-12)
    # a polynomial: 2F1(-2, b; c; z) = 1 - 2 b z / c + b (b + 1) z^2 / (c (c + 1))
    b, c = 1.5, 2.5
    np.testing.assert_allclose(
        hyp2f1(-2.0, b, c, z), 1 - 2 * b * z / c + b * (b + 1) * z**2 / (c * (c + 1)), rtol=1e-13
    )


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="0 <= z < 1"):
        log_hyp2f1(1.0, 1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="c that is not"):
        log_hyp2f1(1.0, 1.0, -2.0, 0.5)


def test_log1mexp_is_accurate_at_both_ends() -> None:
    x = np.array([-1e-20, -1e-5, -0.5, -50.0, 0.0])
    expected = np.array([np.log(1e-20), np.log(-np.expm1(-1e-5)), np.log(1 - np.exp(-0.5)),
                         -np.exp(-50.0), -np.inf])  # fmt: skip
    np.testing.assert_allclose(log1mexp(x), expected, rtol=1e-12)


def test_against_mpmath_on_a_grid() -> None:
    import mpmath as mp

    mp.mp.dps = 40
    grid = [
        (a, b, c, z)
        for a in (0.01, 0.24, 0.79, 1.0, 2.5, 30.24, 300.24)
        for b in (-0.2, 0.5, 1.0, 2.43, 302.4)
        for c in (0.3, 1.0, 3.2, 300.0, 601.5)
        for z in (0.0, 1e-8, 0.3, 0.74, 0.76, 0.9, 0.99, 0.99999)
    ]
    a, b, c, z = (np.array(column) for column in zip(*grid, strict=True))
    log_abs, sign = log_hyp2f1(a, b, c, z)
    finite = np.isfinite(log_abs)
    # NaN (never a wrong number) only where the parameters are in the hundreds and z ~ 1
    assert np.all(finite | ((np.maximum(np.abs(a), np.abs(b)) > 100) & (z > 0.99)))
    for i in np.flatnonzero(finite):
        exact = mp.hyp2f1(*grid[i])
        assert sign[i] == int(mp.sign(exact)), grid[i]
        assert float(mp.exp(log_abs[i] - mp.log(abs(exact)))) == pytest.approx(1, abs=1e-10), grid[
            i
        ]


def test_near_integer_c_minus_a_minus_b_against_mpmath() -> None:
    import mpmath as mp

    mp.mp.dps = 40
    cases = [
        (0.3, 0.7, 1.0 + d, z)
        for d in (0.0, 1e-4, -3e-4, 6e-4, 2e-3)
        for z in (0.8, 0.999, 1 - 1e-9)
    ]
    cases += [(0.5, 1.5, 5.0 + d, 0.95) for d in (0.0, 4e-4, -1e-5)]
    a, b, c, z = (np.array(column) for column in zip(*cases, strict=True))
    log_abs, _ = log_hyp2f1(a, b, c, z)
    exact = np.array([float(mp.log(mp.hyp2f1(*case))) for case in cases])
    np.testing.assert_allclose(log_abs, exact, rtol=1e-10, atol=1e-11)
