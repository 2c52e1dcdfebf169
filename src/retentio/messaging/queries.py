"""Reads of the messaging domain, batched for the sender: who may be sent to (the same rule as
`consent.service.reachable`, for many contacts in three queries) and what each contact was
sent recently (for the frequency cap)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, ConsentState, Purpose, Suppression
from retentio.messaging.models import (
    EventKind,
    Message,
    MessageEvent,
    MessageState,
    SendingAccount,
)

# States in which a message has (or may have) reached the contact.
DELIVERED_OR_MAYBE = (MessageState.SENDING, MessageState.SENT, MessageState.UNKNOWN)


def consent_states(
    session: Session, contact_ids: Collection[int], channel: Channel, purpose: Purpose
) -> dict[int, bool]:
    if not contact_ids:
        return {}
    rows = session.execute(
        select(ConsentState.contact_id, ConsentState.granted).where(
            ConsentState.contact_id.in_(contact_ids),
            ConsentState.channel == channel,
            ConsentState.purpose == purpose,
        )
    )
    return {contact_id: bool(granted) for contact_id, granted in rows}


def suppressed(session: Session, channel: Channel, addresses: Collection[str]) -> set[str]:
    if not addresses:
        return set()
    return set(
        session.scalars(
            select(Suppression.address).where(
                Suppression.channel == channel, Suppression.address.in_(addresses)
            )
        )
    )


def recent_marketing(
    session: Session, contact_ids: Collection[int], since: datetime
) -> dict[int, list[datetime]]:
    """When each contact's marketing messages since `since` were claimed for sending."""
    found: dict[int, list[datetime]] = defaultdict(list)
    if not contact_ids:
        return found
    rows = session.execute(
        select(Message.contact_id, Message.claimed_at).where(
            Message.contact_id.in_(contact_ids),
            Message.purpose == Purpose.MARKETING,
            Message.state.in_(DELIVERED_OR_MAYBE),
            Message.claimed_at >= since,
        )
    )
    for contact_id, claimed_at in rows:
        if claimed_at is not None:
            found[contact_id].append(claimed_at)
    return found


def message_by_key(
    session: Session, source_kind: str, source_id: int, step: str, contact_id: int, occurrence: str
) -> Message | None:
    return session.scalar(
        select(Message).where(
            Message.source_kind == source_kind,
            Message.source_id == source_id,
            Message.step == step,
            Message.contact_id == contact_id,
            Message.occurrence == occurrence,
        )
    )


def events_of(session: Session, message_id: int) -> list[tuple[EventKind, str | None]]:
    rows = session.execute(
        select(MessageEvent.kind, MessageEvent.url)
        .where(MessageEvent.message_id == message_id)
        .order_by(MessageEvent.id)
    )
    return [(kind, url) for kind, url in rows]


@dataclass(frozen=True)
class SourceStats:
    """A source's (campaign's, journey step's) messages by state, and how many distinct
    messages had each kind of event: unique opens, unique clicks, unsubscribes, bounces."""

    states: dict[MessageState, int] = field(default_factory=dict)
    unique: dict[EventKind, int] = field(default_factory=dict)


def source_stats(session: Session, source_kind: str, source_id: int) -> SourceStats:
    of_source = (Message.source_kind == source_kind, Message.source_id == source_id)
    states = session.execute(
        select(Message.state, func.count()).where(*of_source).group_by(Message.state)
    )
    unique = session.execute(
        select(MessageEvent.kind, func.count(distinct(MessageEvent.message_id)))
        .join(Message, Message.id == MessageEvent.message_id)
        .where(*of_source)
        .group_by(MessageEvent.kind)
    )
    return SourceStats(
        states={MessageState(state): int(count) for state, count in states},
        unique={EventKind(kind): int(count) for kind, count in unique},
    )


def accounts(session: Session) -> Sequence[SendingAccount]:
    """Every sending account for the settings: archived ones last, then by name."""
    return session.scalars(
        select(SendingAccount).order_by(
            SendingAccount.archived_at.is_not(None), SendingAccount.name
        )
    ).all()
