"""Dialect-aware `INSERT … ON CONFLICT DO NOTHING` for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, model: type[Any], values: dict[str, Any]) -> None:
    """Insert one row unless a unique key already holds it; never raises on the duplicate."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(model).values(**values).on_conflict_do_nothing())
