"""Profile tables: one derived row per contact (`profiles`), the shop-wide model they were
computed with (`profile_models`) and the history of lifecycle stages (`lifecycle_changes`).

Profiles and the model are computed, nothing is entered by hand: a full recompute
(`service.recompute`) rewrites every profile and the model; a refresh (`service.refresh`)
rewrites a few profiles with the stored model. The history is only ever appended to.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String
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


class ProfileModel(Base):
    """The shop-wide figures of the last full recompute, which a refresh applies unchanged.

    One row (`id` = `CURRENT`), replaced by each full recompute: BG/NBD parameters (NULL when
    no model could be fitted), Gamma-Gamma parameters (NULL also when q <= 1), the shop's
    median days between orders, and the RFM breakpoints: per score, for 2 to 5, the
    (key, contact id) of the first customer in the recompute's order with that score, or null
    when no customer reached it (see `profiles.scoring`).
    """

    __tablename__ = "profile_models"
    CURRENT = 1

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    customers: Mapped[int]
    bgnbd_r: Mapped[float | None]
    bgnbd_alpha: Mapped[float | None]
    bgnbd_a: Mapped[float | None]
    bgnbd_b: Mapped[float | None]
    gg_p: Mapped[float | None]
    gg_q: Mapped[float | None]
    gg_gamma: Mapped[float | None]
    rhythm_days: Mapped[float]
    rfm_breakpoints: Mapped[dict[str, Any]] = mapped_column(JSON)


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


class RefreshRequest(Base):
    """A contact whose profile newly stored data may have changed, waiting for the refresh job.

    Written in the transaction that stores the data (so no refresh is lost if the process dies
    before it can queue a job), one row per contact however many batches touch it before the
    job runs: a stream of small event batches costs one refresh a second, not one per batch.
    The job deletes a row only if `requested_at` is still what it read, so a request made while
    it ran waits for the next run. No foreign key: a contact deleted meanwhile is refreshed
    away (its profile removed) like any other.
    """

    __tablename__ = "profile_refresh_requests"

    contact_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
