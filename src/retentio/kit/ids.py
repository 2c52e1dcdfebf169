"""Allocating primary keys up front for bulk inserts, on SQLite and PostgreSQL.

Bulk inserts that need the new ids back would otherwise use RETURNING, which SQLAlchemy can
only batch on SQLite with a sentinel column: without one it sends one statement per row.
"""

from __future__ import annotations

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` fresh ids for `table`'s integer primary key `id`.

    SQLite: the caller holds the write lock (writers begin IMMEDIATE), so max(id)+1… is free.
    PostgreSQL: taken from the column's sequence, so concurrent writers never collide.
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = f"{table.name}_id_seq"
        rows = session.execute(
            text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
            {"seq": sequence, "n": count},
        )
        return [int(r[0]) for r in rows]
    highest = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(highest + 1, highest + 1 + count))
