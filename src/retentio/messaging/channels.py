"""Text channels behind the sender: SMS through a provider's HTTP API, Telegram bot messages and
a generic signed JSON webhook; the checks on their account settings; and reading an SMS
provider's delivery reports with the paths the account names.

Each transport answers `send(message)` with the provider's message id (or None) and fails with
the same `PermanentFailure` / `TransientFailure` / `UncertainDelivery` as the e-mail transports:
2xx is accepted; 408, 5xx and failing to connect are transient; 401 and 429 are transient for
the whole account (wrong credentials, or the provider asks us to slow down: the rest of the
batch waits); any other 4xx is permanent. A request sent whole and never answered (read
timeout, connection dropped) may have been acted on: an uncertain delivery, never sent again
(ADR 0012). Only the URL scheme is checked: an account may still point at any
host the worker reaches (SSRF protection is a later issue).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from retentio.consent.models import Channel
from retentio.errors import InvalidInput
from retentio.kit.safe_urls import UnsafeTarget, check_outbound, guarded_client
from retentio.messaging.models import AccountKind, SendingAccount
from retentio.messaging.transports import (
    DeliveryFailure,
    PermanentFailure,
    TransientFailure,
    UncertainDelivery,
)
from retentio.worker import task_settings

TEXT_KINDS = frozenset({AccountKind.SMS_HTTP, AccountKind.TELEGRAM, AccountKind.WEBHOOK})
TELEGRAM_API = "https://api.telegram.org"
SIGNATURE_HEADER = "X-Retentio-Signature"
# Connecting is quick or never; a provider may take a while to answer. A timeout marks the
# account down for the batch, so one dead provider costs one wait, not one per message.
HTTP_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# The request went out whole and no answer came back: the provider may have acted on it. The
# other transport errors happen before the request is complete (connect, pool, write).
SENT_UNANSWERED = (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError)
# Defaults of an SMS account's delivery-report settings: the most common field names.
REPORT_DEFAULTS: dict[str, Any] = {
    "status_id_path": "id",
    "status_path": "status",
    "delivered_values": ["delivered"],
    "failed_values": ["failed", "undelivered", "expired", "rejected"],
    "permanent_values": [],
}
_PLACEHOLDER = re.compile(r"\{(to|text|sender|reference)\}")
_CHAT_ID = re.compile(r"-?\d+")
_EXCERPT = 300


@dataclass(frozen=True)
class TextMessage:
    """A rendered message for a text channel; the webhook passes every field on."""

    message_id: int
    contact_id: int
    channel: Channel
    to: str
    text: str
    subject: str = ""
    html: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    unsubscribe_url: str = ""


class TextTransport(Protocol):
    def send(self, message: TextMessage) -> str | None: ...

    def close(self) -> None: ...


def _invalid(message: str, name: str) -> InvalidInput:
    return InvalidInput(message, details={"field": f"settings.{name}"})


def _http_url(value: Any, name: str) -> str:
    url = str(value or "").strip()
    if not url.lower().startswith(("https://", "http://")) or len(url) < len("http://x"):
        raise _invalid("The URL must start with https:// or http://.", name)
    # Saving and building a transport both pass here: a target is checked when saved and sent to.
    try:
        check_outbound(url, allow_private=task_settings().allow_private_targets)
    except UnsafeTarget as error:
        raise _invalid(error.message, name) from error
    return url


def _strings(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise _invalid("Give a list of values.", name)
    return [str(v) for v in value]


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise _invalid("Give a text.", name)
    return value


def _placeholders(template: Any) -> set[str]:
    if isinstance(template, str):
        return set(_PLACEHOLDER.findall(template))
    if isinstance(template, dict):
        return set().union(*(_placeholders(v) for v in template.values()))
    if isinstance(template, list):
        return set().union(*(_placeholders(v) for v in template))
    return set()


def _sms_settings(settings: dict[str, Any]) -> dict[str, Any]:
    checked = {**REPORT_DEFAULTS, **settings, "url": _http_url(settings.get("url"), "url")}
    checked["method"] = str(settings.get("method", "POST")).upper()
    if checked["method"] not in ("POST", "PUT"):
        raise _invalid("The method must be POST or PUT.", "method")
    headers = settings.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise _invalid("Headers are names with text values.", "headers")
    checked["headers"] = headers
    body = settings.get("body")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as error:
            raise _invalid(f"The body template is not JSON: {error}", "body") from error
    if not isinstance(body, dict | list):
        raise _invalid("The body template must be a JSON object.", "body")
    if not {"to", "text"} <= _placeholders(body):
        raise _invalid("The body template needs the {to} and {text} placeholders.", "body")
    checked["body"] = body
    for name in ("id_path", "sender", "status_id_path", "status_path", "error_path"):
        checked[name] = _text(checked.get(name, ""), name)
    for name in ("delivered_values", "failed_values", "permanent_values", "invalid_values"):
        checked[name] = _strings(checked.get(name, []), name)
    return checked


def checked_settings(kind: AccountKind, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings to store for an account of `kind`; InvalidInput names the bad field."""
    match kind:
        case AccountKind.SMS_HTTP:
            return _sms_settings(settings)
        case AccountKind.TELEGRAM:
            token = str(settings.get("token") or "").strip()
            if not token:
                raise _invalid("The bot token is required.", "token")
            api_base = _http_url(settings.get("api_base") or TELEGRAM_API, "api_base")
            return {**settings, "token": token, "api_base": api_base}
        case AccountKind.WEBHOOK:
            secret = str(settings.get("secret") or "")
            if not secret:
                raise _invalid("The signing secret is required.", "secret")
            return {**settings, "url": _http_url(settings.get("url"), "url"), "secret": secret}
        case _:
            return dict(settings)


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted path ("messages.0.id": keys of objects, indexes of lists); None
    when the path is empty or leads nowhere."""
    if not path:
        return None
    for step in path.split("."):
        if isinstance(data, dict):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


def fill(template: Any, values: dict[str, str]) -> Any:
    """The body template with each {placeholder} in its strings replaced, in one pass: a text
    that itself contains "{to}" stays as written. JSON-encoded afterwards, so no value can
    break out of its string."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def signature(secret: str, body: bytes) -> str:
    """The `X-Retentio-Signature` value: HMAC-SHA256 of the raw body, as the receiver checks it."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _reply(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(label: str, response: httpx.Response) -> str:
    return f"{label} answered {response.status_code}: {' '.join(response.text.split())[:_EXCERPT]}"


def _classify(status: int, detail: str, *, bounce: bool) -> DeliveryFailure:
    if status in (401, 429):
        # No code: like a refused SMTP login, it stops the account's batch (see Sender._deliver).
        return TransientFailure(detail)
    if status == 408 or status >= 500:
        return TransientFailure(detail, code=status)
    return PermanentFailure(detail, code=status, bounce=bounce)


class _Http:
    """One client per account: connections stay open across the batch's messages."""

    def __init__(self, label: str) -> None:
        self.label = label
        allow_private = task_settings().allow_private_targets
        self.client = guarded_client(allow_private=allow_private, timeout=HTTP_TIMEOUT)

    def post(
        self, url: str, *, content: bytes, headers: dict[str, str], method: str = "POST"
    ) -> httpx.Response:
        try:
            return self.client.request(method, url, content=content, headers=headers)
        except SENT_UNANSWERED as error:
            raise UncertainDelivery(
                f"{self.label} got the request and did not answer ({error!r}): it may have "
                "been sent, so it is not sent again"
            ) from error
        except httpx.TimeoutException as error:
            raise TransientFailure(f"{self.label} did not answer in time ({error!r})") from error
        except httpx.TransportError as error:
            # The message text (never the URL, which may hold a token) says what went wrong.
            raise TransientFailure(f"{self.label} is unreachable: {error}") from error
        except httpx.InvalidURL as error:
            raise TransientFailure(f"{self.label}: the account's URL is invalid") from error
        except UnsafeTarget as error:
            # The name now resolves inward: a problem of the account, which stops its batch.
            raise TransientFailure(f"{self.label}: {error.message}") from error

    def close(self) -> None:
        self.client.close()


class SmsHttpTransport:
    """An SMS provider's JSON API: the account's body template filled in and sent as is."""

    def __init__(self, settings: dict[str, Any], *, sender: str) -> None:
        self.url, self.method, self.body = settings["url"], settings["method"], settings["body"]
        self.headers = {"Content-Type": "application/json", **settings["headers"]}
        self.id_path, self.error_path = settings["id_path"], settings["error_path"]
        self.invalid = frozenset(settings["invalid_values"])
        self.sender = sender
        self.http = _Http("The SMS provider")

    def send(self, message: TextMessage) -> str | None:
        values = {
            "to": message.to,
            "text": message.text,
            "sender": self.sender,
            "reference": str(message.message_id),
        }
        content = json.dumps(fill(self.body, values), ensure_ascii=False).encode()
        response = self.http.post(
            self.url, content=content, headers=self.headers, method=self.method
        )
        reply = _reply(response)
        if response.is_success:
            found = value_at(reply, self.id_path)
            return None if found is None else str(found)
        error = value_at(reply, self.error_path)
        invalid_number = error is not None and str(error) in self.invalid
        raise _classify(
            response.status_code, _detail("The SMS provider", response), bounce=invalid_number
        )

    def close(self) -> None:
        self.http.close()


class TelegramTransport:
    """`sendMessage` of the Bot API to the contact's chat."""

    def __init__(self, *, token: str, api_base: str = TELEGRAM_API) -> None:
        self.url = f"{api_base.rstrip('/')}/bot{token}/sendMessage"
        self.http = _Http("Telegram")

    def send(self, message: TextMessage) -> str | None:
        # A numeric chat id as is; a username only reaches public channels (the bot API has no
        # way to write to a person it knows by name alone: they must start the bot first).
        chat = message.to if _CHAT_ID.fullmatch(message.to) else f"@{message.to}"
        content = json.dumps({"chat_id": chat, "text": message.text}, ensure_ascii=False)
        response = self.http.post(
            self.url, content=content.encode(), headers={"Content-Type": "application/json"}
        )
        reply = _reply(response)
        if response.is_success and value_at(reply, "ok") is True:
            return f"{chat}/{value_at(reply, 'result.message_id')}"
        status = response.status_code
        description = str(value_at(reply, "description") or response.text[:_EXCERPT])
        detail = f"Telegram answered {status}: {description}"
        if status == 404:
            # The Bot API answers 404 to a malformed token: the account's fault, not the chat's.
            raise TransientFailure(detail)
        # 403: the user blocked the bot or deleted the account; 400 "chat not found": no such
        # chat. Either way this chat will never take a message: a bounce.
        unreachable = status == 403 or (status == 400 and "chat not found" in description.lower())
        raise _classify(status, detail, bounce=unreachable)

    def close(self) -> None:
        self.http.close()


class WebhookTransport:
    """The whole message as JSON to the user's endpoint, signed so the receiver can verify it."""

    def __init__(self, *, url: str, secret: str) -> None:
        self.url, self.secret = url, secret
        self.http = _Http("The webhook")

    def send(self, message: TextMessage) -> str | None:
        payload = {
            "message_id": message.message_id,
            "contact_id": message.contact_id,
            "channel": message.channel.value,
            "to": message.to,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "variables": message.variables,
            "unsubscribe_url": message.unsubscribe_url,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.secret, body),
        }
        response = self.http.post(self.url, content=body, headers=headers)
        if response.is_success:
            return None
        raise _classify(response.status_code, _detail("The webhook", response), bounce=False)

    def close(self) -> None:
        self.http.close()


class _Misconfigured:
    """An account whose stored settings no longer pass the checks: its messages wait (and are
    retried with backoff) rather than failing the batch when the transport is built."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def send(self, message: TextMessage) -> str | None:
        raise TransientFailure(f"The account's settings are invalid: {self.reason}")

    def close(self) -> None:
        return None


def text_transport(account: SendingAccount) -> TextTransport:
    """The transport of a text account (one of TEXT_KINDS)."""
    try:
        settings = checked_settings(account.kind, account.settings or {})
    except InvalidInput as error:
        field_name = error.details.get("field", "settings") if error.details else "settings"
        return _Misconfigured(f"{field_name}: {error.message}")
    match account.kind:
        case AccountKind.SMS_HTTP:
            return SmsHttpTransport(settings, sender=settings["sender"] or account.from_name)
        case AccountKind.TELEGRAM:
            return TelegramTransport(token=settings["token"], api_base=settings["api_base"])
        case AccountKind.WEBHOOK:
            return WebhookTransport(url=settings["url"], secret=settings["secret"])
        case _:
            raise ValueError(f"{account.kind} is not a text channel")


class ReportStatus(enum.Enum):
    DELIVERED = "delivered"
    FAILED = "failed"  # may succeed another time: a soft bounce
    FAILED_PERMANENT = "failed_permanent"  # the number does not exist: a hard bounce


@dataclass(frozen=True)
class DeliveryReport:
    provider_id: str
    status: ReportStatus
    detail: str


def _lowered(settings: dict[str, Any], name: str) -> frozenset[str]:
    values = settings.get(name, REPORT_DEFAULTS[name])
    return frozenset(str(v).lower() for v in values) if isinstance(values, list) else frozenset()


def read_reports(settings: dict[str, Any], payload: Any) -> list[DeliveryReport]:
    """The delivery reports in a provider's callback (one object, or a list of them), read with
    the account's paths. Statuses are compared without case; one that is neither delivered nor
    failed (queued, sent to the operator …) is not a report yet and is left out."""
    id_path = str(settings.get("status_id_path") or REPORT_DEFAULTS["status_id_path"])
    status_path = str(settings.get("status_path") or REPORT_DEFAULTS["status_path"])
    delivered, failed = _lowered(settings, "delivered_values"), _lowered(settings, "failed_values")
    permanent = _lowered(settings, "permanent_values")
    reports = []
    for item in payload if isinstance(payload, list) else [payload]:
        provider_id, value = value_at(item, id_path), value_at(item, status_path)
        if provider_id is None or value is None:
            continue
        status = str(value).lower()
        # Permanent first: a provider may list its "no such number" code among failures too.
        if status in permanent:
            found = ReportStatus.FAILED_PERMANENT
        elif status in delivered:
            found = ReportStatus.DELIVERED
        elif status in failed:
            found = ReportStatus.FAILED
        else:
            continue
        reports.append(DeliveryReport(str(provider_id), found, f"status: {value}"))
    return reports
