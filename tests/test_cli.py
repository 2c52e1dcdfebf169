"""The `retentio` command against a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retentio import __version__, migrate
from retentio.auth.models import Role, User
from retentio.auth.passwords import verify_password
from retentio.cli import app
from retentio.contacts.models import Contact
from retentio.settings import Settings, get_settings


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("RETENTIO_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RETENTIO_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"retentio {__version__}"


def test_user_create_list_and_set_password(runner: CliRunner, db: Session) -> None:
    # when
    created = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "Boss@Example.com",
            "--name",
            "Boss",
            "--role",
            "admin",
            "--password",
            "first-password-1",
        ],
    )
    listed = runner.invoke(app, ["user", "list"])
    changed = runner.invoke(
        app, ["user", "set-password", "boss@example.com", "--password", "second-password-2"]
    )
    # then
    assert (created.exit_code, listed.exit_code, changed.exit_code) == (0, 0, 0)
    assert "boss@example.com" in listed.output
    user = db.scalars(select(User)).one()
    assert (user.email, user.role) == ("boss@example.com", Role.ADMIN)
    assert verify_password(user.password_hash, "second-password-2")


def test_user_create_rejects_a_short_password(runner: CliRunner, db: Session) -> None:
    result = runner.invoke(
        app, ["user", "create", "--email", "a@example.com", "--name", "A", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output
    assert db.scalars(select(User)).all() == []


def test_demo_creates_one_account_per_role_and_prints_the_login(
    runner: CliRunner, db: Session
) -> None:
    result = runner.invoke(app, ["demo", "--customers", "50", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.example.com" in result.output
    roles = sorted(r.value for r in db.scalars(select(User.role)))
    assert roles == ["admin", "analyst", "marketer", "sales"]
    assert db.scalar(select(func.count()).select_from(Contact)) == 50


def test_migrate_is_idempotent(runner: CliRunner) -> None:
    first = runner.invoke(app, ["migrate"])
    second = runner.invoke(app, ["migrate"])
    assert (first.exit_code, second.exit_code) == (0, 0)
    head = migrate.head_revision(get_settings().database_url)
    assert f"Database is at revision {head}" in second.output
