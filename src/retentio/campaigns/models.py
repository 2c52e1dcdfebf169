"""Tables of the campaigns domain: the campaign, its content variants, and its recipients —
the audience as it was when the campaign started, each in the holdout, the A/B test or the
main group (the assignment is random and recorded, so the report can compare the groups)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from retentio.consent.models import Channel, Purpose
from retentio.db import Base, UTCDateTime, enum_type, utcnow


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class AbMetric(enum.StrEnum):
    OPENS = "opens"
    CLICKS = "clicks"


class RecipientGroup(enum.StrEnum):
    HOLDOUT = "holdout"  # enrolled, never sent: the baseline of the incremental effect
    TEST = "test"  # the A/B test: each variant to a share of the audience
    MAIN = "main"  # everyone else: the single variant, or the winner after the test


class Campaign(Base):
    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_status_scheduled", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[CampaignStatus] = mapped_column(enum_type(CampaignStatus))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    purpose: Mapped[Purpose] = mapped_column(enum_type(Purpose), default=Purpose.MARKETING)
    account_id: Mapped[int] = mapped_column(ForeignKey("sending_accounts.id"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"))
    exclude_segment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    holdout_share: Mapped[float] = mapped_column(default=0.0)
    # A/B: this share of the sent audience tests the variants; the rest gets the winner.
    # None: no test, the variants split the whole sent audience by their weights.
    ab_test_share: Mapped[float | None]
    ab_wait_hours: Mapped[float] = mapped_column(default=4.0)
    ab_metric: Mapped[AbMetric] = mapped_column(enum_type(AbMetric), default=AbMetric.CLICKS)
    # No foreign key: the two tables would point at each other; variants of a started
    # campaign are never deleted, so the id stays valid.
    winner_variant_id: Mapped[int | None]
    # "HH:MM" in each contact's time zone; None: as soon as the campaign starts.
    local_time: Mapped[str | None] = mapped_column(String(5))
    # At most this many messages released per hour; None: as fast as the accounts go.
    per_hour: Mapped[int | None]
    # Orders placed this many days after the start count as the campaign's conversions.
    attribution_days: Mapped[int] = mapped_column(default=7)
    utm: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    test_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CampaignVariant(Base):
    __tablename__ = "campaign_variants"
    __table_args__ = (Index("ix_campaign_variants_campaign", "campaign_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(40))
    weight: Mapped[float] = mapped_column(default=1.0)
    content_id: Mapped[int] = mapped_column(ForeignKey("message_contents.id"))
    # Language code → content for contacts with that language ({"en": 12}).
    locale_content_ids: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class CampaignRecipient(Base):
    __tablename__ = "campaign_recipients"
    __table_args__ = (Index("ix_campaign_recipients_contact", "contact_id"),)

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    group: Mapped[RecipientGroup] = mapped_column(enum_type(RecipientGroup, length=10))
    # None for the holdout, and for the main group until the A/B winner is known.
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_variants.id"))
    queued: Mapped[bool] = mapped_column(default=False)
