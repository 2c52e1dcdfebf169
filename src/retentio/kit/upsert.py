"""Dialect-aware `INSERT … ON CONFLICT DO NOTHING` for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """Insert one row unless a unique key already holds it; True when this call inserted it.

    The database settles races: of two concurrent callers exactly one gets True.
    """
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    # RETURNING rather than rowcount: psycopg reports -1 for ON CONFLICT statements.
    statement = module.insert(model).values(**values).on_conflict_do_nothing()
    return session.execute(statement.returning(literal_column("1"))).first() is not None
