"""Fixtures of the events tests: a tracking source, an editor's API token, row counts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.auth import service as auth_service
from retentio.auth.models import Role
from retentio.db import session_scope
from retentio.events import sources
from retentio.settings import Settings
from tests.conftest import UserFactory


@dataclass(frozen=True)
class SourceRef:
    id: int
    write_key: str


@pytest.fixture
def source(settings: Settings) -> SourceRef:
    with session_scope(settings.database_url) as session:
        created = sources.create_source(session, name="Shop", allowed_origins=[], actor_id=None)
        return SourceRef(created.id, created.write_key)


@pytest.fixture
def bearer(settings: Settings, make_user: UserFactory) -> dict[str, str]:
    """Authorization header of a marketer's API token (may edit customers)."""
    user = make_user(Role.MARKETER)
    with session_scope(settings.database_url) as session:
        _token, secret = auth_service.create_token(session, user, name="shop")
    return {"Authorization": f"Bearer {secret}"}


def count(db: Session, model: type) -> int:
    """Rows now, read in a transaction of its own: the app commits in other connections, and a
    transaction left open here would keep an old snapshot (and, on SQLite, may hold the lock)."""
    db.commit()
    rows = db.scalar(select(func.count()).select_from(model)) or 0
    db.commit()
    return rows
