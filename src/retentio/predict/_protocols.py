"""The interface every purchase model's parameters offer, so CLV and reports take any of them."""

# T (the customer's age) keeps the papers' name, as in the literature and in lifetimes.
# ruff: noqa: N803

from __future__ import annotations

from typing import Protocol

import numpy.typing as npt

from retentio.predict._arrays import FloatArray

__all__ = ["PurchaseModel"]


class PurchaseModel(Protocol):
    """Fitted BG/NBD, MBG/NBD or Pareto/NBD parameters (`BgNbdParams` and its siblings)."""

    def p_alive(self, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
        """P(alive at T | x, t_x, T)."""
        ...

    def conditional_expected_purchases(
        self, t: npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
    ) -> FloatArray:
        """E[purchases in (T, T + t] | x, t_x, T]."""
        ...

    def expected_purchases(self, t: npt.ArrayLike) -> FloatArray:
        """E[X(t)], repeat purchases within t of the first purchase, for a new customer."""
        ...
