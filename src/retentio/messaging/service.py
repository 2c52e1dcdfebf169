"""Writes of the messaging domain: sending accounts, contents and topics, putting messages in
the outbox, and what contacts do with a message (open, click, unsubscribe).

Services flush, never commit (the sender in `sending` is the one exception, and says why).
"""

from __future__ import annotations

import base64
import math
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import String, Table, Text, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose
from retentio.consent.service import current_consent, record_consent
from retentio.contacts.models import Contact
from retentio.db import UTCDateTime
from retentio.errors import Conflict, InvalidInput, NotFound
from retentio.kit.safe_urls import guarded_client
from retentio.kit.upsert import insert_ignoring, insert_or_ignore
from retentio.messaging import queries
from retentio.messaging.channels import TELEGRAM_API, TEXT_KINDS, checked_settings, value_at
from retentio.messaging.dkim import InvalidDkimKey, load_key
from retentio.messaging.models import (
    AccountKind,
    EventKind,
    Message,
    MessageContent,
    MessageEvent,
    MessageState,
    SendingAccount,
    Topic,
)
from retentio.messaging.sanitize import sanitize_html
from retentio.messaging.templates import (
    RenderedContent,
    compile_content,
    render_content,
    template_variables,
)
from retentio.messaging.tracking import Links
from retentio.messaging.transports import SmtpOptions
from retentio.profiles.models import Profile
from retentio.worker import task_settings

if TYPE_CHECKING:
    from _socket import _Address

UNSUBSCRIBE_SOURCE = "unsubscribe"
# A topic's key is how scripts and imports name it: stable, lower-case, no spaces.
TOPIC_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
TOPIC_NAME_MAX = 200


class TopicKeyTaken(Conflict):
    code = "topic_key_taken"


@dataclass(frozen=True)
class OutboxKey:
    """What makes a message unique: the same key twice is the same message."""

    source_kind: str
    source_id: int
    step: str
    contact_id: int
    occurrence: str = ""


@dataclass(frozen=True)
class NewMessage:
    key: OutboxKey
    account_id: int
    content_id: int
    purpose: Purpose
    channel: Channel = Channel.EMAIL
    variables: dict[str, Any] = field(default_factory=dict)
    topic_id: int | None = None
    # Not sent before this time (a local hour chosen per contact); None: as soon as possible.
    not_before: datetime | None = None


class AccountNameTaken(Conflict):
    code = "account_name_taken"


ACCOUNT_NAME_MAX = 100
# Credentials among an account's settings, per kind: the transports use them, nothing returns
# or shows them (pages say "set" or "not set"), and an update that leaves one empty keeps the
# stored value. The DKIM private key, a column of its own, is treated the same way.
SECRET_SETTINGS: dict[AccountKind, frozenset[str]] = {
    AccountKind.SMTP: frozenset({"password"}),
    AccountKind.FILE: frozenset(),
    # SMS providers take their API key in a header (Authorization, X-API-Key …).
    AccountKind.SMS_HTTP: frozenset({"headers"}),
    AccountKind.TELEGRAM: frozenset({"token"}),
    AccountKind.WEBHOOK: frozenset({"secret"}),
}
# What each kind can deliver: the file sink and the webhook stand in for any channel.
KIND_CHANNELS: dict[AccountKind, frozenset[Channel]] = {
    AccountKind.SMTP: frozenset({Channel.EMAIL}),
    AccountKind.FILE: frozenset({Channel.EMAIL, Channel.SMS, Channel.MESSENGER}),
    AccountKind.SMS_HTTP: frozenset({Channel.SMS}),
    AccountKind.TELEGRAM: frozenset({Channel.MESSENGER}),
    AccountKind.WEBHOOK: frozenset({Channel.EMAIL, Channel.SMS, Channel.MESSENGER}),
}
SMTP_TLS = ("none", "starttls", "tls")
# Someone is waiting on the page: less patience than the sender has with a slow server.
CHECK_TIMEOUT = 10.0
DKIM_KEY_BITS = 2048
_DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DKIM_DOMAIN = re.compile(rf"^{_DNS_LABEL}(?:\.{_DNS_LABEL})+$", re.IGNORECASE)
_DKIM_SELECTOR = re.compile(rf"^{_DNS_LABEL}(?:\.{_DNS_LABEL})*$", re.IGNORECASE)


def create_account(
    session: Session,
    *,
    name: str,
    kind: AccountKind,
    from_address: str,
    channel: Channel = Channel.EMAIL,
    from_name: str = "",
    settings: dict[str, Any] | None = None,
    unsubscribe_mailto: str = "",
    dkim_domain: str = "",
    dkim_selector: str = "",
    dkim_private_key: str = "",
    rate_per_second: float = 0.0,
) -> SendingAccount:
    if channel not in KIND_CHANNELS[kind]:
        raise InvalidInput(
            f"An account of kind {kind.value} cannot send {channel.value}.",
            details={"field": "channel"},
        )
    account = SendingAccount(
        name=_account_name(name),
        channel=channel,
        kind=kind,
        settings=_account_settings(kind, settings or {}),
        from_address=from_address,
        from_name=from_name,
        unsubscribe_mailto=unsubscribe_mailto,
        dkim_domain=dkim_domain,
        dkim_selector=dkim_selector,
        dkim_private_key=dkim_private_key,
        rate_per_second=rate_per_second,
    )
    _check_account(account)
    session.add(account)
    _flush_account(session, account.name)
    return account


def get_account(session: Session, account_id: int) -> SendingAccount:
    account = session.get(SendingAccount, account_id)
    if account is None:
        raise NotFound(f"Sending account {account_id} does not exist.")
    return account


def update_account(
    session: Session,
    account_id: int,
    *,
    name: str | None = None,
    from_address: str | None = None,
    from_name: str | None = None,
    settings: dict[str, Any] | None = None,
    unsubscribe_mailto: str | None = None,
    dkim_domain: str | None = None,
    dkim_selector: str | None = None,
    dkim_private_key: str | None = None,
    rate_per_second: float | None = None,
) -> SendingAccount:
    """Change what is given; kind and channel stay. Settings given replace the stored ones name
    by name, except secrets given empty, which keep their stored value (forms and scripts never
    see them to send them back); the DKIM key likewise. Clearing the DKIM domain and selector
    turns signing off and drops the key."""
    account = get_account(session, account_id)
    if name is not None:
        account.name = _account_name(name)
    if settings is not None:
        account.settings = _account_settings(account.kind, _merged_settings(account, settings))
    for column, value in (
        ("from_address", from_address),
        ("from_name", from_name),
        ("unsubscribe_mailto", unsubscribe_mailto),
        ("dkim_domain", dkim_domain),
        ("dkim_selector", dkim_selector),
        ("rate_per_second", rate_per_second),
    ):
        if value is not None:
            setattr(account, column, value.strip() if isinstance(value, str) else value)
    if dkim_private_key:
        account.dkim_private_key = dkim_private_key
    if not account.dkim_domain and not account.dkim_selector:
        account.dkim_private_key = ""
    _check_account(account)
    _flush_account(session, account.name)
    return account


def archive_account(session: Session, account_id: int, *, now: datetime) -> SendingAccount:
    """New campaigns can no longer choose it; messages already queued on it still go out."""
    account = get_account(session, account_id)
    if account.archived_at is None:
        account.archived_at = now
        session.flush()
    return account


def restore_account(session: Session, account_id: int) -> SendingAccount:
    account = get_account(session, account_id)
    account.archived_at = None
    session.flush()
    return account


def _account_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > ACCOUNT_NAME_MAX:
        raise InvalidInput(
            f"Give a name of 1 to {ACCOUNT_NAME_MAX} characters.", details={"field": "name"}
        )
    return name


def _merged_settings(account: SendingAccount, given: dict[str, Any]) -> dict[str, Any]:
    stored = account.settings or {}
    merged = {**stored, **given}
    for name in SECRET_SETTINGS[account.kind]:
        if not given.get(name) and name in stored:
            merged[name] = stored[name]
    return merged


def _invalid_setting(message: str, name: str) -> InvalidInput:
    return InvalidInput(message, details={"field": f"settings.{name}"})


def _smtp_settings(settings: dict[str, Any]) -> dict[str, Any]:
    # The defaults are SmtpOptions'; a host given blank is a mistake, not a wish for localhost.
    host = str(settings.get("host", "localhost")).strip()
    if not host or any(c.isspace() for c in host):
        raise _invalid_setting("Give the server's host name or address.", "host")
    port = settings.get("port", 25)
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise _invalid_setting("The port is a number from 1 to 65535.", "port")
    tls = settings.get("tls", "none")
    if tls not in SMTP_TLS:
        raise _invalid_setting("Encryption is one of none, starttls and tls.", "tls")
    user, password = settings.get("user", ""), settings.get("password", "")
    if not isinstance(user, str) or not isinstance(password, str):
        raise _invalid_setting("The user and the password are texts.", "user")
    return {**settings, "host": host, "port": port, "tls": tls, "user": user.strip()}


def _account_settings(kind: AccountKind, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings to store for an account of `kind`; InvalidInput names the bad one as
    `settings.<name>`. The text kinds' rules live with their transports in `channels`."""
    match kind:
        case AccountKind.SMTP:
            return _smtp_settings(settings)
        case AccountKind.FILE:
            directory = str(settings.get("directory") or "").strip()
            if not directory:
                raise _invalid_setting("Give the directory to write messages to.", "directory")
            return {**settings, "directory": directory}
        case _:
            return checked_settings(kind, settings)


def _check_account(account: SendingAccount) -> None:
    if account.kind not in TEXT_KINDS and "@" not in account.from_address:
        raise InvalidInput("The sender address is not an e-mail.", details={"field": "from"})
    rate = account.rate_per_second
    if not (math.isfinite(rate) and rate >= 0):
        raise InvalidInput(
            "Give 0 (no limit) or more messages a second.", details={"field": "rate_per_second"}
        )
    if account.dkim_private_key:
        try:  # refuse a broken key now, not at the first send
            load_key(account.dkim_domain, account.dkim_selector, account.dkim_private_key)
        except InvalidDkimKey as error:
            raise InvalidDkimKey(error.message, details={"field": "dkim_private_key"}) from error
        if not account.dkim_domain or not account.dkim_selector:
            raise InvalidInput("DKIM needs a domain and a selector.", details={"field": "dkim"})
        _check_dkim_names(account.dkim_domain, account.dkim_selector)


def _flush_account(session: Session, name: str) -> None:
    """The unique name settles a race between two writers: the loser hears 409. The failed
    statement spoils the transaction, which the request then rolls back."""
    try:
        session.flush()
    except IntegrityError as error:
        raise AccountNameTaken(
            f"An account named {name!r} exists.", details={"field": "name"}
        ) from error


def check_account(session: Session, account_id: int) -> str:
    """The page's "Check connection": try the account's way out without sending anything and
    say what answered. A failure is InvalidInput with the reason, never with a credential."""
    account = get_account(session, account_id)
    settings = account.settings or {}
    match account.kind:
        case AccountKind.SMTP:
            return _smtp_greeting(SmtpOptions.from_settings(settings))
        case AccountKind.FILE:
            return _writable(str(settings.get("directory") or ""))
        case AccountKind.TELEGRAM:
            return _telegram_bot(settings)
        case _:
            return "This kind of account cannot be checked without sending: send a test message."


class _Greeted(smtplib.SMTP):
    """Keeps the line the server greets with, which smtplib reads and drops."""

    greeting = ""

    def connect(
        self,
        host: str = "localhost",
        port: int = 0,
        source_address: _Address | None = None,
    ) -> tuple[int, bytes]:
        code, message = super().connect(host, port, source_address)
        first = message.decode(errors="replace").splitlines()[:1]
        self.greeting = " ".join([str(code), *first])
        return code, message


class _GreetedOverTls(_Greeted, smtplib.SMTP_SSL):
    pass


def _smtp_greeting(options: SmtpOptions) -> str:
    """Connect, EHLO, STARTTLS or TLS and log in as the sender would, then QUIT."""
    context = ssl.create_default_context()
    try:
        client: _Greeted
        if options.tls == "tls":
            client = _GreetedOverTls(
                options.host, options.port, timeout=CHECK_TIMEOUT, context=context
            )
        else:
            client = _Greeted(options.host, options.port, timeout=CHECK_TIMEOUT)
        with client:
            client.ehlo()
            if options.tls == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if options.user:
                client.login(options.user, options.password)
    except smtplib.SMTPAuthenticationError as error:
        reason = error.smtp_error
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
        raise InvalidInput(f"The server refused the login: {error.smtp_code} {reason}") from error
    except (smtplib.SMTPException, OSError) as error:
        raise InvalidInput(f"Cannot connect to {options.host}:{options.port}: {error}") from error
    return client.greeting


def _writable(directory: str) -> str:
    if not directory:
        raise _invalid_setting("The account names no directory.", "directory")
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        reason = f"Cannot write to {folder}: {error.strerror or error}"
        raise _invalid_setting(reason, "directory") from error
    return f"The directory {folder.resolve()} is writable."


def _telegram_bot(settings: dict[str, Any]) -> str:
    """`getMe` of the Bot API. The URL holds the token, so no message ever quotes it."""
    api_base = str(settings.get("api_base") or TELEGRAM_API).rstrip("/")
    url = f"{api_base}/bot{settings.get('token', '')}/getMe"
    client = guarded_client(allow_private=task_settings().allow_private_targets)
    try:
        with client:
            response = client.post(url, timeout=CHECK_TIMEOUT)
    except httpx.TimeoutException as error:
        raise InvalidInput("Telegram did not answer in time.") from error
    except httpx.TransportError as error:
        raise InvalidInput(f"Telegram is unreachable: {error}") from error
    except httpx.InvalidURL as error:
        raise _invalid_setting("The bot API address is invalid.", "api_base") from error
    try:
        reply = response.json()
    except ValueError:
        reply = None
    if response.is_success and value_at(reply, "ok") is True:
        return f"The bot @{value_at(reply, 'result.username')} is ready to send."
    description = value_at(reply, "description") or " ".join(response.text.split())[:300]
    raise InvalidInput(f"Telegram answered {response.status_code}: {description}")


def _check_dkim_names(domain: str, selector: str) -> None:
    if len(domain) > 253 or not _DKIM_DOMAIN.match(domain):
        raise InvalidInput(
            "The DKIM domain is a domain name such as shop.example.",
            details={"field": "dkim_domain"},
        )
    if len(selector) > 63 or not _DKIM_SELECTOR.match(selector):
        raise InvalidInput(
            "The DKIM selector uses letters, digits and hyphens.",
            details={"field": "dkim_selector"},
        )


def generate_dkim_key(domain: str, selector: str) -> tuple[str, str]:
    """A new RSA key for `selector._domainkey.domain`: the private key (PEM, PKCS #8) to store
    on the account, and the TXT record to publish in DNS."""
    _check_dkim_names(domain, selector)
    key = rsa.generate_private_key(public_exponent=65537, key_size=DKIM_KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, dkim_txt_record(pem)


def dkim_txt_record(private_pem: str) -> str:
    """The TXT value (RFC 6376 §3.6.1) that publishes the public half of a private key."""
    public = load_key("", "", private_pem).key.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def dkim_record_name(domain: str, selector: str) -> str:
    """Where verifiers look the key up."""
    return f"{selector}._domainkey.{domain}"


def create_content(
    session: Session,
    *,
    subject: str,
    html: str,
    text: str,
    preheader: str = "",
    utm: dict[str, str] | None = None,
) -> MessageContent:
    """The HTML is stored sanitised (`sanitize.sanitize_html`): what users write or paste never
    carries script into an inbox or a preview."""
    html = sanitize_html(html) if html else html
    compile_content(subject, preheader, html, text)  # a syntax error is refused now, not later
    content = MessageContent(
        subject=subject, preheader=preheader, html=html, text=text, utm=utm or {}
    )
    session.add(content)
    session.flush()
    return content


def _topic_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > TOPIC_NAME_MAX:
        raise InvalidInput(
            f"name: give a name of 1 to {TOPIC_NAME_MAX} characters.", details={"field": "name"}
        )
    return name


def create_topic(
    session: Session, *, key: str, name: str, description: str = "", now: datetime
) -> Topic:
    if not TOPIC_KEY.match(key):
        raise InvalidInput(
            f"key: {key!r} must start with a letter and use a-z, 0-9 and _ only.",
            details={"field": "key"},
        )
    values = {
        "key": key,
        "name": _topic_name(name),
        "description": description.strip(),
        "created_at": now,
    }
    # The unique key settles a race between two creators; the loser hears 409.
    if not insert_or_ignore(session, Topic, values):
        raise TopicKeyTaken(f"A topic with key {key!r} exists.", details={"field": "key"})
    return session.scalars(select(Topic).where(Topic.key == key)).one()


def update_topic(
    session: Session,
    topic_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    archived: bool | None = None,
    now: datetime,
) -> Topic:
    """Rename, describe, archive or restore; the key never changes. An archived topic leaves
    the preference page, and its opt-outs stay for when it comes back."""
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFound(f"Topic {topic_id} does not exist.")
    if name is not None:
        topic.name = _topic_name(name)
    if description is not None:
        topic.description = description.strip()
    if archived is not None and archived != (topic.archived_at is not None):
        topic.archived_at = now if archived else None
    session.flush()
    return topic


def _row(new: NewMessage, now: datetime) -> dict[str, Any]:
    return {
        "source_kind": new.key.source_kind,
        "source_id": new.key.source_id,
        "step": new.key.step,
        "contact_id": new.key.contact_id,
        "occurrence": new.key.occurrence,
        "channel": new.channel,
        "purpose": new.purpose,
        "account_id": new.account_id,
        "content_id": new.content_id,
        "variables": new.variables,
        "topic_id": new.topic_id,
        "state": MessageState.QUEUED,
        "attempts": 0,
        "next_attempt_at": new.not_before or now,
        "created_at": now,
    }


def enqueue(session: Session, new: NewMessage, *, now: datetime) -> tuple[Message, bool]:
    """Put one message in the outbox; a key already there means "already queued": the
    existing row comes back with False, whatever its state."""
    created = insert_or_ignore(session, Message, _row(new, now))
    k = new.key
    message = queries.message_by_key(
        session, k.source_kind, k.source_id, k.step, k.contact_id, k.occurrence
    )
    assert message is not None  # inserted now or by whoever won the race
    return message, created


def enqueue_many(session: Session, messages: list[NewMessage], *, now: datetime) -> None:
    """Many at once (a campaign's audience); keys already present are left as they are."""
    if messages:
        rows = [_row(m, now) for m in messages]
        session.execute(insert_ignoring(session, cast(Table, Message.__table__)), rows)


def _record(
    session: Session, message_id: int, kind: EventKind, now: datetime, url: str | None = None
) -> None:
    """One event row, copying the contact from the message in the same statement (so the
    first statement of a GET's transaction is the write, which SQLite then waits for)."""
    columns = select(
        Message.id,
        Message.contact_id,
        literal(kind.value, String()),
        literal(url, Text()),
        literal(now, UTCDateTime()),
    ).where(Message.id == message_id)
    target = ["message_id", "contact_id", "kind", "url", "occurred_at"]
    session.execute(insert(MessageEvent).from_select(target, columns))


def record_open(session: Session, message_id: int, *, now: datetime) -> None:
    _record(session, message_id, EventKind.OPEN, now)


def record_click(session: Session, message_id: int, url: str, *, now: datetime) -> None:
    _record(session, message_id, EventKind.CLICK, now, url)


def unsubscribe(
    session: Session, message_id: int, *, now: datetime, ip: str | None = None
) -> Message:
    """Withdraw marketing consent for the message's channel (source "unsubscribe"); the event
    is recorded on every call, the consent withdrawn once."""
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound("There is no such message.")
    _record(session, message_id, EventKind.UNSUBSCRIBE, now)
    withdraw_marketing(session, message, source=UNSUBSCRIBE_SOURCE, now=now, ip=ip)
    return message


def withdraw_marketing(
    session: Session, message: Message, *, source: str, now: datetime, ip: str | None = None
) -> None:
    """Withdraw marketing consent for the message's channel, once: a repeated unsubscribe or
    complaint must not pile up withdrawal records."""
    state = current_consent(session, message.contact_id).get((message.channel, Purpose.MARKETING))
    if state is not False:
        record_consent(
            session,
            message.contact_id,
            channel=message.channel,
            purpose=Purpose.MARKETING,
            granted=False,
            source=source,
            occurred_at=now,
            ip=ip,
        )


def preview(
    session: Session,
    content_id: int,
    contact_id: int,
    *,
    links: Links,
    variables: dict[str, Any] | None = None,
) -> RenderedContent:
    """The content as this contact would get it (links not rewritten for tracking)."""
    content = session.get(MessageContent, content_id)
    contact = session.get(Contact, contact_id)
    if content is None or contact is None:
        raise NotFound("There is no such content or contact.")
    compiled = compile_content(content.subject, content.preheader, content.html, content.text)
    context = template_variables(
        contact,
        session.get(Profile, contact_id),
        links=links.for_message(0),
        extra=variables,
    )
    return render_content(compiled, context)
