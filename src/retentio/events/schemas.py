"""Pydantic shapes of incoming events (our own API; the Segment-compatible routes map onto
these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9_.:\- ]{0,63}$"
MAX_BATCH = 1000


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    message_id: str = Field(
        min_length=1, max_length=100, description="Retries with the same id are stored once"
    )
    type: str = Field(pattern=TYPE_PATTERN, examples=["cart_add"])
    occurred_at: AwareDatetime | None = Field(
        default=None, description="Defaults to the time received"
    )
    user_id: str | None = Field(
        default=None, max_length=100, description="The shop's own customer id"
    )
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    anonymous_id: str | None = Field(default=None, max_length=300)
    properties: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)
    traits: dict[str, Any] | None = Field(
        default=None, description="Contact fields to set (identify)"
    )


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class IngestResult(BaseModel):
    accepted: int = Field(description="New events stored")
    duplicates: int = Field(description="Events whose message_id was already stored")


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    type: str
    occurred_at: datetime
    received_at: datetime
    message_id: str | None
    properties: dict[str, Any]
    context: dict[str, Any]
