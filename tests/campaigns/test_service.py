"""Campaign life cycle through the real services: the audience drawn with its holdout, A/B
test and winner, local send time and throttle, locale variants, pause / resume / cancel, end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from retentio.campaigns import queries, service
from retentio.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    RecipientGroup,
)
from retentio.campaigns.schemas import ContentIn, VariantIn
from retentio.consent.models import Channel
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.errors import Conflict, InvalidInput
from retentio.messaging.models import (
    EventKind,
    Message,
    MessageEvent,
    MessageState,
    SkipReason,
)
from retentio.messaging.policy import SendPolicy
from tests.campaigns.conftest import START, Shop, campaign_in


def _create(shop: Shop, **overrides: Any) -> int:
    account = overrides.pop("account_id", None) or shop.account()
    segment = overrides.pop("segment_id", None)
    with session_scope(shop.url) as session:
        data = campaign_in(account, segment, **overrides)
        return service.create_campaign(session, data, user=None).id


def _start(shop: Shop, campaign_id: int, *, now: Any = START, policy: Any = None) -> bool:
    with session_scope(shop.url) as session:
        service.schedule(session, campaign_id, at=None, now=now)
    with session_scope(shop.url) as session:
        return service.start(session, campaign_id, now=now, policy=policy)


def _groups(shop: Shop, campaign_id: int) -> dict[RecipientGroup, int]:
    with session_scope(shop.url) as session:
        rows = session.execute(
            select(CampaignRecipient.group, func.count())
            .where(CampaignRecipient.campaign_id == campaign_id)
            .group_by(CampaignRecipient.group)
        )
        return {RecipientGroup(g): int(n) for g, n in rows}


def _states(shop: Shop, campaign_id: int) -> dict[MessageState, int]:
    with session_scope(shop.url) as session:
        rows = session.execute(
            select(Message.state, func.count())
            .where(Message.source_kind == "campaign", Message.source_id == campaign_id)
            .group_by(Message.state)
        )
        return {MessageState(s): int(n) for s, n in rows}


def test_starting_draws_the_holdout_and_queues_one_message_per_treated_contact(
    shop: Shop,
) -> None:
    # given 200 contacts in a segment and a campaign holding out 10 %
    segment = shop.segment(shop.contacts(200))
    campaign_id = _create(shop, segment_id=segment, holdout_share=0.1)
    # when it starts
    assert _start(shop, campaign_id) is True
    # then 20 are held out, 180 get a queued message, and a second start does nothing
    assert _groups(shop, campaign_id) == {RecipientGroup.HOLDOUT: 20, RecipientGroup.MAIN: 180}
    assert _states(shop, campaign_id) == {MessageState.QUEUED: 180}
    with session_scope(shop.url) as session:
        assert service.start(session, campaign_id, now=START) is False
        held_out = select(CampaignRecipient.contact_id).where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.group == RecipientGroup.HOLDOUT,
        )
        sent_to_holdout = session.scalar(
            select(func.count()).where(
                Message.source_id == campaign_id, Message.contact_id.in_(held_out)
            )
        )
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.status == CampaignStatus.SENDING
    assert sent_to_holdout == 0
    assert _states(shop, campaign_id) == {MessageState.QUEUED: 180}


def test_the_holdout_draw_is_random_but_reproducible(shop: Shop) -> None:
    ids = shop.contacts(100)
    segment = shop.segment(ids)
    first, second = _create(shop, segment_id=segment), _create(shop, segment_id=segment)
    _start(shop, first)
    _start(shop, second)
    with session_scope(shop.url) as session:

        def holdout(campaign_id: int) -> set[int]:
            return set(
                session.scalars(
                    select(CampaignRecipient.contact_id).where(
                        CampaignRecipient.campaign_id == campaign_id,
                        CampaignRecipient.group == RecipientGroup.HOLDOUT,
                    )
                )
            )

        one, two = holdout(first), holdout(second)
    # two campaigns draw different holdouts of the same size, not the lowest ids
    assert len(one) == len(two) == 10
    assert one != two
    assert one != set(sorted(ids)[:10])


def test_excluded_segments_and_gone_contacts_are_not_in_the_audience(shop: Shop) -> None:
    ids = shop.contacts(30)
    everyone, vip = shop.segment(ids), shop.segment(ids[:10], name="VIP")
    with session_scope(shop.url) as session:
        session.execute(update(Contact).where(Contact.id == ids[10]).values(deleted_at=START))
    campaign_id = _create(shop, segment_id=everyone, holdout_share=0.0, exclude_segment_ids=[vip])
    _start(shop, campaign_id)
    with session_scope(shop.url) as session:
        audience = set(
            session.scalars(
                select(CampaignRecipient.contact_id).where(
                    CampaignRecipient.campaign_id == campaign_id
                )
            )
        )
    assert audience == set(ids[11:])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"segment_id": 999_999}, "segment_id"),
        ({"exclude_segment_ids": [999_999]}, "exclude_segment_ids[0]"),
        ({"ab_test_share": 0.2}, "variants"),
        (
            {"variants": [VariantIn(label="A", content=ContentIn(subject="Пусто"))]},
            "variants[0].content",
        ),
        (
            {"variants": [VariantIn(label="A", content=ContentIn(text="{{ oops"))]},
            "variants[0].content.text",
        ),
        ({"topic_id": 999_999}, "topic_id"),
    ],
)
def test_an_invalid_campaign_is_refused_naming_the_field(
    shop: Shop, overrides: dict[str, Any], field: str
) -> None:
    segment = shop.segment(shop.contacts(1))
    overrides.setdefault("segment_id", segment)
    with pytest.raises(InvalidInput) as refused:
        _create(shop, **overrides)
    assert refused.value.details == {"field": field}


def test_an_account_of_another_channel_is_refused(shop: Shop) -> None:
    segment = shop.segment(shop.contacts(1))
    sms = shop.account(Channel.SMS)
    with pytest.raises(InvalidInput) as refused:
        _create(shop, segment_id=segment, account_id=sms)
    assert refused.value.details == {"field": "account_id"}


def test_local_time_and_throttle_set_each_messages_earliest_send(shop: Shop) -> None:
    # given a Moscow and a Vladivostok contact, and a campaign for 10:00 local, 1 per hour
    moscow = shop.contacts(1, timezone="Europe/Moscow")[0]
    vladivostok = shop.contacts(1, timezone="Asia/Vladivostok")[0]
    segment = shop.segment([moscow, vladivostok])
    campaign_id = _create(
        shop, segment_id=segment, holdout_share=0.0, local_time="10:00", per_hour=1
    )
    # when it starts on Monday 12:00 UTC (15:00 in Moscow, 22:00 in Vladivostok)
    _start(shop, campaign_id)
    with session_scope(shop.url) as session:
        due = dict(
            session.execute(
                select(Message.contact_id, Message.next_attempt_at).where(
                    Message.source_id == campaign_id
                )
            ).all()
        )
    # then each waits for Tuesday 10:00 on their own clock (07:00 and 00:00 UTC)
    assert due[moscow] == START.replace(day=3, hour=7)
    assert due[vladivostok] == START.replace(day=3, hour=0)


def test_throttle_spreads_the_messages_over_hours(shop: Shop) -> None:
    segment = shop.segment(shop.contacts(4))
    campaign_id = _create(shop, segment_id=segment, holdout_share=0.0, per_hour=2)
    _start(shop, campaign_id)
    with session_scope(shop.url) as session:
        due = sorted(
            session.scalars(select(Message.next_attempt_at).where(Message.source_id == campaign_id))
        )
    assert due == [START + timedelta(minutes=30 * i) for i in range(4)]


def test_contacts_get_the_variant_in_their_language(shop: Shop) -> None:
    russian, english = shop.contacts(1, language="ru")[0], shop.contacts(1, language="en-GB")[0]
    segment = shop.segment([russian, english])
    variant = VariantIn(
        label="A",
        content=ContentIn(subject="Весна", text="Скидки"),
        locales={"en": ContentIn(subject="Spring", text="Sale")},
    )
    campaign_id = _create(shop, segment_id=segment, holdout_share=0.0, variants=[variant])
    _start(shop, campaign_id)
    with session_scope(shop.url) as session:
        variants = service.variants_of(session, campaign_id)
        content = dict(
            session.execute(
                select(Message.contact_id, Message.content_id).where(
                    Message.source_id == campaign_id
                )
            ).all()
        )
    assert content[russian] == variants[0].content_id
    assert content[english] == variants[0].locale_content_ids["en"]


def _ab_campaign(shop: Shop, n: int) -> int:
    segment = shop.segment(shop.contacts(n))
    variants = [
        VariantIn(label=label, content=ContentIn(subject=label, text=label)) for label in "AB"
    ]
    return _create(
        shop,
        segment_id=segment,
        holdout_share=0.0,
        ab_test_share=0.4,
        ab_wait_hours=2,
        variants=variants,
    )


def _click(shop: Shop, campaign_id: int, variant_label: str, clicks: int) -> None:
    """Mark the test messages sent, and `clicks` of this variant's clicked."""
    with session_scope(shop.url) as session:
        session.execute(
            update(Message).where(Message.source_id == campaign_id).values(state=MessageState.SENT)
        )
        variant = next(
            v for v in service.variants_of(session, campaign_id) if v.label == variant_label
        )
        rows = session.execute(
            select(Message.id, Message.contact_id)
            .join(CampaignRecipient, CampaignRecipient.contact_id == Message.contact_id)
            .where(
                Message.source_id == campaign_id,
                CampaignRecipient.campaign_id == campaign_id,
                CampaignRecipient.variant_id == variant.id,
            )
            .limit(clicks)
        ).all()
        for message_id, contact_id in rows:
            for _ in range(2):  # two clicks of one message count once
                session.add(
                    MessageEvent(
                        message_id=message_id,
                        contact_id=contact_id,
                        kind=EventKind.CLICK,
                        occurred_at=START,
                    )
                )


def test_the_ab_test_goes_to_its_share_and_the_better_variant_goes_to_the_rest(
    shop: Shop,
) -> None:
    # given 100 contacts, 40 % test A against B
    campaign_id = _ab_campaign(shop, 100)
    _start(shop, campaign_id)
    assert _groups(shop, campaign_id) == {RecipientGroup.TEST: 40, RecipientGroup.MAIN: 60}
    assert _states(shop, campaign_id) == {MessageState.QUEUED: 40}
    # and B's messages get more clicks than A's
    _click(shop, campaign_id, "A", 2)
    _click(shop, campaign_id, "B", 5)
    # when the test period has not ended, nothing is picked
    with session_scope(shop.url) as session:
        assert service.pick_winner(session, campaign_id, now=START + timedelta(hours=1)) is None
    # when it has
    with session_scope(shop.url) as session:
        winner = service.pick_winner(session, campaign_id, now=START + timedelta(hours=2))
        b = next(v for v in service.variants_of(session, campaign_id) if v.label == "B")
    # then B wins and the other 60 are queued with B's content
    assert winner == b.id
    assert _states(shop, campaign_id) == {MessageState.SENT: 40, MessageState.QUEUED: 60}
    with session_scope(shop.url) as session:
        main_contents = set(
            session.scalars(
                select(Message.content_id).where(
                    Message.source_id == campaign_id, Message.state == MessageState.QUEUED
                )
            )
        )
        assert service.pick_winner(session, campaign_id, now=START + timedelta(hours=3)) is None
    assert main_contents == {b.content_id}


def test_pause_holds_resume_releases_and_cancel_skips_what_is_left(shop: Shop) -> None:
    segment = shop.segment(shop.contacts(10))
    campaign_id = _create(shop, segment_id=segment, holdout_share=0.0)
    _start(shop, campaign_id)
    with session_scope(shop.url) as session:
        first = session.scalars(select(Message).where(Message.source_id == campaign_id)).first()
        assert first is not None
        first.state = MessageState.SENT
    with session_scope(shop.url) as session:
        service.pause(session, campaign_id, now=START)
    assert _states(shop, campaign_id) == {MessageState.SENT: 1, MessageState.HELD: 9}
    with session_scope(shop.url) as session, pytest.raises(Conflict):
        service.pause(session, campaign_id, now=START)
    with session_scope(shop.url) as session:
        service.resume(session, campaign_id, now=START)
    assert _states(shop, campaign_id) == {MessageState.SENT: 1, MessageState.QUEUED: 9}
    with session_scope(shop.url) as session:
        service.cancel(session, campaign_id, now=START)
    assert _states(shop, campaign_id) == {MessageState.SENT: 1, MessageState.SKIPPED: 9}
    with session_scope(shop.url) as session:
        reasons = set(
            session.scalars(
                select(Message.skip_reason).where(Message.state == MessageState.SKIPPED)
            )
        )
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.status == CampaignStatus.CANCELLED
    assert reasons == {SkipReason.CANCELLED}


def test_a_campaign_is_done_when_nothing_waits(shop: Shop) -> None:
    segment = shop.segment(shop.contacts(3))
    campaign_id = _create(shop, segment_id=segment, holdout_share=0.0)
    _start(shop, campaign_id)
    with session_scope(shop.url) as session:
        assert service.finish_if_done(session, campaign_id, now=START) is False
        session.execute(
            update(Message).where(Message.source_id == campaign_id).values(state=MessageState.SENT)
        )
    with session_scope(shop.url) as session:
        assert service.finish_if_done(session, campaign_id, now=START) is True
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        assert campaign.status == CampaignStatus.DONE


def test_only_drafts_and_scheduled_campaigns_can_be_edited(shop: Shop) -> None:
    segment = shop.segment(shop.contacts(2))
    account = shop.account()
    campaign_id = _create(shop, segment_id=segment, account_id=account)
    with session_scope(shop.url) as session:
        service.update_campaign(
            session, campaign_id, campaign_in(account, segment, name="Новое имя")
        )
    _start(shop, campaign_id)
    with session_scope(shop.url) as session, pytest.raises(Conflict):
        service.update_campaign(session, campaign_id, campaign_in(account, segment))
    with session_scope(shop.url) as session:
        campaign = service.get(session, campaign_id)
        assert campaign.name == "Новое имя"
        assert queries.campaigns(session)[0].id == campaign_id


def test_a_campaign_scheduled_for_later_does_not_start_early(shop: Shop) -> None:
    segment = shop.segment(shop.contacts(2))
    campaign_id = _create(shop, segment_id=segment)
    with session_scope(shop.url) as session:
        service.schedule(session, campaign_id, at=START + timedelta(hours=5), now=START)
    with session_scope(shop.url) as session:
        assert service.start(session, campaign_id, now=START + timedelta(hours=4)) is False
        to_start, _, _ = service.due_work(session, now=START + timedelta(hours=4))
        assert campaign_id not in to_start
    with session_scope(shop.url) as session:
        assert service.start(
            session, campaign_id, now=START + timedelta(hours=5), policy=SendPolicy()
        )
