"""Scenario tests with a frozen clock: each trigger, step and policy of the engine, run
through the real services and the worker's pass."""

from __future__ import annotations

from datetime import UTC, date, datetime

from retentio.journeys.models import EnrollmentState, Group
from tests.journeys.conftest import Shop, send, wait


def _cart(shop: Shop, account: int) -> int:
    return shop.journey(
        {"kind": "event", "event_type": "cart_add"},
        [
            wait("wait_2h", "reminder", amount=2, unit="hours"),
            send(account, "reminder"),
        ],
        goal={"kind": "order"},
    )


def test_abandoned_cart_reminds_two_hours_later(shop: Shop) -> None:
    # given an active abandoned-cart journey and a contact who adds to the cart
    account = shop.account()
    journey = _cart(shop, account)
    (anna,) = shop.contacts(1)
    shop.event(anna, "cart_add", name="Чайник")
    # when the worker runs at once, then after 1 h 59 min, then after 2 h
    shop.run()
    entered = shop.enrollments(journey)
    shop.later(hours=1, minutes=59)
    shop.run()
    early = shop.messages(journey)
    shop.later(minutes=1)
    shop.run()
    # then she is enrolled at once, waits, and gets exactly one reminder at 2 h
    assert [(e.contact_id, e.step, e.state) for e in entered] == [
        (anna, "wait_2h", EnrollmentState.ACTIVE)
    ]
    assert early == []
    assert shop.messages(journey) == [(anna, "reminder")]
    (done,) = shop.enrollments(journey)
    assert done.state == EnrollmentState.COMPLETED
    assert shop.runs(journey) == [("wait_2h", "waited"), ("reminder", "queued")]


def test_abandoned_cart_does_not_fire_when_the_order_arrives_in_time(shop: Shop) -> None:
    # given a contact in the abandoned-cart journey
    journey = _cart(shop, shop.account())
    (boris,) = shop.contacts(1)
    shop.event(boris, "cart_add")
    shop.run()
    # when he orders an hour later and the two hours pass
    shop.later(hours=1)
    shop.order(boris, total=2500)
    shop.later(hours=1)
    shop.run()
    # then no reminder goes out and the enrollment ends as a conversion
    assert shop.messages(journey) == []
    (enrollment,) = shop.enrollments(journey)
    assert (enrollment.state, enrollment.exit_reason) == (EnrollmentState.CONVERTED, "goal")
    assert enrollment.group == Group.TREATED


# --- triggers -------------------------------------------------------------------------------


def test_event_trigger_filters_on_properties_and_ignores_events_before_activation(
    shop: Shop,
) -> None:
    # given a cart event before the journey exists, then a journey for carts over 1,000 ₽
    (early, cheap, rich) = shop.contacts(3)
    shop.event(early, "cart_add", price=5000)
    journey = shop.journey(
        {
            "kind": "event",
            "event_type": "cart_add",
            "properties": [{"property": "price", "op": "gt", "value": 1000}],
        },
        [send(shop.account(), "hello")],
    )
    # when a cheap and an expensive cart arrive
    shop.event(cheap, "cart_add", price=300)
    shop.event(rich, "cart_add", price=5000)
    shop.run()
    # then only the expensive one enters, carrying the event's properties
    (enrollment,) = shop.enrollments(journey)
    assert (enrollment.contact_id, enrollment.data) == (rich, {"price": 5000})
    assert shop.messages(journey) == [(rich, "hello")]


def test_segment_entered_and_left_triggers(shop: Shop) -> None:
    # given a static segment and journeys on entering and on leaving it
    account = shop.account()
    (ann, bob) = shop.contacts(2)
    segment = shop.segment([])
    entered = shop.journey(
        {"kind": "segment_entered", "segment_id": segment}, [send(account, "hi")]
    )
    left = shop.journey({"kind": "segment_left", "segment_id": segment}, [send(account, "bye")])
    # when both join and then Bob leaves
    shop.add_to_segment(segment, [ann, bob])
    shop.run()
    shop.remove_from_segment(segment, [bob])
    shop.run()
    # then both got the welcome and only Bob the goodbye
    assert sorted(shop.messages(entered)) == sorted([(ann, "hi"), (bob, "hi")])
    assert shop.messages(left) == [(bob, "bye")]


def test_birthday_trigger_three_days_before_at_ten_local(shop: Shop) -> None:
    # given a contact in Vladivostok born on 6 March, and one born in June
    (vlad,) = shop.contacts(1, birthday=date(1990, 3, 6), timezone="Asia/Vladivostok")
    shop.contacts(1, birthday=date(1990, 6, 1))
    journey = shop.journey(
        {"kind": "date_attribute", "attribute": "birthday", "offset_days": -3, "at": "10:00"},
        [send(shop.account(), "gift")],
    )
    # when the worker runs on 2 March (the enrollment is made ahead) and on 3 March 00:00 UTC,
    # which is 10:00 in Vladivostok
    shop.run()
    waiting = shop.enrollments(journey)
    shop.at(datetime(2026, 3, 3, 0, 0, tzinfo=UTC))
    shop.run()
    shop.later(hours=2)
    shop.run()  # a later scan does not enroll her again this year
    # then she waits for her local 10:00 on 3 March and gets one gift
    assert [(e.contact_id, e.occurrence) for e in waiting] == [(vlad, "d2026-03-06")]
    assert waiting[0].next_run_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert shop.messages(journey) == [(vlad, "gift")]
    assert len(shop.enrollments(journey)) == 1


def test_inactivity_trigger_enrolls_once_per_sleep(shop: Shop) -> None:
    # given a customer whose last order was 100 days ago and one who ordered last week
    (sleepy, fresh) = shop.contacts(2)
    shop.profile(sleepy, last_order_days_ago=100)
    shop.profile(fresh, last_order_days_ago=7)
    journey = shop.journey({"kind": "inactivity", "days": 90}, [send(shop.account(), "miss_you")])
    # when the worker scans now and again two hours later
    shop.run()
    shop.later(hours=2)
    shop.run()
    # then the sleeper enters once
    assert shop.messages(journey) == [(sleepy, "miss_you")]
    assert len(shop.enrollments(journey)) == 1


def test_p_alive_trigger(shop: Shop) -> None:
    # given customers with a low and a high probability of being alive
    (fading, loyal) = shop.contacts(2)
    shop.profile(fading, last_order_days_ago=40, p_alive=0.2)
    shop.profile(loyal, last_order_days_ago=40, p_alive=0.9)
    journey = shop.journey(
        {"kind": "inactivity", "p_alive_below": 0.5}, [send(shop.account(), "come_back")]
    )
    # when the worker runs
    shop.run()
    # then only the fading one enters
    assert shop.messages(journey) == [(fading, "come_back")]


def test_schedule_trigger_enrolls_the_segment_each_time_it_fires(shop: Shop) -> None:
    # given a segment of two and a journey every Monday at 10:00 UTC
    (ann, bob) = shop.contacts(2)
    segment = shop.segment([ann, bob])
    journey = shop.journey(
        {"kind": "schedule", "cron": "0 10 * * 1", "segment_id": segment},
        [send(shop.account(), "weekly")],
        policy={"reentry": "always"},
    )
    # when the worker runs before the first firing, at it, and a week later
    shop.run()
    before = shop.messages(journey)
    shop.at(datetime(2026, 3, 2, 10, 0, 30, tzinfo=UTC))
    shop.run()
    shop.at(datetime(2026, 3, 9, 10, 0, 30, tzinfo=UTC))
    shop.run()
    # then nobody before, both at each firing
    assert before == []
    assert sorted(shop.messages(journey)) == sorted([(ann, "weekly"), (bob, "weekly")] * 2)


def test_api_trigger_is_idempotent_by_key(shop: Shop) -> None:
    # given an API-triggered journey
    journey = shop.journey({"kind": "api"}, [send(shop.account(), "receipt")])
    (ann,) = shop.contacts(1)
    # when the same call is made twice with one key
    first = shop.enroll(journey, ann, key="order-1", data={"order": "A-1"})
    second = shop.enroll(journey, ann, key="order-1", data={"order": "A-1"})
    shop.run()
    # then one enrollment, one message
    assert first == second
    assert shop.messages(journey) == [(ann, "receipt")]
