"""Tables of the messaging domain: sending accounts, message contents, the outbox (`messages`)
and what happened to each message afterwards (`message_events`).

The outbox row is the guarantee that a message goes out at most once: it is unique on
(source_kind, source_id, step, contact_id, occurrence) and is committed in state `sending`
before the channel is called, so a crash leaves `unknown`, never a second send.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from retentio.consent.models import Channel, Purpose
from retentio.db import Base, UTCDateTime, enum_type, utcnow


class AccountKind(enum.StrEnum):
    SMTP = "smtp"
    FILE = "file"  # development sink: each message written as an .eml file
    SMS_HTTP = "sms_http"  # an SMS provider's HTTP API
    TELEGRAM = "telegram"  # a Telegram bot
    WEBHOOK = "webhook"  # a generic JSON POST to an endpoint of the user's


class MessageState(enum.StrEnum):
    QUEUED = "queued"
    HELD = "held"  # its campaign is paused: not claimed until it resumes
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # was being sent when the sender died: it may or may not have left
    SKIPPED = "skipped"


class SkipReason(enum.StrEnum):
    NO_ADDRESS = "no_address"
    NO_CONSENT = "no_consent"
    SUPPRESSED = "suppressed"
    FREQUENCY_CAP = "frequency_cap"
    CONTACT_GONE = "contact_gone"  # deleted, erased or merged away
    CANCELLED = "cancelled"  # its campaign was cancelled before it went out
    TOPIC_OPT_OUT = "topic_opt_out"  # the contact turned this topic off on the preference page


class EventKind(enum.StrEnum):
    DELIVERED = "delivered"  # a provider's delivery report (SMS, messengers)
    OPEN = "open"
    CLICK = "click"
    UNSUBSCRIBE = "unsubscribe"
    BOUNCE_HARD = "bounce_hard"
    BOUNCE_SOFT = "bounce_soft"
    COMPLAINT = "complaint"


class SendingAccount(Base):
    """One way out for a channel: an SMTP server (or the file sink) with its sender identity.

    `settings` holds the transport's options: for SMTP `host`, `port`, `tls` (none, starttls,
    tls), `user`, `password`; for the file sink `directory`.
    """

    __tablename__ = "sending_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    kind: Mapped[AccountKind] = mapped_column(enum_type(AccountKind))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    from_address: Mapped[str] = mapped_column(String(300))
    from_name: Mapped[str] = mapped_column(String(200), default="")
    # Where the `mailto:` half of List-Unsubscribe points; empty leaves only the https half.
    unsubscribe_mailto: Mapped[str] = mapped_column(String(300), default="")
    dkim_domain: Mapped[str] = mapped_column(String(253), default="")
    dkim_selector: Mapped[str] = mapped_column(String(63), default="")
    dkim_private_key: Mapped[str] = mapped_column(Text, default="")
    # 0 means as fast as the server takes them.
    rate_per_second: Mapped[float] = mapped_column(default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Topic(Base):
    """What a marketing message is about ("News", "Sales", "Tips"): contacts can turn topics off
    one by one on the preference page instead of unsubscribing from everything."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TopicOptOut(Base):
    """A topic a contact turned off: a row means "off", no row means "on"."""

    __tablename__ = "topic_opt_outs"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageContent(Base):
    """Templates shared by every message of one campaign step or variant; each message renders
    them with its own contact at send time."""

    __tablename__ = "message_contents"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    preheader: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    # Added to every tracked link that does not carry the parameter already.
    utm: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id", "step", "contact_id", "occurrence"),
        # The sender's claim: due queued rows in order.
        Index("ix_messages_state_due", "state", "next_attempt_at"),
        # The frequency cap and the contact's timeline.
        Index("ix_messages_contact_claimed", "contact_id", "claimed_at"),
        # Delivery reports and bounces find their message by the provider's id.
        Index("ix_messages_provider_message_id", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(30))  # campaign, journey, test, …
    source_id: Mapped[int] = mapped_column(default=0)
    step: Mapped[str] = mapped_column(String(60), default="")
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    occurrence: Mapped[str] = mapped_column(String(60), default="")
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    purpose: Mapped[Purpose] = mapped_column(enum_type(Purpose))
    account_id: Mapped[int] = mapped_column(ForeignKey("sending_accounts.id"))
    content_id: Mapped[int] = mapped_column(ForeignKey("message_contents.id"))
    # Marketing messages may belong to a topic the contact can opt out of.
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    # Extra template variables of this one message (order number, recommended products …).
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[MessageState] = mapped_column(enum_type(MessageState))
    skip_reason: Mapped[SkipReason | None] = mapped_column(enum_type(SkipReason))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The address it went to, kept as it was then: the contact may change it later.
    address: Mapped[str | None] = mapped_column(String(300))
    # RFC 5322 Message-ID, fixed when the row is claimed, so even an `unknown` row can be
    # matched to a bounce that quotes it.
    provider_message_id: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageEvent(Base):
    """Each hit is a row (two opens are two rows); unique counts are computed in queries."""

    __tablename__ = "message_events"
    __table_args__ = (Index("ix_message_events_message", "message_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind))
    url: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
