"""Writes of the campaigns domain: create and edit a draft, schedule it, start it (the audience
drawn and queued in the outbox), pick the A/B winner, pause, resume, cancel, finish.

The outbox guards every message (one per campaign and contact, ADR 0012); the campaign's own
state moves only forward, each move guarded by the state it starts from, so a task that runs
twice does nothing the second time. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.campaigns import audience
from retentio.campaigns.models import (
    AbMetric,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    CampaignVariant,
    RecipientGroup,
)
from retentio.campaigns.schemas import CampaignIn, ContentIn, VariantIn
from retentio.contacts.models import Contact
from retentio.errors import Conflict, InvalidInput, NotFound
from retentio.kit.upsert import insert_ignoring
from retentio.messaging import service as messaging
from retentio.messaging.models import (
    EventKind,
    Message,
    MessageEvent,
    MessageState,
    SendingAccount,
    SkipReason,
    Topic,
)
from retentio.messaging.policy import SendPolicy
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.segments import service as segments
from retentio.segments.models import Segment, SegmentKind

SOURCE = "campaign"
STEP = "main"
EDITABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
CHUNK = 5_000


def get(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    statement = select(Campaign).where(Campaign.id == campaign_id)
    campaign = session.scalar(statement.with_for_update() if lock else statement)
    if campaign is None:
        raise NotFound("There is no such campaign.")
    return campaign


def variants_of(session: Session, campaign_id: int) -> Sequence[CampaignVariant]:
    return session.scalars(
        select(CampaignVariant)
        .where(CampaignVariant.campaign_id == campaign_id)
        .order_by(CampaignVariant.id)
    ).all()


def _check(session: Session, data: CampaignIn) -> None:
    account = session.get(SendingAccount, data.account_id)
    if account is None or account.archived_at is not None:
        raise InvalidInput("There is no such sending account.", details={"field": "account_id"})
    if account.channel != data.channel:
        raise InvalidInput(
            f"The account sends {account.channel.value}, the campaign is {data.channel.value}.",
            details={"field": "account_id"},
        )
    for field, segment_id in [("segment_id", data.segment_id)] + [
        (f"exclude_segment_ids[{i}]", s) for i, s in enumerate(data.exclude_segment_ids)
    ]:
        segment = session.get(Segment, segment_id)
        if segment is None or segment.archived_at is not None:
            raise InvalidInput("There is no such segment.", details={"field": field})
    if data.segment_id in data.exclude_segment_ids:
        raise InvalidInput(
            "The audience segment cannot also be excluded.",
            details={"field": "exclude_segment_ids"},
        )
    if data.topic_id is not None and session.get(Topic, data.topic_id) is None:
        raise InvalidInput("There is no such topic.", details={"field": "topic_id"})
    if data.ab_test_share is not None and len(data.variants) < 2:
        raise InvalidInput("An A/B test needs two variants or more.", details={"field": "variants"})
    labels = [v.label for v in data.variants]
    if len(set(labels)) != len(labels):
        raise InvalidInput("Variant labels must differ.", details={"field": "variants"})


def _content(session: Session, content: ContentIn, field: str, utm: dict[str, str]) -> int:
    if not (content.html or content.text):
        raise InvalidInput("A message needs a text or an HTML body.", details={"field": field})
    try:
        row = messaging.create_content(
            session,
            subject=content.subject,
            preheader=content.preheader,
            html=content.html,
            text=content.text,
            utm=utm,
        )
    except InvalidInput as error:
        part = (error.details or {}).get("field", "")
        raise InvalidInput(error.message, details={"field": f"{field}.{part}"}) from error
    return row.id


def _utm(campaign: Campaign) -> dict[str, str]:
    """The campaign's UTM tags over defaults that name it, so shop analytics can tell it apart."""
    defaults = {
        "utm_source": "retentio",
        "utm_medium": campaign.channel.value,
        "utm_campaign": f"campaign-{campaign.id}",
    }
    return defaults | (campaign.utm or {})


def _variant(session: Session, campaign: Campaign, index: int, data: VariantIn) -> CampaignVariant:
    path, utm = f"variants[{index}]", _utm(campaign)
    variant = CampaignVariant(
        campaign_id=campaign.id,
        label=data.label,
        weight=data.weight,
        content_id=_content(session, data.content, f"{path}.content", utm),
        locale_content_ids={
            lang.lower(): _content(session, content, f"{path}.locales.{lang}", utm)
            for lang, content in data.locales.items()
        },
    )
    session.add(variant)
    return variant


def _apply(campaign: Campaign, data: CampaignIn) -> None:
    for name in (
        "name",
        "channel",
        "purpose",
        "account_id",
        "topic_id",
        "segment_id",
        "exclude_segment_ids",
        "holdout_share",
        "ab_test_share",
        "ab_wait_hours",
        "ab_metric",
        "local_time",
        "per_hour",
        "attribution_days",
        "utm",
    ):
        setattr(campaign, name, getattr(data, name))


def create_campaign(session: Session, data: CampaignIn, *, user: User | None) -> Campaign:
    _check(session, data)
    campaign = Campaign(status=CampaignStatus.DRAFT, created_by_id=user.id if user else None)
    _apply(campaign, data)
    session.add(campaign)
    session.flush()
    for index, variant in enumerate(data.variants):
        _variant(session, campaign, index, variant)
    session.flush()
    return campaign


def update_campaign(session: Session, campaign_id: int, data: CampaignIn) -> Campaign:
    """A draft or a scheduled campaign, replaced as a whole (variants too)."""
    campaign = get(session, campaign_id, lock=True)
    if campaign.status not in EDITABLE:
        raise Conflict("Only a draft or a scheduled campaign can be edited.")
    _check(session, data)
    _apply(campaign, data)
    for old in variants_of(session, campaign_id):
        session.delete(old)
    session.flush()
    for index, variant in enumerate(data.variants):
        _variant(session, campaign, index, variant)
    session.flush()
    return campaign


def schedule(session: Session, campaign_id: int, *, at: datetime | None, now: datetime) -> Campaign:
    """Draft → scheduled, for `at` or now; the worker starts it when it is due."""
    campaign = get(session, campaign_id, lock=True)
    if campaign.status not in EDITABLE:
        raise Conflict("The campaign has started already.")
    if at is not None and at.tzinfo is None:
        raise InvalidInput("The time needs a time zone.", details={"field": "at"})
    campaign.status = CampaignStatus.SCHEDULED
    campaign.scheduled_at = max(at, now) if at else now
    session.flush()
    return campaign


def unschedule(session: Session, campaign_id: int) -> Campaign:
    campaign = get(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.SCHEDULED:
        raise Conflict("Only a scheduled campaign can go back to draft.")
    campaign.status, campaign.scheduled_at = CampaignStatus.DRAFT, None
    session.flush()
    return campaign


def start(
    session: Session, campaign_id: int, *, now: datetime, policy: SendPolicy | None = None
) -> bool:
    """Scheduled and due → sending: draw the audience, record the groups, queue the messages.
    False when there was nothing to start (not scheduled, not due, started by another run)."""
    campaign = get(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.SCHEDULED or (campaign.scheduled_at or now) > now:
        return False
    segment = session.get(Segment, campaign.segment_id)
    if segment is not None and segment.kind == SegmentKind.DYNAMIC:
        segments.refresh_segment(session, segment.id, now=now)  # the audience as of now
    variants = variants_of(session, campaign.id)
    assignments = audience.assign(campaign, variants, audience.audience_ids(session, campaign))
    rows = [
        {
            "campaign_id": campaign.id,
            "contact_id": a.contact_id,
            "group": a.group,
            "variant_id": a.variant_id,
            "queued": False,
        }
        for a in assignments
    ]
    table = CampaignRecipient.__table__
    for begin in range(0, len(rows), CHUNK):
        session.execute(insert_ignoring(session, table), rows[begin : begin + CHUNK])  # type: ignore[arg-type]
    campaign.status, campaign.started_at = CampaignStatus.SENDING, now
    if campaign.ab_test_share is not None:
        campaign.test_ends_at = now + timedelta(hours=campaign.ab_wait_hours)
    session.flush()
    queue_ready(session, campaign, variants, now=now, policy=policy or SendPolicy())
    return True


def queue_ready(
    session: Session,
    campaign: Campaign,
    variants: Sequence[CampaignVariant],
    *,
    now: datetime,
    policy: SendPolicy,
) -> int:
    """Outbox rows for every recipient with a variant and no message yet; returns how many."""
    by_id = {v.id: v for v in variants}
    already = session.scalar(
        select(func.count()).where(
            CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.queued.is_(True)
        )
    )
    slot = int(already or 0)
    at = audience.parse_local_time(campaign.local_time) if campaign.local_time else None
    queued, last_id = 0, 0
    while True:
        batch = session.execute(
            select(CampaignRecipient.contact_id, CampaignRecipient.variant_id, Contact.timezone)
            .add_columns(Contact.language)
            .join(Contact, Contact.id == CampaignRecipient.contact_id)
            .where(
                CampaignRecipient.campaign_id == campaign.id,
                CampaignRecipient.contact_id > last_id,
                CampaignRecipient.queued.is_(False),
                CampaignRecipient.variant_id.is_not(None),
            )
            .order_by(CampaignRecipient.contact_id)
            .limit(CHUNK)
        ).all()
        if not batch:
            return queued
        messages = []
        for contact_id, variant_id, timezone, language in batch:
            not_before = now
            if campaign.per_hour:
                not_before += timedelta(hours=slot / campaign.per_hour)
            if at is not None:
                local = audience.next_local(now, at, timezone, policy.default_timezone)
                not_before = max(not_before, local)
            slot += 1
            messages.append(_message(campaign, by_id[variant_id], contact_id, language, not_before))
        messaging.enqueue_many(session, messages, now=now)
        _mark_queued(session, campaign.id, [row[0] for row in batch])
        queued, last_id = queued + len(batch), batch[-1][0]


def content_for(variant: CampaignVariant, language: str | None) -> int:
    """The variant's content in the contact's language ("ru-RU" finds "ru"), else its default."""
    if not language:
        return variant.content_id
    code = language.lower().split("-")[0]
    return variant.locale_content_ids.get(code, variant.content_id)


def _message(
    campaign: Campaign,
    variant: CampaignVariant,
    contact_id: int,
    language: str | None,
    not_before: datetime,
) -> NewMessage:
    return NewMessage(
        key=OutboxKey(SOURCE, campaign.id, STEP, contact_id),
        account_id=campaign.account_id,
        content_id=content_for(variant, language),
        purpose=campaign.purpose,
        channel=campaign.channel,
        topic_id=campaign.topic_id,
        not_before=not_before,
        variables={"campaign": {"id": campaign.id, "name": campaign.name}},
    )


def _mark_queued(session: Session, campaign_id: int, contact_ids: Iterable[int]) -> None:
    session.execute(
        update(CampaignRecipient)
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.contact_id.in_(list(contact_ids)),
        )
        .values(queued=True)
        .execution_options(synchronize_session=False)
    )


def variant_scores(session: Session, campaign: Campaign) -> dict[int, tuple[int, int]]:
    """Per test variant: (messages sent, distinct messages opened or clicked — the metric)."""
    kind = EventKind.OPEN if campaign.ab_metric == AbMetric.OPENS else EventKind.CLICK
    of_test = (
        CampaignRecipient.campaign_id == campaign.id,
        CampaignRecipient.group == RecipientGroup.TEST,
    )
    joined = select(CampaignRecipient.variant_id).join(
        Message,
        (Message.source_kind == SOURCE)
        & (Message.source_id == campaign.id)
        & (Message.contact_id == CampaignRecipient.contact_id),
    )
    sent = session.execute(
        joined.add_columns(func.count())
        .where(*of_test, Message.state == MessageState.SENT)
        .group_by(CampaignRecipient.variant_id)
    )
    hits = session.execute(
        joined.join(MessageEvent, MessageEvent.message_id == Message.id)
        .add_columns(func.count(func.distinct(MessageEvent.message_id)))
        .where(*of_test, MessageEvent.kind == kind)
        .group_by(CampaignRecipient.variant_id)
    )
    scores = {int(v): (int(n), 0) for v, n in sent}
    for variant_id, count in hits:
        scores[int(variant_id)] = (scores.get(int(variant_id), (0, 0))[0], int(count))
    return scores


def pick_winner(
    session: Session, campaign_id: int, *, now: datetime, policy: SendPolicy | None = None
) -> int | None:
    """After the test period: the variant with the best rate wins (ties: the first) and the
    main group is queued with it. None when it is not time, or done already."""
    campaign = get(session, campaign_id, lock=True)
    ends = campaign.test_ends_at
    if campaign.status != CampaignStatus.SENDING or campaign.winner_variant_id or ends is None:
        return None
    if ends > now:
        return None
    variants = variants_of(session, campaign.id)
    scores = variant_scores(session, campaign)

    def rate(variant: CampaignVariant) -> float:
        sent, hits = scores.get(variant.id, (0, 0))
        return hits / sent if sent else 0.0

    winner = max(variants, key=lambda v: (rate(v), -v.id))
    campaign.winner_variant_id = winner.id
    session.execute(
        update(CampaignRecipient)
        .where(
            CampaignRecipient.campaign_id == campaign.id,
            CampaignRecipient.group == RecipientGroup.MAIN,
            CampaignRecipient.variant_id.is_(None),
        )
        .values(variant_id=winner.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    queue_ready(session, campaign, variants, now=now, policy=policy or SendPolicy())
    return winner.id


def _move_messages(
    session: Session,
    campaign_id: int,
    source: tuple[MessageState, ...],
    target: MessageState,
    now: datetime,
) -> int:
    values: dict[str, object] = {"state": target}
    if target == MessageState.SKIPPED:
        values |= {"skip_reason": SkipReason.CANCELLED, "finished_at": now}
    result = session.execute(
        update(Message)
        .where(
            Message.source_kind == SOURCE,
            Message.source_id == campaign_id,
            Message.state.in_(source),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def pause(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Queued messages are held; those the sender has claimed already still go out."""
    campaign = get(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.SENDING:
        raise Conflict("Only a sending campaign can be paused.")
    campaign.status, campaign.paused_at = CampaignStatus.PAUSED, now
    _move_messages(session, campaign_id, (MessageState.QUEUED,), MessageState.HELD, now)
    session.flush()
    return campaign


def resume(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    campaign = get(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.PAUSED:
        raise Conflict("Only a paused campaign can be resumed.")
    campaign.status, campaign.paused_at = CampaignStatus.SENDING, None
    _move_messages(session, campaign_id, (MessageState.HELD,), MessageState.QUEUED, now)
    session.flush()
    return campaign


def cancel(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    """Whatever has not gone out yet never will: queued and held messages are skipped."""
    campaign = get(session, campaign_id, lock=True)
    if campaign.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED):
        raise Conflict("The campaign has finished already.")
    campaign.status, campaign.finished_at = CampaignStatus.CANCELLED, now
    waiting = (MessageState.QUEUED, MessageState.HELD)
    _move_messages(session, campaign_id, waiting, MessageState.SKIPPED, now)
    session.flush()
    return campaign


def finish_if_done(session: Session, campaign_id: int, *, now: datetime) -> bool:
    """Sending → done once no message is waiting and no A/B winner is still to come."""
    campaign = get(session, campaign_id, lock=True)
    if campaign.status != CampaignStatus.SENDING:
        return False
    if campaign.ab_test_share is not None and campaign.winner_variant_id is None:
        return False
    waiting = session.scalar(
        select(func.count()).where(
            Message.source_kind == SOURCE,
            Message.source_id == campaign_id,
            Message.state.in_((MessageState.QUEUED, MessageState.SENDING, MessageState.HELD)),
        )
    )
    if waiting:
        return False
    campaign.status, campaign.finished_at = CampaignStatus.DONE, now
    session.flush()
    return True


def due_work(session: Session, *, now: datetime) -> tuple[list[int], list[int], list[int]]:
    """Campaigns to start, to pick a winner for, and to check for the end."""
    to_start = session.scalars(
        select(Campaign.id).where(
            Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= now
        )
    ).all()
    to_pick = session.scalars(
        select(Campaign.id).where(
            Campaign.status == CampaignStatus.SENDING,
            Campaign.winner_variant_id.is_(None),
            Campaign.test_ends_at <= now,
        )
    ).all()
    sending = session.scalars(
        select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING)
    ).all()
    return list(to_start), list(to_pick), list(sending)
