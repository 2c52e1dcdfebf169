"""Database engines, sessions and the declarative base shared by every domain package.

One code path serves SQLite (embedded default, WAL) and PostgreSQL (production). Callers own
their transaction: `session_scope()` for the CLI and tasks, the request dependency for the web.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are identical on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so SAVEPOINTs
    # work (the documented pysqlite recipe); `_sqlite_begin` emits the BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers proceed during a write; busy_timeout makes writers queue instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A bigger page cache keeps the random-key index pages of large tables in memory (64 MiB).
    cursor.execute("PRAGMA cache_size=-65536")
    # Reads through a memory map, and checkpoints every ~40 MiB of WAL instead of ~4 MiB: index
    # pages rewritten by many commits are copied back to the database file once, not each time.
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()
    # SQLite's own lower() folds ASCII only, so searching "анна" would miss "Анна".
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _sqlite_begin(connection: Any) -> None:
    options = connection.get_execution_options()
    if options.get("isolation_level") == "AUTOCOMMIT":
        return
    # A transaction that will write takes the write lock up front (IMMEDIATE): one that read
    # first and writes later would fail with "database is locked" when another writer
    # committed in between, instead of waiting its turn.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get("sqlite_write") else "BEGIN")


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache(maxsize=16)
def get_sessionmaker(url: str, *, write: bool = True) -> sessionmaker[Session]:
    """Sessions for work that writes (`write=True`) or only reads; it matters on SQLite only."""
    bind = get_engine(url).execution_options(sqlite_write=write)
    return sessionmaker(bind=bind, expire_on_commit=False)


@contextmanager
def session_scope(url: str, *, write: bool = True) -> Iterator[Session]:
    """A unit of work for the CLI and tasks: commit on success, roll back on error."""
    session = get_sessionmaker(url, write=write)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(url: str) -> None:
    with get_engine(url).connect() as connection:
        connection.execute(text("SELECT 1"))


def enum_type(enum_class: type[enum.Enum], *, length: int = 20) -> Enum:
    """A VARCHAR holding the enum's values (not names), identical on both engines."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )
