"""Pydantic shapes of incoming events (our own API; the Segment-compatible routes map onto
these)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9_.:\- ]{0,63}$"
MAX_BATCH = 1000


EVENT_EXAMPLE: dict[str, Any] = {
    "message_id": "0b6f3c1e-5a0e-4c7e-9d51-8f0f5b7a1c42",
    "type": "cart_add",
    "occurred_at": "2026-03-01T12:00:00Z",
    "user_id": "42",
    "email": "anna.ivanova@example.ru",
    "anonymous_id": "a3f9c2d1",
    "properties": {"sku": "SHOE-RUN-42", "price": 5990, "currency": "RUB"},
    "context": {
        "page": {"url": "https://shop.example/p/shoe-run-42"},
        "campaign": {"source": "yandex", "medium": "cpc", "name": "spring"},
    },
}


class EventIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [EVENT_EXAMPLE]}
    )

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
    model_config = ConfigDict(json_schema_extra={"examples": [{"accepted": 998, "duplicates": 2}]})

    accepted: int = Field(description="New events stored")
    duplicates: int = Field(description="Events whose message_id was already stored")
    # Not part of the answer: contacts whose profile these events may change (a cart or a
    # checkout, or a person seen for the first time), refreshed after the commit.
    touched: list[int] = Field(default_factory=list, exclude=True, repr=False)


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


class EventPage(BaseModel):
    items: list[EventRead]
    total: int
    page: int
    per_page: int


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, examples=["Online shop"])
    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Browser origins the site tracker may post from",
        examples=[["https://shop.example", "https://www.shop.example"]],
    )


class SourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    allowed_origins: list[str] | None = Field(default=None, max_length=50)


class SourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    write_key: str = Field(description="Public key of the site tracker and the Segment SDKs")
    allowed_origins: list[str]
    created_at: datetime
