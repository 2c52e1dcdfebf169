"""Alembic driven from code: upgrade to head, and tell whether a database is up to date."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from retentio.db import get_engine
from retentio.errors import SchemaOutdated

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(url: str) -> str | None:
    with get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def ensure_current(url: str) -> None:
    """Refuse to serve a database whose schema is behind the code."""
    current, head = current_revision(url), head_revision(url)
    if current != head:
        raise SchemaOutdated(
            f"The database schema is at revision {current or 'none (empty database)'} but this "
            f"version of Retentio needs {head}. Run `retentio migrate` first.",
        )
