"""Tables of the loyalty domain.

The ledger (`loyalty_entries`) is append-only: earning, redeeming, expiring and adjusting are
rows, never edits. `loyalty_accounts.balance` is the ledger's sum kept beside it, changed in
the same transaction as each entry by one atomic `UPDATE … SET balance = balance + n` — a
redemption's `WHERE balance >= n` is what makes overdrawing impossible under concurrency.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, enum_type, utcnow


class EntryKind(enum.StrEnum):
    EARN = "earn"
    REDEEM = "redeem"
    EXPIRE = "expire"
    ADJUST = "adjust"


class Programme(Base):
    """The shop's one programme (id 1): how points are earned and how long they live."""

    __tablename__ = "loyalty_programme"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    enabled: Mapped[bool] = mapped_column(default=False)
    # Points per currency unit of an order's revenue (0.05 = 5 points per 100 ₽).
    points_per_unit: Mapped[Decimal] = mapped_column(Numeric(12, 4), default=Decimal("0.05"))
    # Category → multiplier of the base rate ({"coffee": 2}).
    category_rates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    welcome_bonus: Mapped[int] = mapped_column(default=0)
    birthday_bonus: Mapped[int] = mapped_column(default=0)
    # Earned points expire this many days later; None: never.
    expiry_days: Mapped[int | None]
    # Tiers are decided by revenue over this many days, rolling.
    tier_window_days: Mapped[int] = mapped_column(default=365)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Tier(Base):
    __tablename__ = "loyalty_tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Revenue over the programme's window needed to hold the tier.
    threshold: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    multiplier: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("1"))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Account(Base):
    __tablename__ = "loyalty_accounts"
    __table_args__ = (Index("ix_loyalty_accounts_tier", "tier_id"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    balance: Mapped[int] = mapped_column(default=0)
    tier_id: Mapped[int | None] = mapped_column(ForeignKey("loyalty_tiers.id", ondelete="SET NULL"))
    tier_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Entry(Base):
    __tablename__ = "loyalty_entries"
    __table_args__ = (
        Index("ix_loyalty_entries_contact_created", "contact_id", "created_at"),
        # Expiry looks for earned points whose time has come.
        Index("ix_loyalty_entries_kind_expires", "kind", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[EntryKind] = mapped_column(enum_type(EntryKind, length=10))
    points: Mapped[int]  # positive for earn, negative for redeem and expire; adjust either way
    reason: Mapped[str] = mapped_column(Text, default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What makes a retried request the same entry ("order:123:earn", a POS receipt id).
    key: Mapped[str | None] = mapped_column(String(120), unique=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
