"""What happens to a message after it left: the provider's delivery report, bounces and
complaints, and what they do to the address. The rules live here once, whoever learns of the
event (the sender's SMTP refusal, an SMS delivery report, the bounce API):

- a hard bounce suppresses the address at once;
- a soft bounce suppresses it only when it is the SOFT_BOUNCE_LIMIT-th soft bounce of that
  address within SOFT_BOUNCE_WINDOW with no sign of delivery in between;
- a complaint suppresses the address and withdraws the contact's marketing consent for the
  channel.

Each kind of event is recorded at most once per message, since providers repeat their reports;
the message row is locked first, so two copies of a report arriving together record one event.
Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, SuppressionReason
from retentio.consent.service import suppress
from retentio.contacts.models import Contact
from retentio.errors import NotFound
from retentio.messaging.channels import DeliveryReport, ReportStatus
from retentio.messaging.models import EventKind, Message, MessageEvent
from retentio.messaging.service import withdraw_marketing

# One soft bounce is a full mailbox or a server having a bad day; three, with nothing delivered
# between them, is an address that has stopped taking messages. Three is also where the large
# senders (Mailchimp, SendGrid) draw the line, so users moving from them get what they expect.
SOFT_BOUNCE_LIMIT = 3
SOFT_BOUNCE_WINDOW = timedelta(days=30)
COMPLAINT_SOURCE = "complaint"
# Proof the address took a message. E-mail has no delivery reports, but an open or a click
# could not have happened without delivery.
_DELIVERY_EVIDENCE = (EventKind.DELIVERED, EventKind.OPEN, EventKind.CLICK)

BounceType = Literal["hard", "soft", "complaint"]


def _locked(session: Session, message_id: int) -> Message:
    message = session.get(Message, message_id, with_for_update=True)
    if message is None:
        raise NotFound("There is no such message.")
    return message


def _add_once(
    session: Session, message: Message, kind: EventKind, detail: str | None, now: datetime
) -> bool:
    """The event unless the message has one of this kind already (the row is locked)."""
    seen = session.scalar(
        select(MessageEvent.id).where(
            MessageEvent.message_id == message.id, MessageEvent.kind == kind
        )
    )
    if seen is not None:
        return False
    session.add(
        MessageEvent(
            message_id=message.id,
            contact_id=message.contact_id,
            kind=kind,
            detail=detail[:2000] if detail else None,
            occurred_at=now,
        )
    )
    session.flush()
    return True


def record_delivery(
    session: Session, message_id: int, *, detail: str | None = None, now: datetime
) -> bool:
    """The provider delivered the message; False when that was known already."""
    return _add_once(session, _locked(session, message_id), EventKind.DELIVERED, detail, now)


def record_bounce(
    session: Session, message_id: int, *, hard: bool, detail: str | None, now: datetime
) -> bool:
    """A bounce of the message; suppresses its address by the rules above. False when this
    kind of bounce of this message was known already (nothing changes then)."""
    message = _locked(session, message_id)
    kind = EventKind.BOUNCE_HARD if hard else EventKind.BOUNCE_SOFT
    if not _add_once(session, message, kind, detail, now):
        return False
    if not message.address:
        return True
    if hard or _soft_bounces_in_a_row(session, message, now) >= SOFT_BOUNCE_LIMIT:
        # Repeated soft bounces get the hard-bounce reason: the address is undeliverable either
        # way, and the suppression list has no reason of its own for them.
        suppress(session, message.channel, message.address, SuppressionReason.HARD_BOUNCE)
    return True


def _soft_bounces_in_a_row(session: Session, message: Message, now: datetime) -> int:
    """Soft bounces of the message's address in the window since its last sign of delivery.

    Looked up through the contact (an indexed column of the events) and narrowed to the
    address: an address two contacts share is counted per contact, which errs on the side of
    sending.
    """
    rows = session.execute(
        select(MessageEvent.kind, MessageEvent.occurred_at, MessageEvent.message_id)
        .join(Message, Message.id == MessageEvent.message_id)
        .where(
            MessageEvent.contact_id == message.contact_id,
            MessageEvent.kind.in_((EventKind.BOUNCE_SOFT, *_DELIVERY_EVIDENCE)),
            MessageEvent.occurred_at >= now - SOFT_BOUNCE_WINDOW,
            Message.channel == message.channel,
            Message.address == message.address,
        )
    ).all()
    delivered = [at for kind, at, _ in rows if kind != EventKind.BOUNCE_SOFT]
    last = max(delivered, default=None)
    return len(
        {
            message_id
            for kind, at, message_id in rows
            if kind == EventKind.BOUNCE_SOFT and (last is None or at > last)
        }
    )


def record_complaint(
    session: Session, message_id: int, *, detail: str | None, now: datetime
) -> bool:
    """The recipient marked the message as spam: suppress the address and withdraw marketing
    consent for the channel (as an unsubscribe would, with source "complaint"). False when the
    complaint was known already."""
    message = _locked(session, message_id)
    if not _add_once(session, message, EventKind.COMPLAINT, detail, now):
        return False
    if message.address:
        suppress(session, message.channel, message.address, SuppressionReason.COMPLAINT)
    withdraw_marketing(session, message, source=COMPLAINT_SOURCE, now=now)
    return True


def message_by_provider_id(
    session: Session, provider_id: str, *, account_id: int | None = None
) -> int | None:
    """The message the provider knows by this id (of this account, when given)."""
    query = select(Message.id).where(Message.provider_message_id == provider_id)
    if account_id is not None:
        query = query.where(Message.account_id == account_id)
    return session.scalar(query.order_by(Message.id.desc()).limit(1))


def latest_email_to(session: Session, address: str) -> int | None:
    """The last e-mail claimed for this address, found through the contacts that have it (an
    indexed column), so a bounce costs no scan of the outbox."""
    owners = select(Contact.id).where(Contact.email == address)
    return session.scalar(
        select(Message.id)
        .where(
            Message.contact_id.in_(owners),
            Message.channel == Channel.EMAIL,
            Message.address == address,
        )
        .order_by(Message.claimed_at.desc(), Message.id.desc())
        .limit(1)
    )


def record_delivery_reports(
    session: Session, account_id: int, reports: Sequence[DeliveryReport], *, now: datetime
) -> int:
    """An SMS account's delivery reports, each matched to our message by the provider's id;
    reports of messages we do not know are dropped (the provider would only send them again).
    Returns how many events were recorded."""
    recorded = 0
    for report in reports:
        message_id = message_by_provider_id(session, report.provider_id, account_id=account_id)
        if message_id is None:
            continue
        if report.status == ReportStatus.DELIVERED:
            recorded += record_delivery(session, message_id, detail=report.detail, now=now)
        else:
            hard = report.status == ReportStatus.FAILED_PERMANENT
            recorded += record_bounce(session, message_id, hard=hard, detail=report.detail, now=now)
    return recorded


@dataclass(frozen=True)
class ReportedBounce:
    """One bounce or complaint as an e-mail provider reports it: our message by its RFC
    Message-ID, or else the address (its latest message)."""

    type: BounceType
    message_id: str | None = None
    email: str | None = None
    detail: str = ""
    occurred_at: datetime | None = None


@dataclass
class BatchResult:
    recorded: int = 0
    duplicates: int = 0
    # (index in the batch, why it matched no message)
    unknown: list[tuple[int, str]] = field(default_factory=list)


def _resolve(session: Session, item: ReportedBounce) -> int | None:
    if item.message_id:
        found = item.message_id.strip()
        # Providers quote the Message-ID with or without its angle brackets; we store them.
        bracketed = found if found.startswith("<") else f"<{found}>"
        message_id = message_by_provider_id(session, bracketed)
        if message_id is not None:
            return message_id
    return latest_email_to(session, item.email) if item.email else None


def record_reported(
    session: Session, items: Sequence[ReportedBounce], *, now: datetime
) -> BatchResult:
    """A provider's batch: each item recorded on its message, or reported back as unknown."""
    result = BatchResult()
    for index, item in enumerate(items):
        message_id = _resolve(session, item)
        if message_id is None:
            reason = "unknown_message_id" if item.message_id else "unknown_address"
            result.unknown.append((index, reason))
            continue
        at = item.occurred_at or now
        if item.type == "complaint":
            recorded = record_complaint(session, message_id, detail=item.detail, now=at)
        else:
            recorded = record_bounce(
                session, message_id, hard=item.type == "hard", detail=item.detail, now=at
            )
        if recorded:
            result.recorded += 1
        else:
            result.duplicates += 1
    return result
