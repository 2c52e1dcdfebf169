"""SQL functions the analytics and dashboard reads need, which SQLite and PostgreSQL spell
differently.

Only expressions live here, no queries.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class EpochSeconds(FunctionElement[float]):
    """Seconds since the Unix epoch of a UTC timestamp column, as a float."""

    type = Float()
    inherit_cache = True


@compiles(EpochSeconds, "sqlite")
def _epoch_seconds_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as text; julianday() parses it, 2440587.5 is 1970-01-01.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(EpochSeconds, "postgresql")
def _epoch_seconds_postgresql(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


class EpochWholeSeconds(FunctionElement[int]):
    """Whole seconds since the Unix epoch of a UTC timestamp column, as an integer.

    Cheaper than `EpochSeconds` on SQLite (strftime('%s') against julianday arithmetic) and
    exact, which is what counting UTC days needs.
    """

    type = BigInteger()
    inherit_cache = True


@compiles(EpochWholeSeconds, "sqlite")
def _epoch_whole_sqlite(element: EpochWholeSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(EpochWholeSeconds, "postgresql")
def _epoch_whole_postgresql(element: EpochWholeSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


class MonthIndex(FunctionElement[int]):
    """The UTC calendar month of a UTC timestamp column as year × 12 + month − 1.

    An integer rather than 'YYYY-MM' text, so that "months since the first purchase" is a
    subtraction on both engines and in Python (`month_index`).
    """

    type = Integer()
    inherit_cache = True


@compiles(MonthIndex, "sqlite")
def _month_index_sqlite(element: MonthIndex, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as text; strftime() parses it (an offset suffix included).
    column = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(strftime('%Y', {column}) AS INTEGER) * 12"
        f" + CAST(strftime('%m', {column}) AS INTEGER) - 1)"
    )


@compiles(MonthIndex, "postgresql")
def _month_index_postgresql(element: MonthIndex, compiler: SQLCompiler, **kw: Any) -> str:
    # Whatever the session's TimeZone, the month is the UTC one.
    column = f"({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC')"
    return f"CAST(EXTRACT(YEAR FROM {column}) * 12 + EXTRACT(MONTH FROM {column}) - 1 AS INTEGER)"


def month_index(moment: date | datetime) -> int:
    """The same index for a Python date or UTC datetime."""
    return moment.year * 12 + moment.month - 1


def month_start(index: int) -> date:
    """The first day of the month with this index."""
    return date(index // 12, index % 12 + 1, 1)


class UtcDate(FunctionElement[date]):
    """The UTC calendar day of a UTC timestamp column."""

    type = Date()
    inherit_cache = True


@compiles(UtcDate, "sqlite")
def _utc_date_sqlite(element: UtcDate, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as text; date() gives 'YYYY-MM-DD'.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(UtcDate, "postgresql")
def _utc_date_postgresql(element: UtcDate, compiler: SQLCompiler, **kw: Any) -> str:
    # Whatever the session's TimeZone, the day is the UTC one.
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC') AS DATE)"
