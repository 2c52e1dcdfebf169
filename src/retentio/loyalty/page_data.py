"""What the loyalty pages show and read back: form values of the programme and a tier, the
models built from a posted form, and the bars of the liabilities chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import FormData

from retentio.errors import InvalidInput
from retentio.loyalty.models import Programme, Tier
from retentio.loyalty.queries import Outstanding
from retentio.loyalty.schemas import ProgrammeIn, TierIn
from retentio.web.forms import text

# The widest bar of the liabilities chart, in percent of the row.
FULL_BAR = 100
PROGRAMME_FIELDS = (
    "points_per_unit",
    "category_rates",
    "welcome_bonus",
    "birthday_bonus",
    "expiry_days",
    "tier_window_days",
)


@dataclass(frozen=True)
class Bar:
    label: str | None  # a tier's name; None: members without a tier
    points: int
    accounts: int
    width: int  # percent of the widest bar


def programme_values(rules: Programme) -> dict[str, Any]:
    return {
        "enabled": rules.enabled,
        "points_per_unit": rules.points_per_unit,
        "category_rates": "\n".join(f"{k} = {v}" for k, v in sorted(rules.category_rates.items())),
        "welcome_bonus": rules.welcome_bonus,
        "birthday_bonus": rules.birthday_bonus,
        "expiry_days": rules.expiry_days,
        "tier_window_days": rules.tier_window_days,
    }


def posted_programme(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name) for name in PROGRAMME_FIELDS}
    values["enabled"] = text(form, "enabled") == "true"
    return values


def programme_in(values: dict[str, Any]) -> ProgrammeIn:
    """Raises pydantic's ValidationError or InvalidInput naming the field."""
    return ProgrammeIn(
        enabled=values["enabled"],
        points_per_unit=values["points_per_unit"] or "0",
        category_rates=_rates(values["category_rates"] or ""),
        welcome_bonus=values["welcome_bonus"] or 0,
        birthday_bonus=values["birthday_bonus"] or 0,
        expiry_days=values["expiry_days"],
        tier_window_days=values["tier_window_days"] or 365,
    )


def _rates(raw: str) -> dict[str, Decimal]:
    """One "category = multiplier" a line."""
    rates = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        category, sep, rate = line.partition("=")
        try:
            if not sep or not category.strip():
                raise InvalidOperation
            rates[category.strip()] = Decimal(rate.strip())
        except InvalidOperation:
            raise InvalidInput(
                f"category_rates: {line.strip()!r} is not “category = multiplier”.",
                details={"field": "category_rates"},
            ) from None
    return rates


def tier_values(tier: Tier | None) -> dict[str, Any]:
    if tier is None:
        return {"multiplier": "1", "discount_percent": "0"}
    return {
        "name": tier.name,
        "threshold": tier.threshold,
        "multiplier": tier.multiplier,
        "discount_percent": tier.discount_percent,
    }


def posted_tier(form: FormData) -> dict[str, Any]:
    return {n: text(form, n) for n in ("name", "threshold", "multiplier", "discount_percent")}


def tier_in(values: dict[str, Any]) -> TierIn:
    return TierIn(
        name=values["name"] or "",
        threshold=values["threshold"] or "0",
        multiplier=values["multiplier"] or "1",
        discount_percent=values["discount_percent"] or "0",
    )


def bars(owed: Outstanding) -> list[Bar]:
    widest = max((share.points for share in owed.by_tier), default=0)
    return [
        Bar(
            label=share.tier,
            points=share.points,
            accounts=share.accounts,
            width=round(FULL_BAR * share.points / widest) if widest else 0,
        )
        for share in owed.by_tier
    ]


def day_start(day: date, *, next_day: bool = False) -> datetime:
    """Midnight UTC of the day (or of the next one: the end of a "to" date is inclusive)."""
    return datetime.combine(day + timedelta(days=1 if next_day else 0), time(), tzinfo=UTC)
