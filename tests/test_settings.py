"""Secrets and cookie settings."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from retentio.errors import ConfigurationError
from retentio.messaging.policy import SendPolicy
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


def test_the_send_policy_comes_from_the_settings() -> None:
    # given quiet hours, caps and a zone in the environment's shape
    configured = Settings(
        env="test", quiet_hours="22:30-08:00", daily_cap=1, weekly_cap=0, default_timezone="UTC"
    )
    # when the sender's policy is built
    policy = configured.send_policy()
    # then it has them; 0 means no cap and empty quiet hours none
    assert policy == SendPolicy(
        daily_cap=1,
        weekly_cap=None,
        quiet_start=time(22, 30),
        quiet_end=time(8, 0),
        default_timezone="UTC",
    )
    assert Settings(env="test", quiet_hours="").send_policy().quiet_start is None


def test_quiet_hours_must_look_like_a_time_range() -> None:
    with pytest.raises(ValidationError):
        Settings(env="test", quiet_hours="9pm-9am")
