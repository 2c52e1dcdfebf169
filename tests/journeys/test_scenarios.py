"""Scenario tests with a frozen clock: each trigger, step and policy of the engine, run
through the real services and the worker's pass."""

from __future__ import annotations

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
