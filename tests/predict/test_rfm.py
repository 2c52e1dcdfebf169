"""RFM quintile scores and the named segment grid."""

from __future__ import annotations

import numpy as np
import pytest

from retentio.predict import rfm

CELLS = {(r, f) for r in range(1, 6) for f in range(1, 6)}


def test_default_rules_map_each_of_the_25_cells_exactly_once() -> None:
    covered = [
        (r, f) for _, recency, frequency in rfm.DEFAULT_RULES for r in recency for f in frequency
    ]
    assert sorted(covered) == sorted(CELLS)  # no cell twice, none missing
    assert set(rfm.DEFAULT_GRID) == CELLS
    assert set(rfm.DEFAULT_GRID.values()) == set(rfm.Segment)  # all 11 names used


def test_default_grid_corners() -> None:
    grid = rfm.DEFAULT_GRID
    assert grid[(5, 5)] is rfm.Segment.CHAMPIONS
    assert grid[(5, 1)] is rfm.Segment.NEW
    assert grid[(4, 1)] is rfm.Segment.PROMISING
    assert grid[(3, 3)] is rfm.Segment.NEED_ATTENTION
    assert grid[(1, 5)] is rfm.Segment.CANT_LOSE
    assert grid[(2, 3)] is rfm.Segment.AT_RISK
    assert grid[(1, 1)] is rfm.Segment.LOST
    assert grid[(2, 2)] is rfm.Segment.HIBERNATING


def test_grids_with_gaps_or_overlaps_are_refused() -> None:
    with pytest.raises(ValueError, match="without a segment"):
        rfm.segment_grid(rfm.DEFAULT_RULES[:-1])
    with pytest.raises(ValueError, match="both"):
        rfm.segment_grid((*rfm.DEFAULT_RULES, (rfm.Segment.LOST, [1], [2])))
    with pytest.raises(ValueError, match="outside"):
        rfm.segment_grid((*rfm.DEFAULT_RULES, (rfm.Segment.LOST, [6], [1])))


def test_quintiles_of_ten_distinct_values_by_hand() -> None:
    values = [50, 10, 40, 20, 30, 100, 90, 80, 70, 60]
    ids = list(range(100, 110))
    assert rfm.quintile_scores(values, ids).tolist() == [3, 1, 2, 1, 2, 5, 5, 4, 4, 3]
    # fewer is better (recency): the order reverses
    assert rfm.quintile_scores(values, ids, higher_is_better=False).tolist() == [
        3, 5, 4, 5, 4, 1, 1, 2, 2, 3
    ]  # fmt: skip


def test_heavy_ties_are_broken_by_contact_id_deterministically() -> None:
    # given: 7 of 10 customers bought once; ids deliberately out of order
    frequency = [1, 1, 1, 1, 1, 1, 1, 2, 3, 5]
    ids = [17, 3, 11, 5, 13, 7, 2, 19, 23, 29]
    # when
    scores = rfm.quintile_scores(frequency, ids)
    # then: among the ties the lower id takes the lower position (2, 3, 5, 7, 11, 13, 17)
    by_id = dict(zip(ids, scores.tolist(), strict=True))
    assert [by_id[i] for i in (2, 3, 5, 7, 11, 13, 17)] == [1, 1, 2, 2, 3, 3, 4]
    assert [by_id[i] for i in (19, 23, 29)] == [4, 5, 5]
    # and the same customers in another order get the same scores
    order = np.random.default_rng(3).permutation(10)
    shuffled = rfm.quintile_scores(np.array(frequency)[order], np.array(ids)[order])
    assert dict(zip(np.array(ids)[order].tolist(), shuffled.tolist(), strict=True)) == by_id
    # every quintile holds two customers
    assert np.bincount(scores, minlength=6)[1:].tolist() == [2, 2, 2, 2, 2]


def test_rfm_scores_and_segments_together() -> None:
    recency_days = [1, 200, 30, 400, 5]
    frequency = [9, 8, 1, 1, 2]
    monetary = [500.0, 900.0, 20.0, 10.0, 50.0]
    scores = rfm.rfm_scores(recency_days, frequency, monetary, [1, 2, 3, 4, 5])
    assert scores.recency.tolist() == [5, 2, 3, 1, 4]
    assert scores.frequency.tolist() == [5, 4, 1, 2, 3]
    assert scores.monetary.tolist() == [4, 5, 2, 1, 3]
    names = rfm.segments(scores.recency, scores.frequency)
    assert names.tolist() == ["champions", "at_risk", "about_to_sleep", "hibernating",
                              "potential_loyalists"]  # fmt: skip


def test_duplicate_ids_and_bad_scores_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        rfm.quintile_scores([1, 2], [5, 5])
    with pytest.raises(ValueError, match="between 1 and 5"):
        rfm.segments([0], [3])
