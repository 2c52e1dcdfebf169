"""Writing audit entries; callers pass the actor explicitly (None for the system)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from retentio.audit.models import AuditEntry


def record(
    session: Session,
    *,
    entity: str,
    entity_id: int,
    action: str,
    actor_id: int | None,
    changes: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            entity=entity,
            entity_id=entity_id,
            action=action,
            actor_id=actor_id,
            changes=changes or {},
        )
    )
