"""Reading the audit log of one entity, newest first, in the words a card shows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.audit.models import AuditEntry
from retentio.auth.queries import names_by_id

# Changed fields whose values are user ids: shown as names.
USER_FIELDS = frozenset({"owner_id"})


def entries_for(
    session: Session, entity: str, entity_id: int, *, limit: int = 200
) -> Sequence[AuditEntry]:
    return session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    ).all()


@dataclass(frozen=True)
class Change:
    """One field of one change; `old` is absent when the entry kept only the new value."""

    field: str
    new: Any
    old: Any = None
    has_old: bool = False


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    action: str
    actor: str | None
    changes: list[Change] = field(default_factory=list)


def history(
    session: Session, entity: str, entity_id: int, *, limit: int = 200
) -> list[HistoryLine]:
    """The entity's audit entries with the actors' names, in two queries."""
    entries = entries_for(session, entity, entity_id, limit=limit)
    names = names_by_id(session, people_in(entries))
    return [describe(entry, names) for entry in entries]


def people_in(entries: Sequence[AuditEntry]) -> set[int]:
    """Users an entry mentions: who acted, and owners before and after."""
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    for entry in entries:
        for name in USER_FIELDS & entry.changes.keys():
            value = entry.changes[name]
            values = value if isinstance(value, list) else [value]
            ids.update(v for v in values if isinstance(v, int))
    return ids


def describe(entry: AuditEntry, names: Mapping[int, str]) -> HistoryLine:
    changes: list[Change] = []
    for name, value in sorted(entry.changes.items()):
        if isinstance(value, list) and len(value) == 2 and entry.action == "update":
            old, new = value
            if name == "custom" and isinstance(old, dict) and isinstance(new, dict):
                changes += _custom_changes(old, new)
                continue
            changes.append(_change(name, new, old, names))
        else:
            changes.append(_change(name, value, None, names, has_old=False))
    actor = names.get(entry.actor_id) if entry.actor_id is not None else None
    return HistoryLine(at=entry.created_at, action=entry.action, actor=actor, changes=changes)


def _change(
    name: str, new: Any, old: Any, names: Mapping[int, str], *, has_old: bool = True
) -> Change:
    if name in USER_FIELDS:
        old = names.get(old, old) if isinstance(old, int) else old
        new = names.get(new, new) if isinstance(new, int) else new
    return Change(field=name, new=new, old=old, has_old=has_old)


def _custom_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    return [
        Change(field=f"custom.{key}", new=new.get(key), old=old.get(key), has_old=True)
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    ]


def log_page(session: Session, *, offset: int, limit: int) -> tuple[Sequence[AuditEntry], int]:
    """One page of the whole log, newest first, and how many entries there are."""
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    entries = session.scalars(
        select(AuditEntry).order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
    ).all()
    return entries, total
