"""Secrets and cookie settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from retentio.errors import ConfigurationError
from retentio.settings import Settings


@pytest.mark.parametrize("key", ["", "change-me", "secret"])
def test_production_refuses_empty_or_default_secret(tmp_path: Path, key: str) -> None:
    settings = Settings(env="production", secret_key=key, data_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="RETENTIO_SECRET_KEY"):
        settings.resolved_secret_key()


def test_production_accepts_a_real_secret(tmp_path: Path) -> None:
    key = "k" * 48
    assert (
        Settings(env="production", secret_key=key, data_dir=tmp_path).resolved_secret_key() == key
    )


def test_development_generates_and_keeps_a_secret(tmp_path: Path) -> None:
    first = Settings(env="development", data_dir=tmp_path).resolved_secret_key()
    second = Settings(env="development", data_dir=tmp_path).resolved_secret_key()
    assert first == second
    assert len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_https_base_url_uses_a_host_prefixed_cookie(tmp_path: Path) -> None:
    https = Settings(base_url="https://crm.example.com", data_dir=tmp_path)
    http = Settings(base_url="http://127.0.0.1:8000", data_dir=tmp_path)
    assert (https.session_cookie_name, https.is_https) == ("__Host-retentio_session", True)
    assert (http.session_cookie_name, http.is_https) == ("retentio_session", False)


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'retentio.db'}"
