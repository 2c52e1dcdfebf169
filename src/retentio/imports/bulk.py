"""Driver-level bulk inserts: plain tuples through the DB-API `executemany`, on either engine.

SQLAlchemy Core spends several µs a row building and processing a dict of parameters; an
import of a million contacts cannot afford that. Here each column's bind processor (dates and
JSON on SQLite, UTC datetimes) is looked up once and applied only to the values that need it,
so the database receives exactly what Core would have sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

Processor = Callable[[Any], Any]
# Values per IN (…) list: under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
IN_CHUNK = 20_000


class TupleInsert:
    """`INSERT INTO table (…)` of rows given as tuples of `columns`, each followed by the
    `constants` (bound once, e.g. the batch's timestamp)."""

    def __init__(
        self,
        session: Session,
        table: Table,
        columns: Sequence[str],
        constants: Mapping[str, Any] | None = None,
        *,
        ready: frozenset[str] = frozenset(),
    ) -> None:
        """`ready`: columns whose values the caller already gives as the driver takes them
        (e.g. an enum's plain string), skipping their processor on every row."""
        dialect = session.get_bind().dialect
        quote = dialect.identifier_preparer.quote
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        fixed = dict(constants or {})
        names = [*columns, *fixed]
        self.session = session
        # Only the table's own column names, quoted, are formatted in; the values are bound.
        columns_sql = ", ".join(quote(c) for c in names)
        markers = ", ".join(marker for _ in names)
        self.sql = f"INSERT INTO {quote(table.name)} ({columns_sql}) VALUES ({markers})"  # noqa: S608
        processors = {
            name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
        }
        self._suffix = tuple(
            value if value is None or processors[name] is None else processors[name](value)  # type: ignore[misc]
            for name, value in fixed.items()
        )
        self._per_row: list[tuple[int, Processor]] = [
            (index, processor)
            for index, name in enumerate(columns)
            if (processor := processors[name]) is not None and name not in ready
        ]

    def execute(self, rows: Iterable[tuple[Any, ...]]) -> None:
        suffix, per_row = self._suffix, self._per_row
        if per_row:
            rows = (_processed(row, per_row) for row in rows)
        sent = [row + suffix for row in rows] if suffix else list(rows)
        if sent:
            self.session.connection().exec_driver_sql(self.sql, sent)


def _processed(row: tuple[Any, ...], per_row: list[tuple[int, Processor]]) -> tuple[Any, ...]:
    values = list(row)
    for index, processor in per_row:
        if values[index] is not None:
            values[index] = processor(values[index])
    return tuple(values)


def select_in(
    session: Session,
    table: Table,
    columns: Sequence[str],
    *,
    key: str,
    values: Sequence[Any],
    where: Mapping[str, Any] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Rows of `columns` whose `key` is one of `values` (and each `where` column equals its
    value), read with each column's result processor: what a Core select would return,
    without rendering an expanding IN of tens of thousands of parameters through the compiler.
    """
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    fixed = dict(where or {})
    binders = [table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in fixed]
    bound = [v if b is None else b(v) for b, v in zip(binders, fixed.values(), strict=True)]
    readers = [
        (i, reader)
        for i, name in enumerate(columns)
        if (reader := table.c[name].type.dialect_impl(dialect).result_processor(dialect, None))
    ]
    conditions = " AND ".join([*(f"{quote(n)} = {marker}" for n in fixed), ""])
    connection = session.connection()
    for start in range(0, len(values), IN_CHUNK):
        chunk = list(values[start : start + IN_CHUNK])
        # Only the table's own column names, quoted, are formatted in; the values are bound.
        sql = (
            f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table.name)} "  # noqa: S608
            f"WHERE {conditions}{quote(key)} IN ({', '.join(marker for _ in chunk)})"
        )
        for row in connection.exec_driver_sql(sql, tuple(bound + chunk)):
            if readers:
                processed = list(row)
                for index, reader in readers:
                    processed[index] = reader(processed[index])
                yield tuple(processed)
            else:
                yield tuple(row)
