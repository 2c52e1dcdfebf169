"""Dialect-aware `INSERT … ON CONFLICT DO NOTHING / DO UPDATE` for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
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


def insert_or_replace(session: Session, table: Table, key: Sequence[str]) -> Insert:
    """`INSERT … ON CONFLICT (key) DO UPDATE` setting the other columns to the new row's values,
    for many rows at once (executemany)."""
    if session.get_bind().dialect.name == "postgresql":
        on_postgresql = postgresql.insert(table)
        return on_postgresql.on_conflict_do_update(
            index_elements=list(key), set_=_others(on_postgresql.excluded, table, key)
        )
    on_sqlite = sqlite.insert(table)
    return on_sqlite.on_conflict_do_update(
        index_elements=list(key), set_=_others(on_sqlite.excluded, table, key)
    )


def _others(excluded: Any, table: Table, key: Sequence[str]) -> dict[str, Any]:
    return {c.name: excluded[c.name] for c in table.columns if c.name not in key}
