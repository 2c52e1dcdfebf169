"""Retention-marketing formulas as pure functions over counts and money.

Conventions shared by every function here:

- A denominator of zero gives `None` ("not defined for this period"), never an exception,
  `inf` or NaN, so a report can show an empty cell for a segment with no customers.
- Counts are `int`; money is `Decimal` and stays `Decimal`; rates and ratios are `float`.
- Nothing here knows about the database; `analytics.queries` supplies the counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

CENT: Final = Decimal("0.01")

LeverName = Literal["leads", "conversion", "average_check", "purchases_per_customer"]
# The order in which the levers multiply, and the tie-break order of `weakest_lever`.
LEVERS: Final[tuple[LeverName, ...]] = (
    "leads",
    "conversion",
    "average_check",
    "purchases_per_customer",
)


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def retention_rate(start: int, end: int, new: int) -> float | None:
    """Customer retention rate, CRR = (E − N) / S.

    S customers were active at the start of the period, E at its end, N of the E are new
    (their first purchase fell inside the period). The textbook example: S = 1000, 200 left,
    150 came, so E = 950 and CRR = (950 − 150) / 1000 = 0.8.

    E − N counts every non-new customer active at the end, so a customer who was not active at
    the start but came back during the period (a reactivation) counts as retained: then CRR is
    not 1 − churn. `analytics.queries` reports the reactivations next to it.
    """
    return _ratio(end - new, start)


def churn_rate(start: int, lost: int) -> float | None:
    """Churn rate = lost / S.

    "Lost" are the customers active at the start of the period who are not active at its end
    (with the same activity rule at both moments: a purchase in the trailing window). The
    textbook example: 200 of 1000 lost → 0.2.
    """
    return _ratio(lost, start)


def repeat_purchase_rate(repeat_buyers: int, buyers: int) -> float | None:
    """Repeat purchase rate = customers with ≥ 2 purchases / customers with ≥ 1, in one period."""
    return _ratio(repeat_buyers, buyers)


def purchase_frequency(orders: int, buyers: int) -> float | None:
    """Purchase frequency = orders / customers who bought, in one period (purchases per buyer)."""
    return _ratio(orders, buyers)


def average_check(revenue: Decimal, orders: int) -> Decimal | None:
    """Average check (average order value) = revenue / orders, rounded to the cent."""
    if orders == 0:
        return None
    return (revenue / orders).quantize(CENT)


def average_lifetime(total_span: float, customers: int) -> float | None:
    """Average customer lifetime = Σ (last purchase − first purchase) / customers.

    The unit is the caller's: `analytics.queries` passes days. It is the observed lifetime so
    far: a one-purchase customer contributes 0 and a customer who is still buying is cut at the
    end of the observation, so it is a lower bound of the true lifetime.
    """
    return _ratio(total_span, customers)


def simple_ltv(
    check: Decimal | None, frequency: float | None, lifetime: float | None
) -> Decimal | None:
    """Simple LTV = average check × purchase frequency × lifetime, rounded to the cent.

    Frequency and lifetime must use the same time unit: purchases per period × lifetime in
    periods (`analytics.queries` divides the lifetime in days by the period's length in days).
    Any undefined factor makes the LTV undefined.
    """
    if check is None or frequency is None or lifetime is None:
        return None
    return (check * _decimal(frequency) * _decimal(lifetime)).quantize(CENT)


@dataclass(frozen=True, slots=True)
class Levers:
    """Revenue = leads × conversion × average check × purchases per customer.

    With conversion = buyers / leads and purchases per customer = orders / buyers the product is
    exactly the period's revenue (up to rounding to the cent), which is what makes the levers a
    decomposition: a change in revenue is the product of the four levers' changes.
    """

    leads: int
    conversion: float | None
    average_check: Decimal | None
    purchases_per_customer: float | None

    @classmethod
    def from_counts(cls, *, leads: int, buyers: int, orders: int, revenue: Decimal) -> Levers:
        return cls(
            leads=leads,
            conversion=_ratio(buyers, leads),
            # Unrounded (unlike `average_check`) so that the product is the revenue to the cent.
            average_check=None if orders == 0 else revenue / orders,
            purchases_per_customer=purchase_frequency(orders, buyers),
        )

    def value(self, lever: LeverName) -> Decimal | None:
        """One lever as a `Decimal` (exact arithmetic for products and ratios), or None."""
        raw: int | float | Decimal | None = getattr(self, lever)
        return None if raw is None else _decimal(raw)

    @property
    def revenue(self) -> Decimal | None:
        """The product of the four levers, rounded to the cent; None if any is undefined."""
        product = Decimal(1)
        for lever in LEVERS:
            factor = self.value(lever)
            if factor is None:
                return None
            product *= factor
        return product.quantize(CENT)


def what_if(multipliers: Mapping[LeverName, Decimal | float]) -> Decimal:
    """How many times revenue grows when each lever is multiplied: the product of multipliers.

    Levers not named stay as they are (×1). +20 % on each of the four levers gives
    1.2⁴ = 2.0736, so revenue grows ×2.07 although no lever grew by more than a fifth.
    """
    product = Decimal(1)
    for lever in LEVERS:
        product *= _decimal(multipliers.get(lever, 1))
    return product


def lever_changes(previous: Levers, current: Levers) -> dict[LeverName, float | None]:
    """Each lever's relative change, current / previous − 1; None where previous is 0 or None."""
    changes: dict[LeverName, float | None] = {}
    for lever in LEVERS:
        before, after = previous.value(lever), current.value(lever)
        if before is None or after is None or before == 0:
            changes[lever] = None
        else:
            changes[lever] = float(after / before - 1)
    return changes


def weakest_lever(previous: Levers, current: Levers) -> LeverName | None:
    """The lever with the worst relative change between two periods (the first of equals).

    Levers whose change is undefined are left out; None when no change is defined.
    """
    changes = lever_changes(previous, current)
    # `min` keeps the first of equal changes, and LEVERS fixes the order.
    defined = [lever for lever in LEVERS if changes[lever] is not None]
    return min(defined, key=lambda lever: changes[lever] or 0.0, default=None)


def _decimal(value: int | float | Decimal) -> Decimal:
    # Through str so that 1.2 becomes Decimal("1.2"), not its binary approximation.
    return value if isinstance(value, Decimal) else Decimal(str(value))
