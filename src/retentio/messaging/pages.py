"""HTML pages of sending accounts under /settings/accounts: the list, and the form of each kind of
account for creating and editing one, with "Check connection", a DKIM key generator, the DNS
record of the stored key, and archiving.

Credentials are write-only here as in the API: the form says whether each is set, leaving the
field empty keeps it, and a rejected form comes back without them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from retentio.audit import service as audit
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.consent.labels import CHANNEL_LABELS
from retentio.consent.models import Channel
from retentio.db import utcnow
from retentio.errors import InvalidInput, RetentioError
from retentio.kit.text import N_
from retentio.messaging import queries, service
from retentio.messaging.channels import REPORT_DEFAULTS
from retentio.messaging.hooks import sms_report_url
from retentio.messaging.models import AccountKind, SendingAccount
from retentio.messaging.schemas import DKIM_KEY, AccountIn, AccountPatch, AccountRead
from retentio.settings import Settings
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.flash import flash
from retentio.web.forms import GENERAL, FormDep, field_errors, posted
from retentio.web.i18n import gettext as _
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]

KIND_LABELS: dict[AccountKind, str] = {
    AccountKind.SMTP: N_("SMTP server"),
    AccountKind.FILE: N_("File sink (development)"),
    AccountKind.SMS_HTTP: N_("SMS provider (HTTP API)"),
    AccountKind.TELEGRAM: N_("Telegram bot"),
    AccountKind.WEBHOOK: N_("Webhook"),
}
# Kinds whose messages are e-mails we build: they have a sender, List-Unsubscribe and DKIM.
EMAIL_KINDS = frozenset({AccountKind.SMTP, AccountKind.FILE})
EMAIL_FIELDS = ("from_address", "from_name", "unsubscribe_mailto", "dkim_domain", "dkim_selector")
# Domain errors that call a field by another name than the form's input.
INPUT_OF_FIELD = {"from": "from_address", "dkim": "dkim_domain"}
_LIST_SPLIT = re.compile(r"[\n,]+")
# What a new account's form starts with: the common choices, and the usual field names of SMS
# providers' delivery reports.
STARTING_SETTINGS: dict[AccountKind, dict[str, Any]] = {
    AccountKind.SMTP: {"port": 587, "tls": "starttls"},
    AccountKind.FILE: {"directory": "retentio-data/outbox"},
    AccountKind.SMS_HTTP: {
        **REPORT_DEFAULTS,
        "method": "POST",
        "body": {"to": "{to}", "text": "{text}", "sender": "{sender}"},
    },
}


@dataclass(frozen=True)
class Setting:
    """One input of a kind's settings; the form calls it `settings.<name>`, as errors do."""

    name: str
    label: str
    shape: Literal["text", "number", "choice", "list", "json", "headers"] = "text"
    hint: str = ""
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def input(self) -> str:
        return f"settings.{self.name}"


_LIST_HINT = N_("Separate values with commas.")
TLS_CHOICES = (("none", N_("None")), ("starttls", "STARTTLS"), ("tls", N_("TLS (SMTPS)")))
SETTINGS: dict[AccountKind, tuple[Setting, ...]] = {
    AccountKind.SMTP: (
        Setting("host", N_("Host"), required=True),
        Setting("port", N_("Port"), "number", N_("587 for STARTTLS, 465 for TLS."), True),
        Setting("tls", N_("Encryption"), "choice", choices=TLS_CHOICES),
        Setting("user", N_("User"), hint=N_("Empty when the server takes mail without a login.")),
        Setting("password", N_("Password")),
    ),
    AccountKind.FILE: (
        Setting(
            "directory",
            N_("Directory"),
            hint=N_("Each message is saved there as an .eml file; nothing is sent."),
            required=True,
        ),
    ),
    AccountKind.SMS_HTTP: (
        Setting(
            "url",
            N_("Send URL"),
            hint=N_("The provider's address for sending a message."),
            required=True,
        ),
        Setting("method", N_("Method"), "choice", choices=(("POST", "POST"), ("PUT", "PUT"))),
        Setting(
            "headers",
            N_("Headers"),
            "headers",
            N_("One per line, as Name: value. Put the provider's API key here."),
        ),
        Setting(
            "body",
            N_("Body template"),
            "json",
            N_(
                "JSON with the {to} and {text} placeholders; {sender} and {reference} (our "
                "message number) are optional."
            ),
            True,
        ),
        Setting("sender", N_("Sender name"), hint=N_("As the provider registered it for you.")),
        Setting("id_path", N_("Message id in the reply"), hint=N_("A path such as messages.0.id.")),
        Setting("error_path", N_("Error code in the reply"), hint=N_("A path such as error.code.")),
        Setting(
            "invalid_values",
            N_("Error codes of a number that does not exist"),
            "list",
            N_("Such a failure suppresses the number, as a hard bounce does."),
        ),
        Setting(
            "status_id_path",
            N_("Report: message id"),
            hint=N_("Where a delivery report names the message."),
        ),
        Setting(
            "status_path",
            N_("Report: status"),
            hint=N_("Where a delivery report gives the status."),
        ),
        Setting("delivered_values", N_("Statuses meaning delivered"), "list", _LIST_HINT),
        Setting("failed_values", N_("Statuses meaning failed"), "list", _LIST_HINT),
        Setting(
            "permanent_values",
            N_("Statuses meaning the number does not exist"),
            "list",
            N_("Such a report suppresses the number, as a hard bounce does."),
        ),
    ),
    AccountKind.TELEGRAM: (
        Setting("token", N_("Bot token"), hint=N_("The token @BotFather gave."), required=True),
        Setting("api_base", N_("Bot API address"), hint=N_("Empty for https://api.telegram.org.")),
    ),
    AccountKind.WEBHOOK: (
        Setting("url", N_("URL"), hint=N_("Each message is posted there as JSON."), required=True),
        Setting(
            "secret",
            N_("Signing secret"),
            hint=N_(
                "Each request carries X-Retentio-Signature: sha256= and the HMAC-SHA256 of its "
                "body with this secret."
            ),
            required=True,
        ),
    ),
}


@router.get("/settings/accounts", response_class=HTMLResponse)
def account_list(
    request: Request, session: SessionDep, settings: SettingsDep, _admin: Admin
) -> Response:
    context = {
        "accounts": [_read(a, settings) for a in queries.accounts(session)],
        "kinds": [(k.value, _(label)) for k, label in KIND_LABELS.items()],
        "kind_labels": KIND_LABELS,
        "channel_labels": CHANNEL_LABELS,
    }
    return render(request, "messaging/accounts.html", context)


@router.get("/settings/accounts/new", response_class=HTMLResponse)
def account_new(request: Request, _admin: Admin, kind: AccountKind = AccountKind.SMTP) -> Response:
    return _form_page(request, kind, None, values=_starting_values(kind))


@router.post("/settings/accounts/new", response_class=HTMLResponse)
def account_create(request: Request, session: SessionDep, _admin: Admin, form: FormDep) -> Response:
    kind = _kind(form)
    if form.get("action") == "dkim":
        return _with_new_dkim_key(request, kind, None, form)
    try:
        fields = {"kind": kind, "channel": _default_channel(kind), **_account_fields(form, kind)}
        body = AccountIn.model_validate(fields)
        account = service.create_account(session, **body.model_dump())
        audit.record(
            session, entity="account", entity_id=account.id, action="create", actor_id=_admin.id
        )
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, kind, None, form, error)
    flash(request, _("Account {name} created.").format(name=account.name))
    return RedirectResponse(f"/settings/accounts/{account.id}", status_code=303)


@router.get("/settings/accounts/{account_id}", response_class=HTMLResponse)
def account_card(
    request: Request, session: SessionDep, settings: SettingsDep, _admin: Admin, account_id: int
) -> Response:
    account = _read(service.get_account(session, account_id), settings)
    return _form_page(request, account.kind, account, values=_values_of(account))


@router.post("/settings/accounts/{account_id}", response_class=HTMLResponse)
def account_update(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _admin: Admin,
    account_id: int,
    form: FormDep,
) -> Response:
    account = _read(service.get_account(session, account_id), settings)
    if form.get("action") == "dkim":
        return _with_new_dkim_key(request, account.kind, account, form)
    try:
        fields = _account_fields(form, account.kind)
        fields.pop("channel", None)  # fixed once created: queued messages rely on it
        patch = AccountPatch.model_validate(fields)
        service.update_account(session, account_id, **patch.model_dump(exclude_unset=True))
        audit.record(
            session, entity="account", entity_id=account_id, action="update", actor_id=_admin.id
        )
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, account.kind, account, form, error)
    flash(request, _("Account saved."))
    return RedirectResponse(f"/settings/accounts/{account_id}", status_code=303)


@router.post("/settings/accounts/{account_id}/check", response_class=HTMLResponse)
def account_check(
    request: Request, session: SessionDep, settings: SettingsDep, _admin: Admin, account_id: int
) -> Response:
    account = _read(service.get_account(session, account_id), settings)
    try:
        check = {"ok": True, "detail": service.check_account(session, account_id)}
    except InvalidInput as error:
        check = {"ok": False, "detail": error.message}
    return _form_page(request, account.kind, account, values=_values_of(account), check=check)


@router.post("/settings/accounts/{account_id}/archive")
def account_archive(
    request: Request, session: SessionDep, _admin: Admin, account_id: int
) -> Response:
    service.archive_account(session, account_id, now=utcnow())
    audit.record(
        session, entity="account", entity_id=account_id, action="archive", actor_id=_admin.id
    )
    flash(request, _("Account archived: new campaigns can no longer choose it."))
    return RedirectResponse(f"/settings/accounts/{account_id}", status_code=303)


@router.post("/settings/accounts/{account_id}/restore")
def account_restore(
    request: Request, session: SessionDep, _admin: Admin, account_id: int
) -> Response:
    service.restore_account(session, account_id)
    audit.record(
        session, entity="account", entity_id=account_id, action="restore", actor_id=_admin.id
    )
    flash(request, _("Account restored."))
    return RedirectResponse(f"/settings/accounts/{account_id}", status_code=303)


def _read(account: SendingAccount, settings: Settings) -> AccountRead:
    url = sms_report_url(settings.base_url, settings.resolved_secret_key(), account.id)
    return AccountRead.of(account, report_url=url)


def _kind(form: FormData) -> AccountKind:
    try:
        return AccountKind(str(form.get("kind") or ""))
    except ValueError as error:
        raise InvalidInput("Choose the kind of account.", details={"field": "kind"}) from error


def _default_channel(kind: AccountKind) -> Channel:
    channels = service.KIND_CHANNELS[kind]
    return Channel.EMAIL if Channel.EMAIL in channels else next(iter(channels))


def _shown_fields(kind: AccountKind) -> tuple[str, ...]:
    """The account's own inputs (besides settings) that the kind's form shows."""
    fields: tuple[str, ...] = ("name", "rate_per_second")
    if len(service.KIND_CHANNELS[kind]) > 1:
        fields += ("channel",)
    if kind in EMAIL_KINDS:
        fields += (*EMAIL_FIELDS, DKIM_KEY)
    return fields


def _form_page(
    request: Request,
    kind: AccountKind,
    account: AccountRead | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    check: dict[str, Any] | None = None,
    generated: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    secrets = service.SECRET_SETTINGS[kind]
    context = {
        "account": account,
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "shown": _shown_fields(kind),
        "settings_fields": [
            {
                "setting": s,
                "secret": s.name in secrets,
                "is_set": bool(account and account.secrets.get(s.name)),
                "choices": [(value, _(label)) for value, label in s.choices],
            }
            for s in SETTINGS[kind]
        ],
        "channels": [
            (c.value, _(label))
            for c, label in CHANNEL_LABELS.items()
            if c in service.KIND_CHANNELS[kind]
        ],
        "channel_labels": CHANNEL_LABELS,
        "values": values,
        "errors": errors or {},
        "check": check,
        "generated": generated,
    }
    return render(request, "messaging/account.html", context, status_code=status_code)


def _starting_values(kind: AccountKind) -> dict[str, Any]:
    values: dict[str, Any] = {"rate_per_second": "0", "channel": _default_channel(kind).value}
    defaults = STARTING_SETTINGS.get(kind, {})
    by_name = {s.name: s for s in SETTINGS[kind]}
    values.update({by_name[n].input: _shown(by_name[n], v) for n, v in defaults.items()})
    return values


def _values_of(account: AccountRead) -> dict[str, Any]:
    """The form filled from a stored account (whose settings come without the credentials)."""
    values: dict[str, Any] = {
        "name": account.name,
        "channel": account.channel.value,
        "rate_per_second": f"{account.rate_per_second:g}",
        **{name: getattr(account, name) for name in EMAIL_FIELDS},
    }
    for setting in SETTINGS[account.kind]:
        if setting.name in account.settings:
            values[setting.input] = _shown(setting, account.settings[setting.name])
    return values


def _shown(setting: Setting, value: Any) -> str:
    if setting.shape == "list" and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if setting.shape == "json" and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, indent=2)
    return str(value)


def _account_fields(form: FormData, kind: AccountKind) -> dict[str, Any]:
    """What the kind's form posted, shaped for AccountIn / AccountPatch."""
    fields: dict[str, Any] = {name: _text(form, name) for name in _shown_fields(kind)}
    fields["rate_per_second"] = fields["rate_per_second"].replace(",", ".") or "0"
    if kind in EMAIL_KINDS:
        # A pasted PEM keeps its line breaks; only the ends are trimmed.
        fields[DKIM_KEY] = str(form.get(DKIM_KEY) or "").strip()
    fields["settings"] = {s.name: _setting_value(s, form) for s in SETTINGS[kind]}
    return fields


def _setting_value(setting: Setting, form: FormData) -> Any:
    text = _text(form, setting.input)
    if setting.shape == "list":
        return [part.strip() for part in _LIST_SPLIT.split(text) if part.strip()]
    if setting.shape == "headers":
        return _headers(text, setting.input)
    return text


def _headers(text: str, input_name: str) -> dict[str, str]:
    headers = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise InvalidInput("Write each header as Name: value.", details={"field": input_name})
        headers[name.strip()] = value.strip()
    return headers


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _kept_values(form: FormData, kind: AccountKind) -> dict[str, Any]:
    """The form as typed, without the credentials. A DKIM key stays: it is the one just pasted
    or generated here, and losing it would leave a published DNS record without its key."""
    secret_inputs = {f"settings.{name}" for name in service.SECRET_SETTINGS[kind]}
    return {k: v for k, v in posted(form).items() if k not in secret_inputs}


def _rejected(
    request: Request,
    kind: AccountKind,
    account: AccountRead | None,
    form: FormData,
    error: ValidationError | RetentioError,
) -> Response:
    if isinstance(error, ValidationError):
        errors = field_errors(error)
        status_code = 422
    else:
        errors = _errors_of(error, kind)
        status_code = error.status
    values = _kept_values(form, kind)
    return _form_page(request, kind, account, values=values, errors=errors, status_code=status_code)


def _errors_of(error: RetentioError, kind: AccountKind) -> dict[str, str]:
    """The message next to the input the error names, or above the form."""
    field = error.details.get("field") if isinstance(error.details, dict) else None
    name = INPUT_OF_FIELD.get(str(field), str(field))
    inputs = {*_shown_fields(kind), *(s.input for s in SETTINGS[kind])}
    if name in inputs:
        return {name: error.message}
    return {GENERAL: error.message}


def _with_new_dkim_key(
    request: Request, kind: AccountKind, account: AccountRead | None, form: FormData
) -> Response:
    """The form again, as typed, with a new key in the DKIM field and the record to publish."""
    values = _kept_values(form, kind)
    domain, selector = _text(form, "dkim_domain"), _text(form, "dkim_selector")
    try:
        private_key, record = service.generate_dkim_key(domain, selector)
    except InvalidInput as error:
        errors = _errors_of(error, kind)
        return _form_page(request, kind, account, values=values, errors=errors, status_code=422)
    values[DKIM_KEY] = private_key
    generated = {"name": service.dkim_record_name(domain, selector), "record": record}
    return _form_page(request, kind, account, values=values, generated=generated)
