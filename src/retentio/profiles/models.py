"""The `profiles` table: one derived row per contact, rebuilt by `service.recompute`.

Everything here is computed; nothing is entered by hand, so a recompute may delete and
rewrite every row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime

MONEY = Numeric(14, 2)


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (
        # Segment rules filter on these three.
        Index("ix_profiles_rfm_segment", "rfm_segment"),
        Index("ix_profiles_churn_band", "churn_band"),
        Index("ix_profiles_lifecycle_stage", "lifecycle_stage"),
    )

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    first_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    orders: Mapped[int] = mapped_column(default=0)
    revenue: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    average_check: Mapped[Decimal | None] = mapped_column(MONEY)
    mean_days_between: Mapped[float | None]
    recency_days: Mapped[int | None]
    frequency: Mapped[int | None]
    r_score: Mapped[int | None]
    f_score: Mapped[int | None]
    m_score: Mapped[int | None]
    rfm_segment: Mapped[str | None] = mapped_column(String(32))
    p_alive: Mapped[float | None]
    expected_purchases_90d: Mapped[float | None]
    clv_12m: Mapped[Decimal | None] = mapped_column(MONEY)
    churn_band: Mapped[str | None] = mapped_column(String(16))
    lifecycle_stage: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LifecycleChange(Base):
    """One move of a contact from one lifecycle stage to another, appended, never edited.

    `from_stage` is None the first time a contact's stage is known. The analytics page counts
    these per month (the lifecycle flow); the contact card lists a contact's own.
    """

    __tablename__ = "lifecycle_changes"
    __table_args__ = (
        Index("ix_lifecycle_changes_changed_at", "changed_at"),
        Index("ix_lifecycle_changes_contact_changed", "contact_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
