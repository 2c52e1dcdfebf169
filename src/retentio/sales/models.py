"""Tables of the sales domain.

Pipelines ("directions": products, services, HR) have ordered stages with a win probability;
a stage is open, won or lost. Leads are requests not yet worked; converting one makes (or
finds) the contact and company and opens a deal. Every stage change of a deal is appended to
`deal_stage_changes`, from which time in stage and the funnel are computed.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, enum_type, utcnow


class StageKind(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class DealStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class LeadStatus(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    CONVERTED = "converted"
    JUNK = "junk"


class Pipeline(Base):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Stage(Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (Index("ix_pipeline_stages_pipeline_position", "pipeline_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    probability: Mapped[int] = mapped_column(default=0)  # percent, for the weighted forecast
    kind: Mapped[StageKind] = mapped_column(enum_type(StageKind, length=10))


class LostReason(Base):
    __tablename__ = "lost_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_status_created", "status", "created_at"),
        Index("ix_leads_owner", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    company_name: Mapped[str] = mapped_column(String(300), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[LeadStatus] = mapped_column(enum_type(LeadStatus, length=12))
    source: Mapped[str | None] = mapped_column(String(100))
    utm: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    form_id: Mapped[int | None] = mapped_column(ForeignKey("web_forms.id", ondelete="SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The existing customer it came from (a repeat sale), or the contact made at conversion.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    is_repeat: Mapped[bool] = mapped_column(default=False)
    # What made it, when it came through an API or import: unique, so a retry is one lead.
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_pipeline_stage", "pipeline_id", "stage_id"),
        Index("ix_deals_owner_status", "owner_id", "status"),
        Index("ix_deals_contact", "contact_id"),
        Index("ix_deals_status_expected", "status", "expected_close_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id"))
    status: Mapped[DealStatus] = mapped_column(enum_type(DealStatus, length=10))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="RUB")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id", ondelete="SET NULL"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    available_to_all: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str | None] = mapped_column(String(100))
    utm: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    lost_reason_id: Mapped[int | None] = mapped_column(
        ForeignKey("lost_reasons.id", ondelete="SET NULL")
    )
    lost_comment: Mapped[str] = mapped_column(Text, default="")
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    won_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lost_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic concurrency: a kanban move names the version it saw.
    version: Mapped[int] = mapped_column(default=1)


class DealWatcher(Base):
    __tablename__ = "deal_watchers"
    __table_args__ = (Index("ix_deal_watchers_user", "user_id"),)

    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class DealProduct(Base):
    __tablename__ = "deal_products"
    __table_args__ = (UniqueConstraint("deal_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3), default=Decimal("1"))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class DealStageChange(Base):
    """One move of a deal between stages, appended, never edited; the first row of a deal has
    no `from_stage_id` (it was created there)."""

    __tablename__ = "deal_stage_changes"
    __table_args__ = (Index("ix_deal_stage_changes_deal_changed", "deal_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline_stages.id"))
    to_stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
