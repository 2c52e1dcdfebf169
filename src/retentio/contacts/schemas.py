"""Pydantic shapes of contacts in the API (and the service's input)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME = Field(default=None, max_length=100)
UTM = Field(default=None, max_length=200)


class ContactFields(BaseModel):
    """Everything a person may set on a contact; omitted fields are left alone on update."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str | None = NAME
    middle_name: str | None = NAME
    last_name: str | None = NAME
    email: str | None = Field(default=None, max_length=254, examples=["anna.ivanova@example.ru"])
    extra_emails: list[str] | None = None
    phone: str | None = Field(default=None, max_length=40, examples=["8 (912) 345-67-89"])
    extra_phones: list[str] | None = None
    telegram: str | None = Field(default=None, max_length=64)
    gender: Literal["f", "m"] | None = None
    birthday: date | None = None
    city: str | None = Field(default=None, max_length=120)
    region: str | None = Field(default=None, max_length=120)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    timezone: str | None = Field(default=None, examples=["Europe/Moscow"])
    language: str | None = Field(default=None, max_length=8)
    company_id: int | None = None
    source: str | None = Field(default=None, max_length=100)
    utm_source: str | None = UTM
    utm_medium: str | None = UTM
    utm_campaign: str | None = UTM
    utm_content: str | None = UTM
    utm_term: str | None = UTM
    owner_id: int | None = None
    watcher_ids: list[int] | None = None
    available_to_all: bool | None = None
    tags: list[str] | None = None
    external_ids: dict[str, str] | None = Field(
        default=None, description='Ids in other systems, e.g. {"shop": "1042", "1c": "A-77"}'
    )
    custom: dict[str, Any] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Moscow")
        return value

    @field_validator("country")
    @classmethod
    def _upper_country(cls, value: str | None) -> str | None:
        return value.upper() if value else value


class ContactRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    telegram: str | None
    gender: str | None
    birthday: date | None
    city: str | None
    region: str | None
    country: str | None
    timezone: str | None
    language: str | None
    company_id: int | None
    source: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    utm_term: str | None
    owner_id: int | None
    available_to_all: bool
    is_anonymous: bool
    custom: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ContactDetail(ContactRead):
    emails: list[str]
    phones: list[str]
    tags: list[str]
    watcher_ids: list[int]
    external_ids: dict[str, str]
    reachable: dict[str, bool]


class ContactPage(BaseModel):
    items: list[ContactRead]
    total: int
    page: int
    per_page: int
