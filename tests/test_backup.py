"""`retentio backup` / `retentio restore`: a round trip gives back exactly the data backed up."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, text, update
from typer.testing import CliRunner, Result

from retentio import migrate
from retentio.backup import MANIFEST, libpq_url
from retentio.cli import app
from retentio.commerce.models import Order
from retentio.contacts.models import Contact
from retentio.db import get_engine, session_scope
from retentio.demo.build import build_demo
from retentio.settings import Settings, get_settings
from tests.conftest import _empty_all_tables

# A few tables of each kind the shop holds: people, money, marketing and loyalty.
COMPARED = (
    "contacts",
    "orders",
    "order_items",
    "journeys",
    "loyalty_tiers",
    "users",
    "alembic_version",
)


@pytest.fixture
def shop_url(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test database with a small demo shop, configured as the CLI's database."""
    url = settings.database_url
    monkeypatch.setenv("RETENTIO_DATABASE_URL", url)
    monkeypatch.setenv("RETENTIO_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    with session_scope(url) as session:
        build_demo(session, customers=30, seed=3, admin_password="demo-password-1")
    yield url
    get_settings.cache_clear()


def _rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    with get_engine(url).connect() as connection:
        return {
            table: sorted(
                (tuple(row) for row in connection.execute(text(f'SELECT * FROM "{table}"'))),  # noqa: S608 - fixed names
                key=repr,
            )
            for table in COMPARED
        }


def said(result: Result) -> str:
    """The command's output with Rich's line wrapping undone (it wraps at the path's length)."""
    return " ".join(result.output.split())


def _spoil(url: str) -> None:
    with session_scope(url) as session:
        session.execute(update(Contact).values(first_name="Changed"))
        session.execute(delete(Order).where(Order.id % 2 == 0))


@pytest.mark.parametrize("name", ["shop.backup", "shop.backup.gz"])
def test_round_trip_gives_back_the_data_as_backed_up(
    shop_url: str, tmp_path: Path, name: str
) -> None:
    # given
    runner = CliRunner()
    before = _rows(shop_url)
    file = tmp_path / name
    made = runner.invoke(app, ["backup", str(file)])
    _spoil(shop_url)
    assert _rows(shop_url) != before
    # when
    restored = runner.invoke(app, ["restore", str(file), "--force"])
    # then
    assert (made.exit_code, restored.exit_code) == (0, 0), made.output + restored.output
    assert _rows(shop_url) == before
    assert sum(len(rows) for rows in before.values()) > 100
    assert tarfile.is_tarfile(file)
    assert file.read_bytes().startswith(b"\x1f\x8b") == name.endswith(".gz")


def test_restore_refuses_a_database_that_is_not_empty(shop_url: str, tmp_path: Path) -> None:
    # given
    runner = CliRunner()
    file = tmp_path / "shop.backup"
    runner.invoke(app, ["backup", str(file)])
    _spoil(shop_url)
    spoiled = _rows(shop_url)
    # when
    result = runner.invoke(app, ["restore", str(file)])
    # then
    assert result.exit_code == 1
    assert "not empty" in said(result)
    assert "--force" in said(result)
    assert "Traceback" not in result.output
    assert _rows(shop_url) == spoiled


def test_restore_into_an_empty_database_needs_no_force(shop_url: str, tmp_path: Path) -> None:
    # given: a backup, then a database that is migrated but holds no rows
    runner = CliRunner()
    before = _rows(shop_url)
    file = tmp_path / "shop.backup"
    runner.invoke(app, ["backup", str(file)])
    _empty_all_tables(shop_url)
    # when
    result = runner.invoke(app, ["restore", str(file)])
    # then
    assert result.exit_code == 0, result.output
    assert _rows(shop_url) == before


def test_an_older_backup_is_upgraded_after_restore(shop_url: str, tmp_path: Path) -> None:
    # given: a backup made by the previous release (schema 0012, before the sales tables)
    runner = CliRunner()
    config = migrate.alembic_config(shop_url)
    _empty_all_tables(shop_url)
    file = tmp_path / "old.backup"
    try:
        command.downgrade(config, "0012")
        made = runner.invoke(app, ["backup", str(file)])
    finally:
        migrate.upgrade(shop_url)
    with session_scope(shop_url) as session:
        build_demo(session, customers=10, seed=4, admin_password="demo-password-1")
    # when
    restored = runner.invoke(app, ["restore", str(file), "--force"])
    # then
    assert (made.exit_code, restored.exit_code) == (0, 0), made.output + restored.output
    assert migrate.current_revision(shop_url) == migrate.head_revision(shop_url)
    with get_engine(shop_url).connect() as connection:
        counts = [
            connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()  # noqa: S608 - fixed names
            for table in ("contacts", "orders", "deals")
        ]
    assert counts == [0, 0, 0]


def test_restore_refuses_a_backup_from_a_newer_schema(shop_url: str, tmp_path: Path) -> None:
    # given: a backup whose manifest names a revision this code does not have
    runner = CliRunner()
    file = tmp_path / "shop.backup"
    runner.invoke(app, ["backup", str(file)])
    newer = tmp_path / "newer.backup"
    with tarfile.open(file) as source, tarfile.open(newer, "w") as target:
        for member in source.getmembers():
            body = source.extractfile(member)
            assert body is not None
            data = body.read()
            if member.name == MANIFEST:
                data = json.dumps({**json.loads(data), "schema_revision": "9999"}).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    _spoil(shop_url)
    spoiled = _rows(shop_url)
    # when
    result = runner.invoke(app, ["restore", str(newer), "--force"])
    # then
    assert result.exit_code == 1
    assert "revision 9999 is newer than this version" in said(result)
    assert _rows(shop_url) == spoiled


def test_restore_refuses_a_file_that_is_not_a_backup(shop_url: str, tmp_path: Path) -> None:
    # given
    file = tmp_path / "notes.txt"
    file.write_text("not a backup")
    # when
    result = CliRunner().invoke(app, ["restore", str(file), "--force"])
    # then
    assert result.exit_code == 1
    assert "is not a readable Retentio backup" in said(result)


def test_libpq_url_drops_the_driver_and_the_password() -> None:
    # when
    url = libpq_url("postgresql+psycopg://shop:s3cret@db.internal:5433/crm?sslmode=require")
    # then
    assert url == "postgresql://shop@db.internal:5433/crm?sslmode=require"
