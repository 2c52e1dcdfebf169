"""A contact's messages for the card's timeline: the newest ones with their subject and, per
message, what recipients and providers did with it (opens, clicks, unsubscribes, bounces,
complaints, delivery reports) grouped by kind, so three opens read "opened 3×, first 12:04".

One bounded query whatever the history holds: the newest `limit` messages, their contents and
their grouped events, joined. Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose
from retentio.messaging.models import (
    EventKind,
    Message,
    MessageContent,
    MessageEvent,
    MessageState,
    SkipReason,
)

# The columns the timeline shows: not `variables`, which may hold a whole product feed.
MESSAGE_COLUMNS = (
    Message.id,
    Message.channel,
    Message.purpose,
    Message.source_kind,
    Message.source_id,
    Message.step,
    Message.state,
    Message.skip_reason,
    Message.error,
    Message.address,
    Message.next_attempt_at,
)
# What stands in for the subject where a channel has none (SMS, messengers): the text's start.
SNIPPET = 80


@dataclass(frozen=True)
class EventGroup:
    """Every hit of one kind on one message (for clicks: on one URL; for bounces: with one
    detail), how many and when the first and the last came."""

    kind: EventKind
    count: int
    first_at: datetime
    last_at: datetime
    url: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class MessageEntry:
    """One outbox row as the timeline shows it; `subject` is the content's template as written,
    not rendered for the contact."""

    id: int
    at: datetime
    channel: Channel
    purpose: Purpose
    source_kind: str
    source_id: int
    step: str
    state: MessageState
    skip_reason: SkipReason | None
    error: str | None
    address: str | None
    due_at: datetime
    subject: str
    events: list[EventGroup] = field(default_factory=list)


def contact_messages(session: Session, contact_id: int, *, limit: int) -> list[MessageEntry]:
    """The contact's newest `limit` messages, newest first: when each was sent (or claimed, or
    queued when it never was) with its events in the order they first happened."""
    newest = _newest(contact_id, limit)
    hits = _grouped_events(select(newest.c.id))
    rows = session.execute(
        select(
            *MESSAGE_COLUMNS,
            newest.c.at,
            MessageContent.subject,
            func.substr(MessageContent.text, 1, SNIPPET).label("snippet"),
            hits.c.kind,
            hits.c.url,
            hits.c.detail,
            hits.c.times,
            hits.c.first_at,
            hits.c.last_at,
        )
        .join(newest, newest.c.id == Message.id)
        .join(MessageContent, MessageContent.id == Message.content_id)
        .outerjoin(hits, hits.c.message_id == Message.id)
        .order_by(newest.c.at.desc(), Message.id.desc(), hits.c.first_at, hits.c.kind)
    )
    entries: dict[int, MessageEntry] = {}
    for row in rows:
        entry = entries.get(row.id)
        if entry is None:
            entry = entries[row.id] = MessageEntry(
                id=row.id,
                at=row.at,
                channel=row.channel,
                purpose=row.purpose,
                source_kind=row.source_kind,
                source_id=row.source_id,
                step=row.step,
                state=row.state,
                skip_reason=row.skip_reason,
                error=row.error,
                address=row.address,
                due_at=row.next_attempt_at,
                subject=row.subject or row.snippet or "",
            )
        if row.kind is not None:
            entry.events.append(
                EventGroup(
                    EventKind(row.kind),
                    int(row.times),
                    row.first_at,
                    row.last_at,
                    row.url,
                    row.detail,
                )
            )
    return list(entries.values())


def _newest(contact_id: int, limit: int) -> Subquery:
    # When it went out, else when the sender took it, else when it was queued (skipped ones).
    at = func.coalesce(Message.sent_at, Message.claimed_at, Message.created_at)
    return (
        select(Message.id, at.label("at"))
        .where(Message.contact_id == contact_id)
        .order_by(at.desc(), Message.id.desc())
        .limit(limit)
        .subquery()
    )


def _grouped_events(message_ids: Select[tuple[int]]) -> Subquery:
    return (
        select(
            MessageEvent.message_id,
            MessageEvent.kind,
            MessageEvent.url,
            MessageEvent.detail,
            func.count().label("times"),
            func.min(MessageEvent.occurred_at).label("first_at"),
            func.max(MessageEvent.occurred_at).label("last_at"),
        )
        .where(MessageEvent.message_id.in_(message_ids))
        .group_by(MessageEvent.message_id, MessageEvent.kind, MessageEvent.url, MessageEvent.detail)
        .subquery()
    )
