"""Pydantic shapes of custom field definitions."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from retentio.fields.models import FieldEntity, FieldType


class FieldDefinitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    entity: FieldEntity
    key: str = Field(min_length=1, max_length=60, examples=["loyalty_card"])
    label: str = Field(min_length=1, max_length=200, examples=["Номер карты лояльности"])
    type: FieldType
    choices: list[str] = Field(default_factory=list)
    required: bool = False


class FieldRelabel(BaseModel):
    label: str = Field(min_length=1, max_length=200)


class FieldDefinitionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    entity: FieldEntity
    key: str
    label: str
    type: FieldType
    choices: list[str]
    required: bool
    archived: bool
