"""JSON shapes of the feedback API: surveys and their answers, NPS figures, and service
tickets with their notes. Rules that need the database (a reason from the survey's list, the
scale of its kind) live in the service, which names the field in its error."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from retentio.feedback.models import SurveyKind, TicketKind, TicketPriority, TicketStatus


class ReasonIn(BaseModel):
    key: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1, max_length=200)
    preventable: bool = False


class SurveyIn(BaseModel):
    kind: SurveyKind
    name: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=2000)
    ask_comment: bool = True
    reasons: list[ReasonIn] = Field(default_factory=list, max_length=30)


class SurveyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: SurveyKind
    name: str
    question: str
    ask_comment: bool
    reasons: list[ReasonIn]
    created_at: datetime
    archived_at: datetime | None


class LinkIn(BaseModel):
    """Who answers, and which send this is: each (contact, occurrence) answers once."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int
    occurrence: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.:-]+$")


class LinkRead(BaseModel):
    url: str


class AnswerIn(BaseModel):
    score: int | None = None  # the scale depends on the kind: the service checks it
    comment: str = Field(default="", max_length=5000)
    reason: str | None = Field(default=None, max_length=60)


class ResponseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    survey_id: int
    contact_id: int
    occurrence: str
    score: int | None
    comment: str
    reason: str | None
    created_at: datetime


class NpsRead(BaseModel):
    answers: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None  # None without answers


class MonthNpsRead(NpsRead):
    month: str  # "2026-03"


class SegmentNpsRead(NpsRead):
    segment_id: int
    segment: str


class ReasonCountRead(BaseModel):
    key: str
    label: str
    preventable: bool
    answers: int


class SurveySummaryRead(BaseModel):
    survey_id: int
    kind: SurveyKind
    nps: NpsRead | None
    csat_average: float | None
    by_month: list[MonthNpsRead]
    by_segment: list[SegmentNpsRead]
    reasons: list[ReasonCountRead]


class TicketIn(BaseModel):
    subject: str = Field(min_length=1, max_length=300)
    kind: TicketKind = TicketKind.QUESTION
    priority: TicketPriority = TicketPriority.NORMAL
    contact_id: int | None = None
    assignee_id: int | None = None


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subject: str
    kind: TicketKind
    priority: TicketPriority
    status: TicketStatus
    contact_id: int | None
    assignee_id: int | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    satisfaction: int | None
    created_at: datetime
    updated_at: datetime


class NoteIn(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)
    internal: bool = True


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    author_id: int | None
    body: str
    internal: bool
    created_at: datetime


class StatusIn(BaseModel):
    status: TicketStatus
    satisfaction: int | None = Field(default=None, ge=1, le=5)
