"""RFM quintile scores and the named segments of the recency x frequency grid.

Scores: each of recency, frequency and monetary value is cut into quintiles scored 1 (worst)
to 5 (best) by position in a total order, so that every quintile holds a fifth of the
customers even under heavy ties (a shop where 60 % bought once). Ties are broken
deterministically by contact id: among customers with the same value, the lower contact id
takes the lower position (and so, at a quintile boundary, the lower score). Position k of n
(0-based) scores 1 + floor(5 k / n). Recency is "days since the last purchase", so fewer is
better and it is scored in reverse.

Segments: the common "RFM segments" grid (as popularised by Putler's and many analysts' RFM
guides) over the (R, F) scores, with one addition: the lowest cell (1, 1), where that grid
says Hibernating, is Lost, giving the 11 names of DESIGN section 7:

    F:   1    2    3    4    5
  R 5:  New  PL   PL   Ch   Ch          Ch  Champions           PL  Potential Loyalists
  R 4:  Pr   PL   PL   Lo   Lo          Lo  Loyal               Pr  Promising
  R 3:  AS   AS   NA   Lo   Lo          NA  Need Attention      AS  About to Sleep
  R 2:  Hi   Hi   AR   AR   CL          AR  At Risk             CL  Can't Lose
  R 1:  Lost Hi   AR   AR   CL          Hi  Hibernating

The grid is configurable: `segment_grid` builds one from rules and checks that each of the 25
cells gets exactly one segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from retentio.predict._arrays import IntArray, as_float

__all__ = [
    "DEFAULT_GRID",
    "DEFAULT_RULES",
    "RfmScores",
    "Segment",
    "SegmentGrid",
    "quintile_scores",
    "rfm_scores",
    "segment_grid",
    "segments",
]

SCORES = range(1, 6)


class Segment(StrEnum):
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL_LOYALISTS = "potential_loyalists"
    NEW = "new"
    PROMISING = "promising"
    NEED_ATTENTION = "need_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    AT_RISK = "at_risk"
    CANT_LOSE = "cant_lose"
    HIBERNATING = "hibernating"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class RfmScores:
    recency: IntArray
    frequency: IntArray
    monetary: IntArray


SegmentGrid = Mapping[tuple[int, int], Segment]
"""(R score, F score) -> segment, for all 25 cells."""

# (segment, R scores, F scores): the segment covers every (R, F) in the product.
DEFAULT_RULES: tuple[tuple[Segment, range, range], ...] = (
    (Segment.CHAMPIONS, range(5, 6), range(4, 6)),
    (Segment.LOYAL, range(3, 5), range(4, 6)),
    (Segment.POTENTIAL_LOYALISTS, range(4, 6), range(2, 4)),
    (Segment.NEW, range(5, 6), range(1, 2)),
    (Segment.PROMISING, range(4, 5), range(1, 2)),
    (Segment.NEED_ATTENTION, range(3, 4), range(3, 4)),
    (Segment.ABOUT_TO_SLEEP, range(3, 4), range(1, 3)),
    (Segment.AT_RISK, range(1, 3), range(3, 5)),
    (Segment.CANT_LOSE, range(1, 3), range(5, 6)),
    (Segment.HIBERNATING, range(2, 3), range(1, 3)),
    (Segment.HIBERNATING, range(1, 2), range(2, 3)),
    (Segment.LOST, range(1, 2), range(1, 2)),
)


def segment_grid(rules: Iterable[tuple[Segment, Iterable[int], Iterable[int]]]) -> SegmentGrid:
    """A grid from (segment, R scores, F scores) rules; ValueError unless each cell gets one."""
    grid: dict[tuple[int, int], Segment] = {}
    for segment, recency, frequency in rules:
        for cell in ((r, f) for r in recency for f in frequency):
            if cell not in {(r, f) for r in SCORES for f in SCORES}:
                raise ValueError(f"cell {cell} is outside the 5 x 5 grid")
            if cell in grid:
                raise ValueError(f"cell {cell} is both {grid[cell]} and {segment}")
            grid[cell] = segment
    missing = sorted({(r, f) for r in SCORES for f in SCORES} - grid.keys())
    if missing:
        raise ValueError(f"cells without a segment: {missing}")
    return grid


DEFAULT_GRID: SegmentGrid = segment_grid(DEFAULT_RULES)


def quintile_scores(
    values: npt.ArrayLike, contact_ids: npt.ArrayLike, *, higher_is_better: bool = True
) -> IntArray:
    """Scores 1-5 by position in the order (value, contact id); see the module docstring."""
    value = np.ravel(as_float(values, "values"))
    ids = np.ravel(np.asarray(contact_ids))
    if ids.shape != value.shape:
        raise ValueError("contact_ids must have one id per value")
    if np.unique(ids).size != ids.size:
        raise ValueError("contact_ids must be unique")
    order = np.lexsort((ids, value if higher_is_better else -value))
    position = np.empty(value.size, dtype=np.int64)
    position[order] = np.arange(value.size)
    scores: IntArray = 1 + (5 * position) // max(value.size, 1)
    return scores


def rfm_scores(
    recency_days: npt.ArrayLike,
    frequency: npt.ArrayLike,
    monetary: npt.ArrayLike,
    contact_ids: npt.ArrayLike,
) -> RfmScores:
    """R (fewer days since the last purchase is better), F and M quintile scores."""
    return RfmScores(
        recency=quintile_scores(recency_days, contact_ids, higher_is_better=False),
        frequency=quintile_scores(frequency, contact_ids),
        monetary=quintile_scores(monetary, contact_ids),
    )


def segments(
    recency_scores: npt.ArrayLike,
    frequency_scores: npt.ArrayLike,
    *,
    grid: SegmentGrid = DEFAULT_GRID,
) -> NDArray[np.str_]:
    """The segment name (a `Segment` value) of each (R, F) score pair."""
    r = np.asarray(recency_scores)
    f = np.asarray(frequency_scores)
    if np.any((r < 1) | (r > 5) | (f < 1) | (f > 5)):
        raise ValueError("scores must be between 1 and 5")
    table = np.array([[grid[(i, j)].value for j in SCORES] for i in SCORES])
    names: NDArray[np.str_] = table[r.astype(np.int64) - 1, f.astype(np.int64) - 1]
    return names
