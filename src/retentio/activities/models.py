"""Tables of the activities domain: a task for a user about a contact (call back, follow up).

Journeys create them for the contact's owner; the sales pipeline (deals, "my tasks") builds on
the same table.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, enum_type, utcnow


class ActivityKind(enum.StrEnum):
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    REMINDER = "reminder"


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        # "My tasks": open ones of a user, soonest due first.
        Index("ix_activities_owner_done_due", "owner_id", "done_at", "due_at"),
        Index("ix_activities_contact", "contact_id"),
        Index("ix_activities_deal", "deal_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ActivityKind] = mapped_column(enum_type(ActivityKind))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    # None: nobody is responsible yet (the contact has no owner); admins see these.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What created it ("journey:12"), for the card and for reports.
    origin: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
