"""Consent history (append-only), its current state (one row per contact, channel, purpose)
and the suppression list of addresses that must never be messaged."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, enum_type, utcnow


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    MESSENGER = "messenger"
    PHONE = "phone"


class Purpose(enum.StrEnum):
    MARKETING = "marketing"
    TRANSACTIONAL = "transactional"


class ConsentEvent(Base):
    """Every grant and withdrawal, never updated or deleted."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_events_contact", "contact_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    purpose: Mapped[Purpose] = mapped_column(enum_type(Purpose))
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(100))
    text_version: Mapped[str | None] = mapped_column(String(100))
    ip: Mapped[str | None] = mapped_column(String(45))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentState(Base):
    """The current answer: one indexed lookup by primary key."""

    __tablename__ = "consent_states"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[Channel] = mapped_column(enum_type(Channel), primary_key=True)
    purpose: Mapped[Purpose] = mapped_column(enum_type(Purpose), primary_key=True)
    granted: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    event_id: Mapped[int] = mapped_column(ForeignKey("consent_events.id"))


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    MANUAL = "manual"


class Suppression(Base):
    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    address: Mapped[str] = mapped_column(String(300))
    reason: Mapped[SuppressionReason] = mapped_column(enum_type(SuppressionReason))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
