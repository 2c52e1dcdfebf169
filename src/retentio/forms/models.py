"""Form definitions, their counters and submissions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from retentio.db import Base, UTCDateTime, utcnow


class WebForm(Base):
    __tablename__ = "web_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id used in embed snippets: not guessable, so forms cannot be enumerated.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # [{"name", "label", "maps_to", "required", "kind"}]; maps_to is a contact field or custom.key
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"key", "channel", "purpose", "text", "version", "required"}]
    consents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    success_message: Mapped[str] = mapped_column(Text, default="")
    tag: Mapped[str | None] = mapped_column(String(100))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    views: Mapped[int] = mapped_column(default=0)
    submissions: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FormSubmission(Base):
    __tablename__ = "form_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("web_forms.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
