"""Recording consent, suppressing addresses, and telling whether a contact is reachable.

Consent history is append-only; the current state is upserted beside it in the same
transaction, so "may we send?" is one primary-key lookup.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.consent.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    Purpose,
    Suppression,
    SuppressionReason,
)
from retentio.contacts.models import Contact
from retentio.kit.upsert import insert_or_ignore


def record_consent(
    session: Session,
    contact_id: int,
    *,
    channel: Channel,
    purpose: Purpose,
    granted: bool,
    source: str,
    occurred_at: datetime,
    text_version: str | None = None,
    ip: str | None = None,
    actor_id: int | None = None,
) -> ConsentEvent:
    event = ConsentEvent(
        contact_id=contact_id,
        channel=channel,
        purpose=purpose,
        granted=granted,
        source=source,
        text_version=text_version,
        ip=ip,
        actor_id=actor_id,
        occurred_at=occurred_at,
    )
    session.add(event)
    session.flush()
    state = session.get(ConsentState, (contact_id, channel, purpose), with_for_update=True)
    if state is None:
        session.add(
            ConsentState(
                contact_id=contact_id,
                channel=channel,
                purpose=purpose,
                granted=granted,
                updated_at=occurred_at,
                event_id=event.id,
            )
        )
    elif occurred_at >= state.updated_at:
        # An older record arriving late (an import of history) must not override a newer answer.
        state.granted, state.updated_at, state.event_id = granted, occurred_at, event.id
    session.flush()
    return event


def current_consent(session: Session, contact_id: int) -> dict[tuple[Channel, Purpose], bool]:
    rows = session.scalars(select(ConsentState).where(ConsentState.contact_id == contact_id))
    return {(s.channel, s.purpose): s.granted for s in rows}


def suppress(session: Session, channel: Channel, address: str, reason: SuppressionReason) -> None:
    insert_or_ignore(
        session, Suppression, {"channel": channel, "address": address, "reason": reason}
    )


def is_suppressed(session: Session, channel: Channel, address: str) -> bool:
    return (
        session.scalar(
            select(Suppression.id).where(
                Suppression.channel == channel, Suppression.address == address
            )
        )
        is not None
    )


def address_for(contact: Contact, channel: Channel) -> str | None:
    match channel:
        case Channel.EMAIL:
            return contact.email
        case Channel.SMS | Channel.PHONE:
            return contact.phone
        case Channel.MESSENGER:
            return contact.telegram


def reachable(
    session: Session, contact: Contact, *, purpose: Purpose = Purpose.MARKETING
) -> dict[Channel, bool]:
    """Per channel: a valid address, consent for the purpose, and not suppressed."""
    consent = current_consent(session, contact.id)
    result = {}
    for channel in Channel:
        address = address_for(contact, channel)
        result[channel] = bool(
            address
            and contact.erased_at is None
            and consent.get((channel, purpose), purpose == Purpose.TRANSACTIONAL)
            and not is_suppressed(session, channel, address)
        )
    return result
