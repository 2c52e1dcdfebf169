"""Tables of the segments domain: segments, their current members, the history of who entered
and left (what journeys trigger on, ADR 0010) and one size per segment per day (the trend)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from retentio.consent.models import ConsentState
from retentio.db import Base, UTCDateTime, enum_type, utcnow
from retentio.events.models import Event


class SegmentKind(enum.StrEnum):
    DYNAMIC = "dynamic"  # members are whoever matches the rule, refreshed by the worker
    STATIC = "static"  # members are a list, added from a file or the contact list


class ChangeKind(enum.StrEnum):
    ENTERED = "entered"
    LEFT = "left"


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stable key of a prebuilt segment (`rfm.champions`, `sleeping_90`): created once, by key.
    key: Mapped[str | None] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[SegmentKind] = mapped_column(enum_type(SegmentKind))
    rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    size: Mapped[int] = mapped_column(default=0)


class SegmentMember(Base):
    __tablename__ = "segment_members"
    __table_args__ = (
        # "Which segments is this contact in?" and the changed-contacts refresh.
        Index("ix_segment_members_contact_id", "contact_id"),
    )

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SegmentChange(Base):
    """One contact entering or leaving one segment, appended, never edited. Readers (journeys)
    follow it by `id`, which only grows."""

    __tablename__ = "segment_changes"
    __table_args__ = (
        Index("ix_segment_changes_segment_changed", "segment_id", "changed_at"),
        Index("ix_segment_changes_contact_changed", "contact_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    change: Mapped[ChangeKind] = mapped_column(enum_type(ChangeKind, length=10))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SegmentSize(Base):
    """The size of a segment on a day (UTC), the last refresh of that day winning."""

    __tablename__ = "segment_sizes"

    segment_id: Mapped[int] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    size: Mapped[int]


# Indexes on other domains' tables that only segment rules need, declared here so the segments
# migration owns them (DESIGN §8: the shape of these decides between milliseconds and minutes).
# "Who did event X in the window": a range scan on (type, time) yields the contact ids.
Index("ix_events_type_time_contact", Event.type, Event.occurred_at, Event.contact_id)
# "Who granted marketing consent for channel X": a range scan instead of the whole table.
Index(
    "ix_consent_states_channel_purpose_granted",
    ConsentState.channel,
    ConsentState.purpose,
    ConsentState.granted,
    ConsentState.contact_id,
)
