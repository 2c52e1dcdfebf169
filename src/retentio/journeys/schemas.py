"""JSON shapes of the journeys API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from retentio.journeys.models import EnrollmentState, Group, JourneyStatus


class JourneyIn(BaseModel):
    """A journey as the editor and scripts send it; `trigger`, `goal`, `policy` and `steps`
    are checked by `definition` (errors name the path, e.g. `steps.2.next`)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    trigger: dict[str, Any]
    goal: dict[str, Any] | None = None
    policy: dict[str, Any] = Field(default_factory=dict)
    steps: list[dict[str, Any]] = Field(default_factory=list)


class FromTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str
    account_id: int | None = None


class JourneyRead(BaseModel):
    id: int
    name: str
    description: str
    template: str | None
    status: JourneyStatus
    trigger: dict[str, Any]
    goal: dict[str, Any] | None
    policy: dict[str, Any]
    version: int
    steps: list[dict[str, Any]]
    created_at: datetime
    activated_at: datetime | None


class StepCounts(BaseModel):
    step: str
    waiting: int
    passed: int
    exited: int


class JourneyStats(BaseModel):
    enrolled: int
    active: int
    converted: int
    completed: int
    exited: int
    steps: list[StepCounts]


class EnrollIn(BaseModel):
    """The API trigger: a contact by id, with data the templates can use as `trigger`."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int
    key: str | None = Field(default=None, max_length=50)
    data: dict[str, Any] = Field(default_factory=dict)


class EnrollmentRead(BaseModel):
    id: int
    contact_id: int
    group: Group
    state: EnrollmentState
    step: str
    entered_at: datetime
    next_run_at: datetime
    finished_at: datetime | None
    exit_reason: str | None
    version: int


class EnrollResult(BaseModel):
    enrolled: bool
    enrollment: EnrollmentRead | None


class TemplateRead(BaseModel):
    key: str
    name: str
    description: str


class GroupOutcomeRead(BaseModel):
    size: int
    converted: int
    rate: float
    revenue: float


class IntervalRead(BaseModel):
    estimate: float
    low: float
    high: float


class JourneyReport(BaseModel):
    attribution_days: int
    treated: GroupOutcomeRead | None
    holdout: GroupOutcomeRead | None
    incremental_conversions: IntervalRead | None
    incremental_revenue: IntervalRead | None
    messages_by_step: dict[str, dict[str, int]]
