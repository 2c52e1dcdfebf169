"""Reading the audit log of one entity, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.audit.models import AuditEntry


def entries_for(
    session: Session, entity: str, entity_id: int, *, limit: int = 200
) -> Sequence[AuditEntry]:
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()
