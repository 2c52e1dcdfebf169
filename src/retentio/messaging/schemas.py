"""Pydantic shapes of sending accounts, for the API and the settings pages: what a user writes,
and what they read back.

What they read back never holds a credential (`service.SECRET_SETTINGS` and the DKIM private
key): it only says whether each one is set. Pages render from `AccountRead` too, so neither
can leak one by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from retentio.consent.models import Channel
from retentio.messaging import service
from retentio.messaging.models import AccountKind, SendingAccount

DKIM_KEY = "dkim_private_key"
SETTINGS_HELP = (
    "The transport's options, by kind. smtp: host, port, tls (none, starttls, tls), user, "
    "password. file: directory. sms_http: url, method, headers, body (JSON with {to} and "
    "{text}), sender, id_path, error_path, invalid_values and the delivery-report paths. "
    "telegram: token, api_base. webhook: url, secret. Credentials (password, headers, token, "
    "secret) are write-only."
)


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=service.ACCOUNT_NAME_MAX)
    kind: AccountKind
    channel: Channel = Field(
        default=Channel.EMAIL,
        description="smtp sends e-mail, sms_http SMS, telegram messenger; file and webhook any",
    )
    from_address: str = Field(default="", max_length=300, description="Required for e-mail")
    from_name: str = Field(default="", max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict, description=SETTINGS_HELP)
    unsubscribe_mailto: str = Field(
        default="", max_length=300, description="The mailto: half of List-Unsubscribe"
    )
    dkim_domain: str = Field(default="", max_length=253)
    dkim_selector: str = Field(default="", max_length=63)
    dkim_private_key: str = Field(
        default="", max_length=20_000, description="PEM; write-only, never returned"
    )
    rate_per_second: float = Field(
        default=0.0, ge=0, allow_inf_nan=False, description="0: no limit"
    )


class AccountPatch(BaseModel):
    """Fields left out stay. Settings sent replace the stored ones name by name; a credential
    sent empty keeps the stored one, and so does an empty DKIM key."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=service.ACCOUNT_NAME_MAX)
    from_address: str | None = Field(default=None, max_length=300)
    from_name: str | None = Field(default=None, max_length=200)
    settings: dict[str, Any] | None = Field(default=None, description=SETTINGS_HELP)
    unsubscribe_mailto: str | None = Field(default=None, max_length=300)
    dkim_domain: str | None = Field(
        default=None, max_length=253, description="Clear it and the selector to stop signing"
    )
    dkim_selector: str | None = Field(default=None, max_length=63)
    dkim_private_key: str | None = Field(default=None, max_length=20_000)
    rate_per_second: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class DkimKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str | None = Field(default=None, max_length=253, description="Default: the account's")
    selector: str | None = Field(default=None, max_length=63, description="Default: the account's")


class CheckResult(BaseModel):
    detail: str = Field(description="What answered, e.g. the SMTP server's greeting")


class AccountRead(BaseModel):
    id: int
    name: str
    kind: AccountKind
    channel: Channel
    from_address: str
    from_name: str
    unsubscribe_mailto: str
    rate_per_second: float
    settings: dict[str, Any] = Field(description="Without the credentials")
    secrets: dict[str, bool] = Field(
        description="Each credential of the kind (and dkim_private_key): is it set?"
    )
    dkim_domain: str
    dkim_selector: str
    dkim_record_name: str | None = Field(description="Where to publish the DKIM record")
    dkim_record: str | None = Field(description="The TXT value for the stored key")
    report_url: str | None = Field(description="SMS: where the provider posts delivery reports")
    archived: bool
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, account: SendingAccount, *, report_url: str | None = None) -> AccountRead:
        hidden = service.SECRET_SETTINGS[account.kind]
        stored = account.settings or {}
        secrets = {name: bool(stored.get(name)) for name in sorted(hidden)}
        secrets[DKIM_KEY] = bool(account.dkim_private_key)
        record = (
            service.dkim_txt_record(account.dkim_private_key) if account.dkim_private_key else None
        )
        return cls(
            id=account.id,
            name=account.name,
            kind=account.kind,
            channel=account.channel,
            from_address=account.from_address,
            from_name=account.from_name,
            unsubscribe_mailto=account.unsubscribe_mailto,
            rate_per_second=account.rate_per_second,
            settings={k: v for k, v in stored.items() if k not in hidden},
            secrets=secrets,
            dkim_domain=account.dkim_domain,
            dkim_selector=account.dkim_selector,
            dkim_record_name=(
                service.dkim_record_name(account.dkim_domain, account.dkim_selector)
                if record
                else None
            ),
            dkim_record=record,
            report_url=report_url if account.kind == AccountKind.SMS_HTTP else None,
            archived=account.archived_at is not None,
            created_at=account.created_at,
            archived_at=account.archived_at,
        )
