"""Churn bands and lifecycle stages: each documented rule on its own."""

from __future__ import annotations

import numpy as np

from retentio.profiles.lifecycle import DEFAULT_RHYTHM_DAYS, churn_bands, lifecycle_stages, rhythm

NAN = np.nan


def test_churn_bands_follow_p_alive_and_the_own_rhythm() -> None:
    # given: (orders, recency days, mean days between, p_alive)
    cases = [
        (0, NAN, NAN, NAN, None),  # no orders: no band
        (3, 10.0, 30.0, 0.05, "lost"),  # p_alive < 0.1
        (3, 200.0, 60.0, 0.9, "lost"),  # recency > 3 x 60 and > 180
        (3, 100.0, 30.0, 0.9, "high"),  # > 3 x 30 but not > 180: only high
        (3, 10.0, 30.0, 0.2, "high"),  # p_alive < 0.3
        (3, 70.0, 30.0, 0.9, "high"),  # recency > 2 x 30
        (3, 10.0, 30.0, 0.5, "medium"),  # p_alive < 0.6
        (3, 40.0, 30.0, 0.9, "medium"),  # recency > rhythm
        (3, 10.0, 30.0, 0.9, "low"),
        (3, 40.0, 30.0, NAN, "medium"),  # no model: recency only
        (3, 10.0, 30.0, NAN, "low"),
    ]
    orders, recency, between, alive, expected = (list(c) for c in zip(*cases, strict=True))
    # when
    bands = churn_bands(
        np.array(orders, dtype=np.int64),
        np.array(recency),
        np.array(between),
        np.array(alive),
    )
    # then
    assert bands.tolist() == expected


def test_one_order_customers_borrow_the_shop_median_rhythm() -> None:
    # given: two repeat buyers (20 and 40 days) and a one-order customer
    between = np.array([20.0, 40.0, NAN])
    # then
    assert rhythm(between).tolist() == [20.0, 40.0, 30.0]
    assert rhythm(np.array([NAN])).tolist() == [DEFAULT_RHYTHM_DAYS]
    bands = churn_bands(
        np.array([2, 2, 1], dtype=np.int64),
        np.array([1.0, 1.0, 65.0]),
        between,
        np.array([0.9, 0.9, 1.0]),
    )
    assert bands.tolist() == ["low", "low", "high"]  # 65 > 2 x 30


def test_lifecycle_stage_rules_in_order() -> None:
    # given: (orders, p_alive, band, has events, recent cart, answered an exit survey)
    cases = [
        (0, NAN, None, False, False, False, "attraction"),
        (0, NAN, None, True, False, False, "interest"),
        (0, NAN, None, True, True, False, "evaluation"),
        (1, 1.0, "low", True, True, False, "purchase"),
        (2, 0.8, "low", False, False, False, "loyalty"),
        (2, NAN, "low", False, False, False, "loyalty"),  # no model: repeat buyers are loyal
        (2, 0.4, "medium", False, False, False, "purchase"),  # repeat buyer fading
        (5, 0.05, "lost", True, True, False, "churned"),
        (3, 0.9, "low", False, False, True, "churned"),  # said they left
    ]
    orders, alive, band, events, cart, left, expected = (list(c) for c in zip(*cases, strict=True))
    # when
    stages = lifecycle_stages(
        np.array(orders, dtype=np.int64),
        np.array(alive),
        np.array(band, dtype=object),
        np.array(events),
        np.array(cart),
        np.array(left),
    )
    # then
    assert stages.tolist() == expected
