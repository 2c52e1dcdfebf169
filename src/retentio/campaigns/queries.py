"""Reads of the campaigns domain: lists and the campaign report.

The report is a handful of grouped statements over the campaign's recipients: outbox states
and unique message events per variant, and orders in the attribution window per group
(counted for the holdout exactly as for the treated, from the campaign's start — intention to
treat, so the comparison stays that of two random halves of one audience).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Float, cast, distinct, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from retentio.analytics.sqlfunc import EpochWholeSeconds
from retentio.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignVariant,
    RecipientGroup,
)
from retentio.campaigns.service import SOURCE, variants_of
from retentio.campaigns.stats import GroupOutcome, Incremental, incremental
from retentio.commerce.models import Order, OrderStatus
from retentio.consent.models import Channel
from retentio.messaging.models import EventKind, Message, MessageEvent, MessageState

HOUR = 3600


@dataclass
class Figures:
    recipients: int = 0
    states: dict[MessageState, int] = field(default_factory=dict)
    unique: dict[EventKind, int] = field(default_factory=dict)
    conversions: int = 0
    revenue: float = 0.0
    channel: Channel = Channel.EMAIL

    def state(self, state: MessageState) -> int:
        return self.states.get(state, 0)

    @property
    def queued(self) -> int:
        waiting = (MessageState.QUEUED, MessageState.HELD, MessageState.SENDING)
        return sum(self.state(s) for s in waiting)

    @property
    def bounces(self) -> int:
        return self.unique.get(EventKind.BOUNCE_HARD, 0) + self.unique.get(EventKind.BOUNCE_SOFT, 0)

    @property
    def delivered(self) -> int:
        """E-mail: sent and not bounced back; other channels: the provider's reports."""
        if self.channel == Channel.EMAIL:
            return max(self.state(MessageState.SENT) - self.bounces, 0)
        return self.unique.get(EventKind.DELIVERED, 0)

    @property
    def click_rate(self) -> float:
        delivered = self.delivered
        return self.unique.get(EventKind.CLICK, 0) / delivered if delivered else 0.0

    def add(self, other: Figures) -> None:
        self.recipients += other.recipients
        for state, count in other.states.items():
            self.states[state] = self.states.get(state, 0) + count
        for kind, count in other.unique.items():
            self.unique[kind] = self.unique.get(kind, 0) + count
        self.conversions += other.conversions
        self.revenue += other.revenue


@dataclass(frozen=True)
class Report:
    campaign: Campaign
    variants: Sequence[CampaignVariant]
    window_ends_at: datetime | None
    total: Figures
    by_variant: dict[int, Figures]
    groups: dict[RecipientGroup, GroupOutcome]
    treated: GroupOutcome | None
    holdout: GroupOutcome | None
    incremental: Incremental | None
    timeline: list[tuple[datetime, int, int]]


def campaigns(session: Session) -> Sequence[Campaign]:
    return session.scalars(select(Campaign).order_by(Campaign.id.desc())).all()


def _messages_of(campaign_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        Message.source_kind == SOURCE,
        Message.source_id == campaign_id,
        Message.contact_id == CampaignRecipient.contact_id,
        CampaignRecipient.campaign_id == campaign_id,
    )


def _message_figures(session: Session, campaign: Campaign) -> dict[int | None, Figures]:
    figures: dict[int | None, Figures] = defaultdict(lambda: Figures(channel=campaign.channel))
    recipients = session.execute(
        select(CampaignRecipient.variant_id, func.count())
        .where(
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.group != RecipientGroup.HOLDOUT,
        )
        .group_by(CampaignRecipient.variant_id)
    )
    for variant_id, count in recipients:
        figures[variant_id].recipients = int(count)
    states = session.execute(
        select(CampaignRecipient.variant_id, Message.state, func.count())
        .where(*_messages_of(campaign.id))
        .group_by(CampaignRecipient.variant_id, Message.state)
    )
    for variant_id, state, count in states:
        figures[variant_id].states[MessageState(state)] = int(count)
    events = session.execute(
        select(
            CampaignRecipient.variant_id,
            MessageEvent.kind,
            func.count(distinct(MessageEvent.message_id)),
        )
        .join(Message, Message.id == MessageEvent.message_id)
        .where(*_messages_of(campaign.id))
        .group_by(CampaignRecipient.variant_id, MessageEvent.kind)
    )
    for variant_id, kind, count in events:
        figures[variant_id].unique[EventKind(kind)] = int(count)
    return figures


def _outcomes(
    session: Session, campaign: Campaign, start: datetime, end: datetime
) -> dict[tuple[RecipientGroup, int | None], GroupOutcome]:
    # A cancelled order is no conversion; a refund lowers the revenue but the purchase counts.
    revenue = cast(Order.total, Float) - cast(Order.refunded_total, Float)
    per_contact = (
        select(Order.contact_id, func.sum(revenue).label("revenue"))
        .where(
            Order.status != OrderStatus.CANCELLED,
            Order.placed_at >= start,
            Order.placed_at < end,
            Order.contact_id.in_(
                select(CampaignRecipient.contact_id).where(
                    CampaignRecipient.campaign_id == campaign.id
                )
            ),
        )
        .group_by(Order.contact_id)
        .subquery()
    )
    spent = func.coalesce(per_contact.c.revenue, 0.0)
    rows = session.execute(
        select(
            CampaignRecipient.group,
            CampaignRecipient.variant_id,
            func.count(),
            func.count(per_contact.c.contact_id),
            func.sum(spent),
            func.sum(spent * spent),
        )
        .outerjoin(per_contact, per_contact.c.contact_id == CampaignRecipient.contact_id)
        .where(CampaignRecipient.campaign_id == campaign.id)
        .group_by(CampaignRecipient.group, CampaignRecipient.variant_id)
    )
    return {
        (RecipientGroup(group), variant_id): GroupOutcome(
            size=int(size),
            converted=int(converted),
            revenue=float(total or 0.0),
            revenue_squares=float(squares or 0.0),
        )
        for group, variant_id, size, converted, total, squares in rows
    }


def _merge(outcomes: list[GroupOutcome]) -> GroupOutcome | None:
    if not outcomes:
        return None
    return GroupOutcome(
        size=sum(o.size for o in outcomes),
        converted=sum(o.converted for o in outcomes),
        revenue=sum(o.revenue for o in outcomes),
        revenue_squares=sum(o.revenue_squares for o in outcomes),
    )


def _timeline(session: Session, campaign: Campaign) -> list[tuple[datetime, int, int]]:
    """Opens and clicks (every hit) per hour since the start."""
    bucket = EpochWholeSeconds(MessageEvent.occurred_at) / HOUR
    rows = session.execute(
        select(bucket, MessageEvent.kind, func.count())
        .join(Message, Message.id == MessageEvent.message_id)
        .where(
            Message.source_kind == SOURCE,
            Message.source_id == campaign.id,
            MessageEvent.kind.in_((EventKind.OPEN, EventKind.CLICK)),
        )
        .group_by(bucket, MessageEvent.kind)
    )
    points: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for hour, kind, count in rows:
        points[int(hour)][0 if kind == EventKind.OPEN else 1] += int(count)
    return [
        (datetime.fromtimestamp(hour * HOUR, UTC), opens, clicks)
        for hour, (opens, clicks) in sorted(points.items())
    ]


def report(session: Session, campaign: Campaign, *, now: datetime) -> Report:
    variants = variants_of(session, campaign.id)
    per_variant = _message_figures(session, campaign)
    start = campaign.started_at
    end = start + timedelta(days=campaign.attribution_days) if start else None
    outcomes = _outcomes(session, campaign, start, min(end, now)) if start and end else {}
    for (group, variant_id), outcome in outcomes.items():
        if group != RecipientGroup.HOLDOUT:
            per_variant[variant_id].conversions += outcome.converted
            per_variant[variant_id].revenue += outcome.revenue
    total = Figures(channel=campaign.channel)
    for figures in per_variant.values():
        total.add(figures)
    groups = {
        group: merged
        for group in RecipientGroup
        if (merged := _merge([o for (g, _), o in outcomes.items() if g == group])) is not None
    }
    treated = _merge([o for (g, _), o in outcomes.items() if g != RecipientGroup.HOLDOUT])
    holdout = groups.get(RecipientGroup.HOLDOUT)
    effect = incremental(treated, holdout) if treated and holdout else None
    return Report(
        campaign=campaign,
        variants=variants,
        window_ends_at=end,
        total=total,
        by_variant={
            v.id: per_variant.get(v.id, Figures(channel=campaign.channel)) for v in variants
        },
        groups=groups,
        treated=treated,
        holdout=holdout,
        incremental=effect,
        timeline=_timeline(session, campaign),
    )
