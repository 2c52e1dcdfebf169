"""Pydantic shapes of companies in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from retentio.companies.inn import is_valid_inn

CompanySize = Literal["1-10", "11-50", "51-200", "201-1000", "1000+"]


class CompanyFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=300, examples=["ООО «Ромашка»"])
    inn: str | None = Field(default=None, examples=["7707083893"])
    industry: str | None = Field(default=None, max_length=120)
    size: CompanySize | None = None
    city: str | None = Field(default=None, max_length=120)
    website: str | None = Field(default=None, max_length=300)
    owner_id: int | None = None
    available_to_all: bool | None = None
    custom: dict[str, Any] | None = None

    @field_validator("inn")
    @classmethod
    def _valid_inn(cls, value: str | None) -> str | None:
        if value is not None and not is_valid_inn(value):
            raise ValueError("not a valid INN: 10 or 12 digits with a correct checksum")
        return value


class CompanyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    inn: str | None
    industry: str | None
    size: str | None
    city: str | None
    website: str | None
    owner_id: int | None
    available_to_all: bool
    custom: dict[str, Any]
    created_at: datetime
    updated_at: datetime
