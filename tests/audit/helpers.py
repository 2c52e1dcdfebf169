"""Reading the audit log back in tests: every entry as a comparable tuple, and the admin's id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.audit.models import AuditEntry
from retentio.auth.models import User

Entry = tuple[str, int, str, int | None, dict[str, Any]]


def entries(db: Session) -> list[Entry]:
    """(entity, entity_id, action, actor_id, changes) of every entry, oldest first."""
    rows = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    return [(e.entity, e.entity_id, e.action, e.actor_id, e.changes) for e in rows]


def admin_id(db: Session) -> int:
    """The one user of an `admin_client` test."""
    return db.scalars(select(User.id)).one()
