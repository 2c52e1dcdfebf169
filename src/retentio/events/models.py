"""Events, the de-duplication table and tracking sources (write keys).

`event_dedup` keeps message ids for a retention window instead of a unique index on the events
table itself: a unique random key over a huge table is what limits insert speed (DESIGN §8).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        # Segment rules ask "has this contact done X within N days": this shape answers it.
        Index("ix_events_contact_type_time", "contact_id", "type", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_id: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Page URL, referrer, UTM, user agent, IP: where and how the event happened.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class EventDedup(Base):
    __tablename__ = "event_dedup"

    message_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Source(Base):
    """A site or app sending events; its write key authenticates the tracker and SDKs."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    write_key: Mapped[str] = mapped_column(String(64), unique=True)
    # Origins allowed to call the collect endpoints from a browser (CORS), e.g. https://shop.ru
    allowed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
