"""Writing many rows at the driver's fastest path: COPY on PostgreSQL, SQLAlchemy's
executemany on SQLite (in-process, already fast, and it keeps the column types' conversions).

For hot loops (a journey batch) where one statement per row would cost more than the work.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def insert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Append `rows` (dicts with the same keys) to `table` inside the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    cursor: Any = connection.connection.cursor()
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_plain(row[c]) for c in columns])
    finally:
        cursor.close()
