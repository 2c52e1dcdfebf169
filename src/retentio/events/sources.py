"""Tracking sources: a site or app with its write key and the browser origins it may post from.

Creating, changing and re-keying a source is recorded in the audit log (entity "source") here,
for the API and the settings pages alike; the write key itself never goes into the log.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.errors import InvalidInput, NotAuthenticated, NotFound
from retentio.events.models import Source


class UnknownWriteKey(NotAuthenticated):
    code = "unknown_write_key"


def create_source(
    session: Session,
    *,
    name: str,
    allowed_origins: list[str],
    actor_id: int | None,
) -> Source:
    source = Source(
        name=_checked_name(name),
        write_key=secrets.token_urlsafe(24),
        allowed_origins=_origins(allowed_origins),
    )
    session.add(source)
    session.flush()
    _audit(session, source, "create", actor_id, _settings(source))
    return source


def update_source(
    session: Session,
    source_id: int,
    *,
    name: str | None = None,
    allowed_origins: list[str] | None = None,
    actor_id: int | None,
) -> Source:
    """Change what is given; `None` leaves a field as it is."""
    source = get_source(session, source_id)
    before = _settings(source)
    if name is not None:
        source.name = _checked_name(name)
    if allowed_origins is not None:
        source.allowed_origins = _origins(allowed_origins)
    session.flush()
    _audit(session, source, "update", actor_id, audit.changed(before, _settings(source)))
    return source


def rotate_write_key(session: Session, source_id: int, *, actor_id: int | None) -> Source:
    source = get_source(session, source_id)
    source.write_key = secrets.token_urlsafe(24)
    session.flush()
    # Who re-keyed and when is the whole story: the key, old or new, is a secret.
    _audit(session, source, "rotate_key", actor_id, {})
    return source


def _settings(source: Source) -> dict[str, Any]:
    """What the audit log may show of a source: everything but the write key."""
    return {"name": source.name, "allowed_origins": list(source.allowed_origins)}


def _audit(
    session: Session, source: Source, action: str, actor_id: int | None, changes: dict[str, Any]
) -> None:
    audit.record(
        session,
        entity="source",
        entity_id=source.id,
        action=action,
        actor_id=actor_id,
        changes=changes,
    )


def get_source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"Source {source_id} does not exist.")
    return source


def source_by_write_key(session: Session, write_key: str | None) -> Source:
    source = session.scalar(select(Source).where(Source.write_key == (write_key or "").strip()))
    if source is None:
        raise UnknownWriteKey("The write key is missing or unknown.")
    return source


def list_sources(session: Session) -> Sequence[Source]:
    return session.scalars(select(Source).order_by(Source.name)).all()


def origin_allowed(source: Source, origin: str | None) -> bool:
    return bool(origin) and normalize_origin(origin or "") in source.allowed_origins


def _checked_name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("name: give the source a name.", details={"field": "name"})
    return name.strip()[:200]


def _origins(raw: list[str]) -> list[str]:
    # Order kept, duplicates dropped: the list is shown back to the admin as typed.
    return list(dict.fromkeys(normalize_origin(o) for o in raw if o.strip()))


def normalize_origin(raw: str) -> str:
    """`https://Shop.ru/path` → `https://shop.ru`: browsers send the bare scheme://host[:port]."""
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            f"allowed_origins: {raw!r} is not an origin like https://shop.example",
            details={"field": "allowed_origins"},
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"
