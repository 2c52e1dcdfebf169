"""Custom field definitions. Values live in each entity's `custom` JSON column, keyed by the
definition's immutable `key`, so renaming a label never touches stored data."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, enum_type, utcnow


class FieldEntity(enum.StrEnum):
    CONTACT = "contact"
    COMPANY = "company"
    DEAL = "deal"
    ORDER = "order"


class FieldType(enum.StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"


class CustomFieldDefinition(Base):
    __tablename__ = "custom_field_definitions"
    __table_args__ = (UniqueConstraint("entity", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[FieldEntity] = mapped_column(enum_type(FieldEntity))
    key: Mapped[str] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(200))
    type: Mapped[FieldType] = mapped_column(enum_type(FieldType))
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    required: Mapped[bool] = mapped_column(default=False)
    archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
