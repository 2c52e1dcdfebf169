"""Dialect-aware `INSERT … ON CONFLICT DO NOTHING` for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def insert_or_ignore(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """Insert one row unless a unique key already holds it; True when this call inserted it.

    The database settles races: of two concurrent callers exactly one gets True.
    """
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    # RETURNING rather than rowcount: psycopg reports -1 for ON CONFLICT statements.
    statement = module.insert(model).values(**values).on_conflict_do_nothing()
    return session.execute(statement.returning(literal_column("1"))).first() is not None


def insert_ignoring(session: Session, table: Table) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` into `table`, for many rows at once (executemany)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()
