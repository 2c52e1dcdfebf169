"""One contact's history, newest first: events, orders, messages, notes, consent, merges and
changes.

Each source is read with its own bounded query (the newest `limit` rows; messages come with
their opens, clicks and bounces in the same query), the actors' names with one more, and the
lists are merged in memory: eight queries whatever the history holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.audit.queries import HistoryLine, describe, entries_for, people_in
from retentio.auth.queries import names_by_id
from retentio.commerce.models import Order
from retentio.consent.models import ConsentEvent
from retentio.contacts.models import ContactMerge, ContactNote
from retentio.events.models import Event
from retentio.kit.text import N_
from retentio.messaging.models import MessageState, SkipReason
from retentio.messaging.timeline_queries import EventGroup, MessageEntry, contact_messages

LIMIT = 200
MAX_PROPERTIES = 4
MAX_VALUE = 80
# Segment's context shape: {"page": {"url"}, "campaign": {"source", "medium", "name"}}.
CAMPAIGN_KEYS = ("source", "medium", "name")

Kind = Literal["event", "order", "message", "note", "consent", "merge", "change"]
# Words for messaging's values; the template translates them.
SOURCE_LABELS = {"campaign": N_("Campaign"), "journey": N_("Journey"), "test": N_("Test send")}
STATE_LABELS = {
    MessageState.QUEUED: N_("queued"),
    MessageState.HELD: N_("held: the campaign is paused"),
    MessageState.SENDING: N_("sending"),
    MessageState.SENT: N_("sent"),
    MessageState.FAILED: N_("failed"),
    MessageState.UNKNOWN: N_("unknown: the sender stopped while sending it"),
    MessageState.SKIPPED: N_("not sent"),
}
SKIP_REASON_LABELS = {
    SkipReason.NO_ADDRESS: N_("no address for this channel"),
    SkipReason.NO_CONSENT: N_("no consent"),
    SkipReason.SUPPRESSED: N_("the address is suppressed"),
    SkipReason.FREQUENCY_CAP: N_("frequency cap reached"),
    SkipReason.CONTACT_GONE: N_("the contact was deleted, erased or merged"),
    SkipReason.CANCELLED: N_("the campaign was cancelled"),
    SkipReason.TOPIC_OPT_OUT: N_("the contact turned this topic off"),
}


@dataclass(frozen=True)
class TimelineItem:
    kind: Kind
    at: datetime
    row: Any
    actor: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class MessageLine:
    """A message with its words chosen: source, state and skip reason are labels to translate
    (an unknown source kind shows as it is); each event group comes with its URL shortened."""

    message: MessageEntry
    source: str
    state: str
    reason: str | None
    # The subject is the content's template as written, so `{{ … }}` is shown as code.
    template: bool
    events: list[tuple[EventGroup, str]]


def timeline(session: Session, contact_id: int, *, limit: int = LIMIT) -> list[TimelineItem]:
    events = _newest(session, Event, contact_id, Event.occurred_at, limit)
    orders = _newest(session, Order, contact_id, Order.placed_at, limit)
    messages = contact_messages(session, contact_id, limit=limit)
    notes = _newest(session, ContactNote, contact_id, ContactNote.created_at, limit)
    consents = _newest(session, ConsentEvent, contact_id, ConsentEvent.occurred_at, limit)
    merges = session.scalars(
        select(ContactMerge)
        .where(ContactMerge.winner_id == contact_id)
        .order_by(ContactMerge.merged_at.desc())
        .limit(limit)
    ).all()
    # A merge is shown from its own record, which keeps what moved; its audit line would repeat it.
    audits = [
        a for a in entries_for(session, "contact", contact_id, limit=limit) if a.action != "merge"
    ]
    names = names_by_id(
        session,
        people_in(audits)
        | {n.author_id for n in notes if n.author_id}
        | {c.actor_id for c in consents if c.actor_id}
        | {m.actor_id for m in merges if m.actor_id},
    )
    items = [
        *(TimelineItem("event", e.occurred_at, e, details=event_details(e)) for e in events),
        *(TimelineItem("order", o.placed_at, o) for o in orders),
        *(TimelineItem("message", m.at, message_line(m)) for m in messages),
        *(TimelineItem("note", n.created_at, n, _name(names, n.author_id)) for n in notes),
        *(TimelineItem("consent", c.occurred_at, c, _name(names, c.actor_id)) for c in consents),
        *(TimelineItem("merge", m.merged_at, m, _name(names, m.actor_id)) for m in merges),
        *(_change(describe(a, names)) for a in audits),
    ]
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def event_details(event: Event) -> list[tuple[str, str]]:
    """A few scalar properties, then where it happened: page and campaign."""
    details = [
        (key, _short(value))
        for key, value in event.properties.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ][:MAX_PROPERTIES]
    page = _mapping(event.context.get("page"))
    if isinstance(page.get("url"), str):
        details.append(("url", _short(page["url"])))
    campaign = _mapping(event.context.get("campaign"))
    utm = [str(campaign[k]) for k in CAMPAIGN_KEYS if campaign.get(k)]
    if utm:
        details.append(("utm", " / ".join(utm)))
    return details


def message_line(message: MessageEntry) -> MessageLine:
    return MessageLine(
        message=message,
        source=SOURCE_LABELS.get(message.source_kind, message.source_kind),
        state=STATE_LABELS[message.state],
        reason=SKIP_REASON_LABELS[message.skip_reason] if message.skip_reason else None,
        template="{{" in message.subject or "{%" in message.subject,
        events=[(group, _short_url(group.url)) for group in message.events],
    )


def _short_url(url: str | None) -> str:
    """Host and path: the query string is mostly UTM parameters the campaign already names."""
    if not url:
        return ""
    parts = urlsplit(url)
    return _short(f"{parts.netloc}{parts.path}".rstrip("/") or url)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _newest(session: Session, model: Any, contact_id: int, at: Any, limit: int) -> list[Any]:
    return list(
        session.scalars(
            select(model)
            .where(model.contact_id == contact_id)
            .order_by(at.desc(), model.id.desc())
            .limit(limit)
        )
    )


def _change(line: HistoryLine) -> TimelineItem:
    return TimelineItem("change", line.at, line, line.actor)


def _name(names: Mapping[int, str], user_id: int | None) -> str | None:
    return names.get(user_id) if user_id is not None else None


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= MAX_VALUE else f"{text[: MAX_VALUE - 1]}…"
