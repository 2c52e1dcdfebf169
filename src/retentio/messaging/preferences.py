"""A contact's preferences, as the public preference page shows and saves them: marketing
consent per channel and the topics they turned off.

Small enough to keep its reads and writes together. Consent goes through
`consent.service.record_consent` like every other consent change (history plus current state);
a topic turned off is a `TopicOptOut` row, a topic turned on is the row's absence.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose
from retentio.consent.service import address_for, current_consent, record_consent
from retentio.contacts.models import Contact
from retentio.errors import InvalidInput, NotFound
from retentio.kit.upsert import insert_or_ignore
from retentio.messaging.models import Message, Topic, TopicOptOut

# Phone calls are made by people, not sent from the outbox: no switch on the page.
MARKETING_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.MESSENGER)
PREFERENCE_SOURCE = "preference_page"


@dataclass(frozen=True)
class ChannelPreference:
    channel: Channel
    address: str | None  # None: the contact has no address there, so nothing to switch
    granted: bool


@dataclass(frozen=True)
class TopicPreference:
    topic_id: int
    name: str
    description: str
    on: bool


@dataclass(frozen=True)
class Preferences:
    channels: list[ChannelPreference]
    topics: list[TopicPreference]


def contact_of_message(session: Session, message_id: int) -> Contact:
    """The live contact a message went to; NotFound when the message or the contact is gone
    (deleted, erased or merged away: an old link then leads nowhere)."""
    message = session.get(Message, message_id)
    contact = session.get(Contact, message.contact_id) if message else None
    if contact is None or contact.deleted_at or contact.erased_at or contact.merged_into_id:
        raise NotFound("There is no such message.")
    return contact


def list_topics(session: Session, *, archived: bool = False) -> list[Topic]:
    """Topics by name; archived ones only when asked for."""
    query = select(Topic).order_by(Topic.name, Topic.id)
    if not archived:
        query = query.where(Topic.archived_at.is_(None))
    return list(session.scalars(query))


def opted_out(session: Session, contact_id: int, topic_id: int) -> bool:
    found = session.get(TopicOptOut, (contact_id, topic_id))
    return found is not None


def opted_out_pairs(
    session: Session, contact_ids: Collection[int], topic_ids: Collection[int]
) -> set[tuple[int, int]]:
    """The (contact, topic) opt-outs among these contacts and topics, in one query."""
    if not contact_ids or not topic_ids:
        return set()
    rows = session.execute(
        select(TopicOptOut.contact_id, TopicOptOut.topic_id).where(
            TopicOptOut.contact_id.in_(contact_ids), TopicOptOut.topic_id.in_(topic_ids)
        )
    )
    return {(contact_id, topic_id) for contact_id, topic_id in rows}


def preferences_of(session: Session, contact_id: int) -> Preferences:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound("There is no such contact.")
    consent = current_consent(session, contact_id)
    channels = [
        ChannelPreference(
            channel=channel,
            address=address_for(contact, channel),
            granted=consent.get((channel, Purpose.MARKETING)) is True,
        )
        for channel in MARKETING_CHANNELS
    ]
    off = set(
        session.scalars(select(TopicOptOut.topic_id).where(TopicOptOut.contact_id == contact_id))
    )
    listed = [
        TopicPreference(topic_id=t.id, name=t.name, description=t.description, on=t.id not in off)
        for t in list_topics(session)
    ]
    return Preferences(channels=channels, topics=listed)


def save_preferences(
    session: Session,
    contact_id: int,
    *,
    channels: Mapping[Channel, bool],
    topics: Mapping[int, bool],
    now: datetime,
    ip: str | None,
) -> None:
    """Set marketing consent per channel and topics on or off; channels and topics not named
    are left alone. Consent is recorded only where the answer changes (an unchanged form saved
    twice writes no history); opt-outs are inserted or deleted idempotently."""
    unknown = set(channels) - set(MARKETING_CHANNELS)
    if unknown:
        raise InvalidInput("Only marketing channels can be chosen.", details={"field": "channels"})
    missing = set(topics) - set(session.scalars(select(Topic.id).where(Topic.id.in_(topics))))
    if missing:
        raise InvalidInput(f"There is no topic {min(missing)}.", details={"field": "topics"})
    consent = current_consent(session, contact_id)
    for channel, granted in channels.items():
        if (consent.get((channel, Purpose.MARKETING)) is True) == granted:
            continue
        record_consent(
            session,
            contact_id,
            channel=channel,
            purpose=Purpose.MARKETING,
            granted=granted,
            source=PREFERENCE_SOURCE,
            occurred_at=now,
            ip=ip,
        )
    for topic_id in sorted(t for t, on in topics.items() if not on):
        # Two saves at once (a double click) both try: the key keeps one row.
        values = {"contact_id": contact_id, "topic_id": topic_id, "created_at": now}
        insert_or_ignore(session, TopicOptOut, values)
    back_on = [t for t, on in topics.items() if on]
    if back_on:
        session.execute(
            delete(TopicOptOut).where(
                TopicOptOut.contact_id == contact_id, TopicOptOut.topic_id.in_(back_on)
            )
        )
    session.flush()
