"""Churn-risk bands and lifecycle stages: documented rules over whole numpy arrays.

Churn band (contacts with at least one order; None without orders). The contact's own rhythm
is their mean days between orders; a one-order customer has none, so the shop's median rhythm
(over repeat buyers) stands in, and `DEFAULT_RHYTHM_DAYS` when nobody bought twice.

- lost:   P(alive) < 0.1, or recency > 3 x rhythm and recency > 180 days;
- high:   P(alive) < 0.3, or recency > 2 x rhythm;
- medium: P(alive) < 0.6, or recency > rhythm;
- low:    otherwise.

Without a fitted model (too few customers) P(alive) is unknown and only the recency tests
apply. The first matching band wins.

Lifecycle stage, first matching rule wins:

- churned:    churn band is lost, or the contact answered an exit survey ("why did you
              leave?") after their last order;
- loyalty:    >= 2 orders and P(alive) >= 0.5 (or unknown);
- purchase:   >= 1 order (one order, or repeat buyers whose P(alive) fell below 0.5);
- evaluation: no order, a cart or checkout event in the last 30 days;
- interest:   no order, some event ever;
- attraction: no order and no event.

History: a full recompute and an incremental refresh both compare each contact's new stage
with the stage stored in its profile before the write, and append one `LifecycleChange`
(`from_stage` = the stored stage, None when the contact had no profile yet; `to_stage` = the
new one; `changed_at` = the `now` of that recompute or refresh) for every contact whose stage
differs, in bulk, in the same transaction as the profiles. A recompute that changes no stage
appends nothing; a contact whose profile disappears (deleted, merged away) gets no entry.
The shop's median rhythm that one-order customers borrow is the one of the last full
recompute, stored with its model, so a refresh bands a contact as the recompute would.
"""

from __future__ import annotations

import enum

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

DEFAULT_RHYTHM_DAYS = 90.0
LOST_MIN_RECENCY_DAYS = 180.0
EVALUATION_WINDOW_DAYS = 30
EVALUATION_EVENTS = ("cart_add", "checkout_start")


class ChurnBand(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    LOST = "lost"


class LifecycleStage(enum.StrEnum):
    ATTRACTION = "attraction"
    INTEREST = "interest"
    EVALUATION = "evaluation"
    PURCHASE = "purchase"
    LOYALTY = "loyalty"
    CHURNED = "churned"


def shop_rhythm(mean_days_between: FloatArray) -> float:
    """The shop's median interval between orders over repeat buyers (default without any)."""
    known = _known(mean_days_between)
    return float(np.median(mean_days_between[known])) if known.any() else DEFAULT_RHYTHM_DAYS


def rhythm(mean_days_between: FloatArray, *, fallback: float | None = None) -> FloatArray:
    """Each contact's own mean interval, or `fallback` (default: the shop's median of these
    intervals) where they have none."""
    stand_in = shop_rhythm(mean_days_between) if fallback is None else fallback
    result: FloatArray = np.where(_known(mean_days_between), mean_days_between, stand_in)
    return result


def _known(mean_days_between: FloatArray) -> BoolArray:
    known: BoolArray = np.isfinite(mean_days_between) & (mean_days_between > 0)
    return known


def churn_bands(
    orders: IntArray,
    recency_days: FloatArray,
    mean_days_between: FloatArray,
    p_alive: FloatArray,
    *,
    fallback_rhythm: float | None = None,
) -> NDArray[np.object_]:
    """The band of each contact (None without orders); NaN in `p_alive` means no model.

    `fallback_rhythm` is the shop's rhythm for one-order customers; by default the median
    over these contacts, which is right only when they are the whole shop."""
    own = rhythm(mean_days_between, fallback=fallback_rhythm)
    # NaN compares False, so without a model only the recency tests can fire.
    with np.errstate(invalid="ignore"):
        lost = (p_alive < 0.1) | ((recency_days > 3 * own) & (recency_days > LOST_MIN_RECENCY_DAYS))
        high = (p_alive < 0.3) | (recency_days > 2 * own)
        medium = (p_alive < 0.6) | (recency_days > own)
    return _first_match(
        [
            (orders == 0, None),
            (lost, ChurnBand.LOST.value),
            (high, ChurnBand.HIGH.value),
            (medium, ChurnBand.MEDIUM.value),
        ],
        ChurnBand.LOW.value,
        orders.size,
    )


def lifecycle_stages(
    orders: IntArray,
    p_alive: FloatArray,
    churn_band: NDArray[np.object_],
    has_events: BoolArray,
    recent_cart: BoolArray,
    declared_exit: BoolArray,
) -> NDArray[np.object_]:
    """The stage of each contact, by the rules in the module docstring."""
    with np.errstate(invalid="ignore"):
        alive_enough = ~(p_alive < 0.5)  # NaN (no model) counts as alive enough
    return _first_match(
        [
            (
                (churn_band == ChurnBand.LOST.value) | declared_exit,
                LifecycleStage.CHURNED.value,
            ),
            ((orders >= 2) & alive_enough, LifecycleStage.LOYALTY.value),
            (orders >= 1, LifecycleStage.PURCHASE.value),
            (recent_cart, LifecycleStage.EVALUATION.value),
            (has_events, LifecycleStage.INTEREST.value),
        ],
        LifecycleStage.ATTRACTION.value,
        orders.size,
    )


def _first_match(
    rules: list[tuple[BoolArray, str | None]], default: str, size: int
) -> NDArray[np.object_]:
    """Per element, the value of the first rule whose condition holds, else `default`."""
    result = np.full(size, default, dtype=object)
    # Applied last to first, so the earliest matching rule is written last and wins.
    for condition, value in reversed(rules):
        result[np.asarray(condition, dtype=bool)] = value
    return result
