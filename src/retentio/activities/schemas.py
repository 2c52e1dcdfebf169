"""JSON shapes of tasks ("дела") in the API."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from retentio.activities.models import ActivityKind


class TaskIn(BaseModel):
    """A task about a contact and/or a deal; `owner_id` None gives it to the caller."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ActivityKind = ActivityKind.CALL
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=10000)
    contact_id: int | None = None
    deal_id: int | None = None
    owner_id: int | None = None
    due_at: AwareDatetime | None = None


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: ActivityKind
    title: str
    body: str
    contact_id: int | None
    deal_id: int | None
    owner_id: int | None
    due_at: datetime | None
    done_at: datetime | None
    origin: str
    created_at: datetime
