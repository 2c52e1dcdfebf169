"""Tables of the journeys domain.

A journey has a trigger, policies and versions of its steps; each contact that enters is an
enrollment that records where it is (`step`, since `step_entered_at`) and when it should move
next (`next_run_at`). Every step an enrollment executes is a row of `journey_step_runs` whose
primary key (enrollment, sequence number) makes a second execution of the same step
impossible: a worker that dies mid-batch rolls its whole transaction back (ADR 0014).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, enum_type, utcnow
from retentio.events.models import Event
from retentio.segments.models import SegmentChange


class JourneyStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class EnrollmentState(enum.StrEnum):
    ACTIVE = "active"  # moving or waiting
    COMPLETED = "completed"  # ran out of steps or reached an exit step
    CONVERTED = "converted"  # reached the journey's goal
    EXITED = "exited"  # left early: unsubscribed, contact gone, journey archived


class Group(enum.StrEnum):
    TREATED = "treated"
    HOLDOUT = "holdout"  # enrolled and followed, never acted on: the baseline of the effect


class Journey(Base):
    __tablename__ = "journeys"
    __table_args__ = (Index("ix_journeys_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The ready-made scenario it was created from ("abandoned_cart"), if any.
    template: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[JourneyStatus] = mapped_column(enum_type(JourneyStatus))
    trigger: Mapped[dict[str, Any]] = mapped_column(JSON)
    goal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version_id: Mapped[int | None]  # the version new enrollments start on
    # How far the trigger has read its stream (events.id or segment_changes.id).
    cursor: Mapped[int] = mapped_column(default=0)
    # When a scanning trigger (dates, inactivity, schedule) looks again.
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JourneyVersion(Base):
    """The steps as they were saved; a live journey's edit adds a version, running enrollments
    stay on theirs."""

    __tablename__ = "journey_versions"
    __table_args__ = (UniqueConstraint("journey_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    number: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enrollment(Base):
    __tablename__ = "journey_enrollments"
    __table_args__ = (
        # One enrollment per trigger occurrence (an event, a birthday year, a schedule run).
        UniqueConstraint("journey_id", "contact_id", "occurrence"),
        # The tick's claim: due active enrollments in order.
        Index("ix_journey_enrollments_state_due", "state", "next_run_at"),
        # Re-entry checks, goals and the card.
        Index("ix_journey_enrollments_contact", "contact_id", "journey_id"),
        Index("ix_journey_enrollments_journey_state", "journey_id", "state", "step"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("journey_versions.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(60))
    group: Mapped[Group] = mapped_column(enum_type(Group, length=10))
    state: Mapped[EnrollmentState] = mapped_column(enum_type(EnrollmentState, length=10))
    step: Mapped[str] = mapped_column(String(40))
    step_entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The event type a `wait_event` step listens for, so an arriving event wakes it.
    waiting_for: Mapped[str | None] = mapped_column(String(64))
    steps_done: Mapped[int] = mapped_column(default=0)
    # Trigger data (the event's properties) for templates: {{ trigger.product }}.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(30))


class StepRun(Base):
    """One executed step of one enrollment; the key makes running it twice impossible."""

    __tablename__ = "journey_step_runs"
    __table_args__ = (Index("ix_journey_step_runs_journey_step", "journey_id", "step"),)

    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("journey_enrollments.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(40))
    # What it did: "sent", "held_out", "yes", "no", "branch:b", "event", "timeout", …
    outcome: Mapped[str] = mapped_column(String(40))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookCall(Base):
    """A `webhook` step's request, written with the step and posted after commit by the
    worker: at most once, like the outbox (claimed and committed before the request)."""

    __tablename__ = "journey_webhook_calls"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step"),
        Index("ix_journey_webhook_calls_state", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("journey_enrollments.id", ondelete="CASCADE")
    )
    step: Mapped[str] = mapped_column(String(40))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(10), default="queued")  # sending, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Stream(Base):
    """How far a shared reader has read a stream (the wake-up of `wait_event` steps)."""

    __tablename__ = "journey_streams"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


# Indexes on other domains' tables that only journey triggers need: "events of type X after
# id N" and "changes of segment S after id N" are range scans with these.
Index("ix_events_type_id", Event.type, Event.id)
Index("ix_segment_changes_segment_id", SegmentChange.segment_id, SegmentChange.id)
