"""RFM scores from stored breakpoints agree with the full quintile ranking."""

from __future__ import annotations

import numpy as np
import pytest

from retentio.predict.rfm import quintile_scores
from retentio.profiles.scoring import breakpoints, scores


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 10, 101, 1000])
def test_breakpoints_give_the_quintile_scores_of_the_ranked_customers(size: int) -> None:
    # given: heavy ties (a fifth of the values), shuffled ids
    rng = np.random.default_rng(size)
    values = rng.integers(0, max(size // 5, 1), size).astype(np.float64)
    ids = rng.permutation(size).astype(np.int64) + 1
    # when
    found = scores(values, ids, breakpoints(values, ids))
    # then
    assert found.tolist() == quintile_scores(values, ids).tolist()


def test_a_newcomer_is_placed_among_the_ranked_customers() -> None:
    # given: ten customers with values 0..9; scores 1,1,2,2,3,3,4,4,5,5
    values = np.arange(10, dtype=np.float64)
    ids = np.arange(1, 11, dtype=np.int64)
    points = breakpoints(values, ids)
    # when: a new customer (id 99) with 4.5, one tying with 4 (id 0) and the best
    found = scores(np.array([4.5, 4.0, 100.0]), np.array([99, 0, 98]), points)
    # then: 4.5 sorts after the first customer scored 3 (value 4, id 5); the tie with a lower
    # id sorts before it
    assert points == [(2.0, 3), (4.0, 5), (6.0, 7), (8.0, 9)]
    assert found.tolist() == [3, 2, 5]


def test_nobody_reaches_a_score_no_position_has() -> None:
    # given: one customer, position 0 of 1 scores 1
    points = breakpoints(np.array([5.0]), np.array([1]))
    # then
    assert points == [None, None, None, None]
    assert scores(np.array([9.0]), np.array([2]), points).tolist() == [1]
