"""Writes of the messaging domain: sending accounts and contents, putting messages in the
outbox, and what contacts do with a message (open, click, unsubscribe).

Services flush, never commit (the sender in `sending` is the one exception, and says why).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, Text, insert, literal, select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose
from retentio.consent.service import current_consent, record_consent
from retentio.contacts.models import Contact
from retentio.db import UTCDateTime
from retentio.errors import InvalidInput, NotFound
from retentio.kit.upsert import insert_ignoring, insert_or_ignore
from retentio.messaging import queries
from retentio.messaging.channels import TEXT_KINDS, checked_settings
from retentio.messaging.dkim import load_key
from retentio.messaging.models import (
    AccountKind,
    EventKind,
    Message,
    MessageContent,
    MessageEvent,
    MessageState,
    SendingAccount,
)
from retentio.messaging.templates import (
    RenderedContent,
    compile_content,
    render_content,
    template_variables,
)
from retentio.messaging.tracking import Links
from retentio.profiles.models import Profile

UNSUBSCRIBE_SOURCE = "unsubscribe"


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
    settings = checked_settings(kind, settings or {})
    if kind not in TEXT_KINDS and "@" not in from_address:
        raise InvalidInput("The sender address is not an e-mail.", details={"field": "from"})
    if dkim_private_key:
        load_key(dkim_domain, dkim_selector, dkim_private_key)  # refuse a broken key now
        if not dkim_domain or not dkim_selector:
            raise InvalidInput("DKIM needs a domain and a selector.", details={"field": "dkim"})
    account = SendingAccount(
        name=name,
        channel=channel,
        kind=kind,
        settings=settings,
        from_address=from_address,
        from_name=from_name,
        unsubscribe_mailto=unsubscribe_mailto,
        dkim_domain=dkim_domain,
        dkim_selector=dkim_selector,
        dkim_private_key=dkim_private_key,
        rate_per_second=rate_per_second,
    )
    session.add(account)
    session.flush()
    return account


def create_content(
    session: Session,
    *,
    subject: str,
    html: str,
    text: str,
    preheader: str = "",
    utm: dict[str, str] | None = None,
) -> MessageContent:
    compile_content(subject, preheader, html, text)  # a syntax error is refused now, not later
    content = MessageContent(
        subject=subject, preheader=preheader, html=html, text=text, utm=utm or {}
    )
    session.add(content)
    session.flush()
    return content


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
    state = current_consent(session, message.contact_id).get((message.channel, Purpose.MARKETING))
    if state is not False:
        record_consent(
            session,
            message.contact_id,
            channel=message.channel,
            purpose=Purpose.MARKETING,
            granted=False,
            source=UNSUBSCRIBE_SOURCE,
            occurred_at=now,
            ip=ip,
        )
    return message


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
