"""Pydantic shapes of the loyalty API: the programme, tiers, a contact's points, the ledger."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from retentio.loyalty.models import EntryKind


class ProgrammeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    points_per_unit: Decimal = Field(ge=0, max_digits=12, decimal_places=4, examples=["0.05"])
    # Category → multiplier of the base rate, e.g. {"coffee": 2}.
    category_rates: dict[str, Decimal] = Field(default_factory=dict)
    welcome_bonus: int = Field(default=0, ge=0)
    birthday_bonus: int = Field(default=0, ge=0)
    expiry_days: int | None = Field(default=None, ge=1)
    tier_window_days: int = Field(default=365, ge=1)


class ProgrammeRead(ProgrammeIn):
    model_config = ConfigDict(from_attributes=True)

    updated_at: datetime | None  # None: never saved, these are the defaults


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, examples=["Gold"])
    threshold: Decimal = Field(ge=0, max_digits=14, decimal_places=2, examples=["50000"])
    multiplier: Decimal = Field(default=Decimal("1"), ge=0, max_digits=6, decimal_places=2)
    discount_percent: Decimal = Field(
        default=Decimal("0"), ge=0, le=100, max_digits=5, decimal_places=2
    )


class TierRead(TierIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    kind: EntryKind
    points: int
    reason: str
    order_id: int | None
    actor_id: int | None
    key: str | None
    expires_at: datetime | None
    created_at: datetime


class LoyaltyRead(BaseModel):
    """A contact's points: balance, tier and the latest entries (no account yet: zero, none)."""

    contact_id: int
    balance: int
    tier: TierRead | None
    tier_since: datetime | None
    entries: list[EntryRead]


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    points: int = Field(gt=0, examples=[150])
    # The POS's receipt or request id: sending the same key again returns the same entry.
    key: str = Field(min_length=1, max_length=120, examples=["pos-7-receipt-1042"])
    reason: str = Field(default="", max_length=2000)


class AdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    points: int = Field(examples=[-50])
    reason: str = Field(min_length=1, max_length=2000, examples=["Goodwill after a late delivery"])
    key: str | None = Field(default=None, min_length=1, max_length=120)


class LedgerPage(BaseModel):
    total: int
    entries: list[EntryRead]


class TierLiability(BaseModel):
    tier_id: int | None
    tier: str | None
    accounts: int
    points: int


class Liabilities(BaseModel):
    """Points outstanding: what the shop owes its members, in all and by tier."""

    points: int
    accounts: int
    by_tier: list[TierLiability]
