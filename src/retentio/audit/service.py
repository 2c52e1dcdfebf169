"""Writing audit entries; callers pass the actor explicitly (None for the system)."""

from __future__ import annotations

from decimal import Decimal
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


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """The settings that differ, each as `[old, new]`: the shape `queries.describe` reads for
    an update. Values as the JSON column can hold them (amounts as strings)."""
    return {
        name: [json_ready(before.get(name)), json_ready(value)]
        for name, value in after.items()
        if before.get(name) != value
    }


def json_ready(value: Any) -> Any:
    """A value the log's JSON column can hold: amounts as strings, as the API writes them."""
    return str(value) if isinstance(value, Decimal) else value
