"""Scenario tests of the journey policies, pausing and versions, with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime

from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from retentio.db import session_scope
from retentio.journeys import service
from retentio.journeys.models import EnrollmentState, Group
from retentio.journeys.schemas import JourneyIn
from tests.journeys.conftest import Shop, send, wait


def test_holdout_is_enrolled_and_followed_but_never_sent(shop: Shop) -> None:
    # given a journey holding out 30 %
    journey = shop.journey(
        {"kind": "api"}, [send(shop.account(), "offer")], policy={"holdout_share": 0.3}
    )
    people = shop.contacts(300)
    # when 300 enter
    for contact_id in people:
        shop.enroll(journey, contact_id, data={})
    shop.run()
    # then everyone completed; the holdout (~90 ± 4 sd of ~7.9) got nothing, the rest one each
    enrollments = shop.enrollments(journey)
    holdout = {e.contact_id for e in enrollments if e.group == Group.HOLDOUT}
    sent = {c for c, _s in shop.messages(journey)}
    assert {e.state for e in enrollments} == {EnrollmentState.COMPLETED}
    assert 58 <= len(holdout) <= 122
    assert sent == set(people) - holdout
    assert len(shop.messages(journey)) == len(sent)


def test_reentry_once(shop: Shop) -> None:
    # given a once-only journey
    journey = shop.journey(
        {"kind": "event", "event_type": "cart_add"},
        [send(shop.account(), "hi")],
        policy={"reentry": "once"},
    )
    (ann,) = shop.contacts(1)
    # when she adds to the cart on two days
    shop.event(ann, "cart_add")
    shop.run()
    shop.later(days=1)
    shop.event(ann, "cart_add")
    shop.run()
    # then she entered once
    assert shop.messages(journey) == [(ann, "hi")]


def test_reentry_always_but_never_twice_at_once(shop: Shop) -> None:
    # given a journey that lets contacts re-enter, with a two-hour wait
    journey = shop.journey(
        {"kind": "event", "event_type": "cart_add"},
        [wait("w", "hi", amount=2, unit="hours"), send(shop.account(), "hi")],
        policy={"reentry": "always"},
    )
    (ann,) = shop.contacts(1)
    # when she adds twice while inside, then again after finishing
    shop.event(ann, "cart_add")
    shop.event(ann, "cart_add")
    shop.run()
    shop.later(hours=2)
    shop.run()
    shop.event(ann, "cart_add")
    shop.run()
    # then two enrollments: the second cart while inside did not start another
    states = [e.state for e in shop.enrollments(journey)]
    assert states == [EnrollmentState.COMPLETED, EnrollmentState.ACTIVE]


def test_reentry_after_a_cooldown(shop: Shop) -> None:
    # given a 7-day cooldown
    journey = shop.journey(
        {"kind": "event", "event_type": "cart_add"},
        [send(shop.account(), "hi")],
        policy={"reentry": "cooldown", "cooldown_days": 7},
    )
    (ann,) = shop.contacts(1)
    # when she adds on day 0, day 3 and day 8
    for day in (0, 3, 5):
        shop.later(days=day)
        shop.event(ann, "cart_add")
        shop.run()
    # then she entered on day 0 and day 8 only
    assert [e.entered_at.day for e in shop.enrollments(journey)] == [2, 10]


def test_max_active_caps_concurrent_enrollments(shop: Shop) -> None:
    # given a journey allowing 3 at a time, with a wait
    journey = shop.journey(
        {"kind": "event", "event_type": "cart_add"},
        [wait("w", None, amount=1, unit="days")],
        policy={"max_active": 3},
    )
    people = shop.contacts(5)
    # when five add to the cart
    for contact_id in people:
        shop.event(contact_id, "cart_add")
    shop.run()
    # then three are inside
    assert [e.contact_id for e in shop.enrollments(journey)] == people[:3]


def test_active_hours_hold_a_send_until_they_open(shop: Shop) -> None:
    # given active hours 10:00-20:00 and a contact in Moscow entering at 22:30 local
    journey = shop.journey(
        {"kind": "api"},
        [send(shop.account(), "hi")],
        policy={"active_hours": {"start": "10:00", "end": "20:00"}},
    )
    (ann,) = shop.contacts(1, timezone="Europe/Moscow")
    shop.at(datetime(2026, 3, 2, 19, 30, tzinfo=UTC))
    shop.enroll(journey, ann, data={})
    shop.run()
    # then the send waits until 10:00 Moscow (07:00 UTC) and then goes
    (enrollment,) = shop.enrollments(journey)
    assert enrollment.next_run_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    assert shop.messages(journey) == []
    shop.at(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))
    shop.run()
    assert shop.messages(journey) == [(ann, "hi")]


def test_unsubscribe_exits(shop: Shop) -> None:
    # given a contact waiting for the second letter
    account = shop.account()
    journey = shop.journey(
        {"kind": "api"},
        [send(account, "one", "w"), wait("w", "two", amount=1, unit="days"), send(account, "two")],
    )
    (ann,) = shop.contacts(1)
    shop.enroll(journey, ann, data={})
    shop.run()
    # when she withdraws marketing consent and the day passes
    shop.later(hours=1)
    with session_scope(shop.url) as session:
        record_consent(
            session,
            ann,
            channel=Channel.EMAIL,
            purpose=Purpose.MARKETING,
            granted=False,
            source="unsubscribe",
            occurred_at=shop.now,
        )
    shop.later(days=1)
    shop.run()
    # then she left the journey after the first letter
    (enrollment,) = shop.enrollments(journey)
    assert (enrollment.state, enrollment.exit_reason) == (EnrollmentState.EXITED, "unsubscribed")
    assert shop.messages(journey) == [(ann, "one")]


def test_pause_freezes_and_resume_continues_without_past_triggers(shop: Shop) -> None:
    # given a contact waiting an hour in an event journey
    journey = shop.journey(
        {"kind": "event", "event_type": "cart_add"},
        [wait("w", "hi", amount=1, unit="hours"), send(shop.account(), "hi")],
    )
    (ann, bob) = shop.contacts(2)
    shop.event(ann, "cart_add")
    shop.run()
    # when the journey is paused for a day, Bob adds to his cart meanwhile, then it resumes
    with session_scope(shop.url) as session:
        service.pause(session, journey, now=shop.now)
    shop.event(bob, "cart_add")
    shop.later(days=1)
    frozen = shop.run()
    with session_scope(shop.url) as session:
        service.resume(session, journey, now=shop.now)
    shop.run()
    # then nothing moved while paused; afterwards Ann continues and Bob's old cart is ignored
    assert frozen.steps == 0
    assert shop.messages(journey) == [(ann, "hi")]
    assert [e.contact_id for e in shop.enrollments(journey)] == [ann]


def test_editing_a_live_journey_versions_it(shop: Shop) -> None:
    # given Ann inside version 1 (wait a day, then "old")
    account = shop.account()
    steps_v1 = [wait("w", "old", amount=1, unit="days"), send(account, "old")]
    journey = shop.journey({"kind": "api"}, steps_v1)
    (ann, bob) = shop.contacts(2)
    shop.enroll(journey, ann, data={})
    shop.run()
    # when the journey is edited to send "new" instead, and Bob enters afterwards
    steps_v2 = [wait("w", "new", amount=1, unit="days"), send(account, "new")]
    with session_scope(shop.url) as session:
        service.update_journey(
            session,
            journey,
            JourneyIn(name="Тест", trigger={"kind": "api"}, steps=steps_v2),
            now=shop.now,
        )
    shop.enroll(journey, bob, data={})
    shop.later(days=1)
    shop.run()
    # then Ann finishes on version 1 and Bob runs version 2
    assert sorted(shop.messages(journey)) == sorted([(ann, "old"), (bob, "new")])
    versions = {e.contact_id: e.version_id for e in shop.enrollments(journey)}
    assert versions[ann] != versions[bob]
