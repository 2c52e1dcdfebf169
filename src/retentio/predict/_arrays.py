"""Array types, input checks and the compression of customers to distinct rows.

Shared by the model modules; nothing here knows a model. Fitting on the distinct
(x, t_x, T) rows with their counts as weights gives exactly the same likelihood as fitting
on every customer, and is what makes a million-customer fit take well under a second: a shop's
customers share few distinct summaries once time is counted in whole days or weeks.
"""

# T (the customer's age) keeps the papers' name, as in the literature and in lifetimes.
# ruff: noqa: N803, N806

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

__all__ = [
    "FloatArray",
    "IntArray",
    "Rows",
    "as_float",
    "compress",
    "customer_arrays",
    "distinct",
    "horizon",
    "purchase_count",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Rows:
    """Distinct (x, t_x, T) rows and how many customers each stands for."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    weight: FloatArray

    @property
    def customers(self) -> float:
        return float(self.weight.sum())


def as_float(value: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def customer_arrays(
    x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Check and broadcast a customer summary: x whole and >= 0, 0 <= t_x <= T."""
    xx, tt, TT = np.broadcast_arrays(as_float(x, "x"), as_float(t_x, "t_x"), as_float(T, "T"))
    if np.any(xx < 0) or np.any(xx != np.floor(xx)):
        raise ValueError("x (repeat purchases) must be whole numbers >= 0")
    if np.any(tt < 0):
        raise ValueError("t_x (time of the last purchase) must be >= 0")
    if np.any(tt > TT):
        raise ValueError("t_x (time of the last purchase) must not exceed T (customer age)")
    return xx, tt, TT


def compress(
    x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike, weights: npt.ArrayLike | None = None
) -> Rows:
    """The distinct (x, t_x, T) rows, weighted by the customers (or `weights`) behind each."""
    xx, tt, TT = customer_arrays(x, t_x, T)
    xx, tt, TT = np.ravel(xx), np.ravel(tt), np.ravel(TT)
    ww = np.ones(xx.size) if weights is None else np.ravel(as_float(weights, "weights"))
    if ww.shape != xx.shape:
        raise ValueError("weights must have one value per customer")
    if np.any(ww < 0):
        raise ValueError("weights must be >= 0")
    if xx.size == 0:
        return Rows(xx, tt, TT, ww)
    ranks = [_ranks(column) for column in (xx, tt, TT)]
    if weights is None and _fits(ranks):
        # Counting is all that is needed: sort the codes (no argsort) and decode the rows.
        codes, counts = np.unique(_codes(ranks), return_counts=True)
        columns = []
        for _, size, values in reversed(ranks):
            columns.append(values[codes % size])
            codes = codes // size
        x_u, t_u, T_u = reversed(columns)
        return Rows(x_u, t_u, T_u, counts.astype(np.float64))
    first, inverse = distinct(xx, tt, TT)
    weight = np.bincount(inverse, weights=ww).astype(np.float64)
    keep = weight > 0
    return Rows(xx[first][keep], tt[first][keep], TT[first][keep], weight[keep])


def horizon(t: npt.ArrayLike) -> FloatArray:
    """A prediction horizon: finite and >= 0."""
    value = as_float(t, "t")
    if np.any(value < 0):
        raise ValueError("t (the horizon) must be >= 0")
    return value


def purchase_count(n: npt.ArrayLike) -> FloatArray:
    """A number of purchases: a whole number >= 0."""
    count = as_float(n, "n")
    if np.any(count < 0) or np.any(count != np.floor(count)):
        raise ValueError("n (a number of purchases) must be a whole number >= 0")
    return count


def distinct(*columns: FloatArray) -> tuple[IntArray, IntArray]:
    """Rows of equal values across `columns`: a first index of each distinct row, and the
    distinct row of each row (so `column[first][inverse] == column`)."""
    ranks = [_ranks(np.ravel(column)) for column in columns]
    if _fits(ranks):
        _, first, inverse = np.unique(_codes(ranks), return_index=True, return_inverse=True)
    else:  # too many distinct values for one int64 code: sort the rank tuples instead
        _, first, inverse = np.unique(
            np.stack([rank for rank, _, _ in ranks], axis=1),
            axis=0,
            return_index=True,
            return_inverse=True,
        )
    return first.astype(np.int64), np.ravel(inverse).astype(np.int64)


_Ranks = tuple[IntArray, int, FloatArray]


def _fits(ranks: list[_Ranks]) -> bool:
    return float(np.prod([float(size) for _, size, _ in ranks])) < 2.0**62


def _codes(ranks: list[_Ranks]) -> IntArray:
    """One integer per row, combining each column's rank (mixed radix)."""
    codes = np.zeros(ranks[0][0].size, dtype=np.int64)
    for rank, size, _ in ranks:
        codes = codes * size + rank
    return codes


def _ranks(column: FloatArray) -> _Ranks:
    """Codes that order and identify the column's values, their count, and the values by code.

    A column of whole numbers spanning under a million (days or weeks counted as such) is its
    own code, which skips a sort of a million floats.
    """
    low, high = float(column.min()), float(column.max())
    if high - low < 2**20 and np.all(column == np.round(column)):
        size = int(high - low) + 1
        return (column - low).astype(np.int64), size, low + np.arange(size, dtype=np.float64)
    values, inverse = np.unique(column, return_inverse=True)
    return inverse.astype(np.int64), int(values.size), values.astype(np.float64)
