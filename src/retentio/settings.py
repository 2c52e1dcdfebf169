"""Process-wide configuration read from `RETENTIO_*` environment variables.

Secrets are never defaulted outside development: in dev a random secret key is generated once
and kept in the data directory; in production an empty key refuses to start.
"""

from __future__ import annotations

import secrets
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retentio.errors import ConfigurationError
from retentio.messaging.policy import SendPolicy

INSECURE_KEYS = frozenset({"", "change-me", "changeme", "secret", "dev"})
SUPPORTED_LOCALES = ("en", "ru")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RETENTIO_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("retentio-data")
    database_url: str = ""
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    default_locale: Literal["en", "ru"] = "en"
    # Region for phones typed without a country code ("8 912 …", "912 …").
    default_region: str = Field(default="RU", min_length=2, max_length=2)

    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    mail_from: str = "Retentio <noreply@localhost>"

    redis_url: str = ""

    # Limits on marketing messages (messaging.policy.SendPolicy): local quiet hours as
    # "HH:MM-HH:MM" (empty: none), caps per contact per local day and week (0: none), and the
    # zone of contacts whose own is unknown.
    quiet_hours: str = Field(default="21:00-09:00", pattern=r"^(\d{2}:\d{2}-\d{2}:\d{2})?$")
    daily_cap: int = Field(default=2, ge=0)
    weekly_cap: int = Field(default=5, ge=0)
    default_timezone: str = "Europe/Moscow"

    # Empty: JSON lines in production, readable text elsewhere.
    log_format: Literal["json", "text", ""] = ""
    # Bearer token that opens /metrics to non-loopback scrapers; empty: loopback only.
    metrics_token: str = ""

    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    login_ip_max_failures: int = Field(default=30, ge=1)
    # Security (docs/security.md): webhooks and imports may call loopback/private addresses
    # only when this is on (development, tests); X-Forwarded-For is believed only from these
    # proxy addresses; requests per minute and client IP on each public endpoint.
    allow_private_targets: bool = False
    trusted_proxies: list[str] = []
    public_rate_per_minute: int = Field(default=600, ge=1)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'retentio.db'}"
        return self

    def send_policy(self) -> SendPolicy:
        start, _, end = self.quiet_hours.partition("-")
        return SendPolicy(
            daily_cap=self.daily_cap or None,
            weekly_cap=self.weekly_cap or None,
            quiet_start=time.fromisoformat(start) if start else None,
            quiet_end=time.fromisoformat(end) if end else None,
            default_timezone=self.default_timezone,
        )

    @property
    def json_logs(self) -> bool:
        return self.log_format == "json" or (not self.log_format and self.env == "production")

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def session_cookie_name(self) -> str:
        # The __Host- prefix makes browsers refuse the cookie unless Secure, path=/ and no Domain.
        return "__Host-retentio_session" if self.is_https else "retentio_session"

    def resolved_secret_key(self) -> str:
        """The signing key; generated and persisted in dev, mandatory in production."""
        if self.secret_key and self.secret_key not in INSECURE_KEYS:
            return self.secret_key
        if self.env == "production":
            raise ConfigurationError(
                "RETENTIO_SECRET_KEY is empty or a well-known default; set a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
            )
        return _stored_dev_secret(self.data_dir)


def _stored_dev_secret(data_dir: Path) -> str:
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
