"""Tables of the feedback domain: surveys (NPS, CSAT, exit), their answers, and service
tickets with SLA targets and notes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, enum_type, utcnow


class SurveyKind(enum.StrEnum):
    NPS = "nps"  # 0-10: promoters 9-10, passives 7-8, detractors 0-6
    CSAT = "csat"  # 1-5
    EXIT = "exit"  # why did you leave: a reason from the list, each natural or preventable


class Survey(Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SurveyKind] = mapped_column(enum_type(SurveyKind, length=10))
    name: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    ask_comment: Mapped[bool] = mapped_column(default=True)
    # [{"key": "price", "label": "Too expensive", "preventable": true}, …]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Response(Base):
    """One answer per contact per survey send (`occurrence`: the message or widget showing)."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "contact_id", "occurrence"),
        Index("ix_survey_responses_survey_created", "survey_id", "created_at"),
        Index("ix_survey_responses_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(60))
    score: Mapped[int | None]
    comment: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketKind(enum.StrEnum):
    QUESTION = "question"
    COMPLAINT = "complaint"
    CLAIM = "claim"  # рекламация: a claim about goods or service, with a remedy due


class TicketPriority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"  # waiting for the customer
    RESOLVED = "resolved"
    CLOSED = "closed"


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_due", "status", "resolution_due_at"),
        Index("ix_tickets_contact", "contact_id"),
        Index("ix_tickets_assignee_status", "assignee_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(300))
    kind: Mapped[TicketKind] = mapped_column(enum_type(TicketKind, length=10))
    priority: Mapped[TicketPriority] = mapped_column(enum_type(TicketPriority, length=10))
    status: Mapped[TicketStatus] = mapped_column(enum_type(TicketStatus, length=10))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    satisfaction: Mapped[int | None]  # 1-5, asked at close
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TicketNote(Base):
    __tablename__ = "ticket_notes"
    __table_args__ = (Index("ix_ticket_notes_ticket", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=True)  # False: a reply to the customer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
