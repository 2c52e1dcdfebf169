"""`retentio recompute` against a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from retentio.cli import app
from retentio.contacts.models import Contact
from retentio.profiles.models import Profile
from retentio.settings import Settings, get_settings


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("RETENTIO_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("RETENTIO_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_recompute_command_writes_a_profile_per_contact(runner: CliRunner, db: Session) -> None:
    # given
    db.add_all([Contact(first_name="Ann"), Contact(first_name="Bob")])
    db.flush()
    # when
    result = runner.invoke(app, ["recompute"])
    # then
    assert result.exit_code == 0, result.output
    assert "2 profiles" in result.output
    stages = db.scalars(select(Profile.lifecycle_stage)).all()
    assert stages == ["attraction", "attraction"]
