"""Scenario tests of each step kind, with a frozen clock."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from retentio.activities.models import Activity
from retentio.contacts.models import Contact, ContactTag, Tag
from retentio.db import session_scope
from retentio.journeys import tasks as journey_tasks
from retentio.journeys import webhooks
from retentio.journeys.models import EnrollmentState, Group, WebhookCall
from retentio.journeys.tick import tick
from retentio.loyalty.models import Account, Entry
from retentio.messaging.sending import Sender
from retentio.messaging.tracking import Links, Signer
from retentio.settings import Settings
from retentio.worker import bind_settings
from tests.journeys.conftest import Shop, send, wait
from tests.messaging.crash_sender import NO_LIMITS


def test_wait_until_local_time(shop: Shop) -> None:
    # given a journey that waits until 10:00 in the contact's zone (Novosibirsk, UTC+7)
    journey = shop.journey(
        {"kind": "api"},
        [
            {"key": "morning", "kind": "wait", "mode": "local_time", "at": "10:00", "next": "hi"},
            send(shop.account(), "hi"),
        ],
    )
    (nick,) = shop.contacts(1, timezone="Asia/Novosibirsk")
    # when he enters at 16:00 local and the worker runs
    shop.enroll(journey, nick, data={})
    shop.run()
    # then he waits for 10:00 local next day = 03:00 UTC
    (enrollment,) = shop.enrollments(journey)
    assert enrollment.next_run_at == datetime(2026, 3, 3, 3, 0, tzinfo=UTC)
    assert shop.messages(journey) == []


def test_wait_until_a_date_attribute(shop: Shop) -> None:
    # given a custom date field "car_bought" and a journey waiting until 240 days after it
    shop.custom_field("car_bought", "date")
    journey = shop.journey(
        {"kind": "api"},
        [
            {
                "key": "oil",
                "kind": "wait",
                "mode": "date_attribute",
                "attribute": "custom.car_bought",
                "offset_days": 240,
                "at": "12:00",
                "next": "remind",
            },
            send(shop.account(), "remind"),
        ],
    )
    (owner, unknown) = shop.contacts(2)
    shop.set_custom(owner, {"car_bought": "2026-01-10"})
    # when both enter
    shop.enroll(journey, owner, data={})
    shop.enroll(journey, unknown, data={})
    shop.run()
    # then the owner waits until 7 Sep 2026 12:00 Moscow; the one without a date moves on
    by_contact = {e.contact_id: e for e in shop.enrollments(journey)}
    assert by_contact[owner].next_run_at == datetime(2026, 9, 7, 9, 0, tzinfo=UTC)
    assert by_contact[owner].state == EnrollmentState.ACTIVE
    assert shop.messages(journey) == [(unknown, "remind")]


def _open_or_nudge(shop: Shop) -> int:
    account = shop.account()
    return shop.journey(
        {"kind": "api"},
        [
            {
                "key": "wait_buy",
                "kind": "wait_event",
                "event_type": "checkout_start",
                "timeout": {"amount": 1, "unit": "days"},
                "next": "thanks",
                "timeout_next": "nudge",
            },
            send(account, "thanks"),
            send(account, "nudge"),
        ],
    )


def test_wait_for_event_takes_the_event_branch_as_soon_as_it_arrives(shop: Shop) -> None:
    # given a contact waiting for a checkout for up to a day
    journey = _open_or_nudge(shop)
    (ann,) = shop.contacts(1)
    shop.enroll(journey, ann, data={})
    shop.run()
    # when the checkout comes three hours later and the worker runs
    shop.later(hours=3)
    shop.event(ann, "checkout_start")
    shop.run()
    # then she goes down the event branch at once
    assert shop.messages(journey) == [(ann, "thanks")]
    assert shop.runs(journey) == [("wait_buy", "event"), ("thanks", "queued")]


def test_wait_for_event_times_out(shop: Shop) -> None:
    # given a contact waiting for a checkout that never comes
    journey = _open_or_nudge(shop)
    (bob,) = shop.contacts(1)
    shop.enroll(journey, bob, data={})
    shop.run()
    # when a day passes
    shop.later(hours=23)
    shop.run()
    before = shop.messages(journey)
    shop.later(hours=1)
    shop.run()
    # then the timeout branch runs, not before
    assert before == []
    assert shop.messages(journey) == [(bob, "nudge")]


def test_condition_on_a_segment_rule(shop: Shop) -> None:
    # given a condition "lives in Kazan"
    account = shop.account()
    journey = shop.journey(
        {"kind": "api"},
        [
            {
                "key": "where",
                "kind": "condition",
                "rule": {"field": "contact.city", "op": "eq", "value": "Казань"},
                "yes": "kazan",
                "no": "other",
            },
            send(account, "kazan"),
            send(account, "other"),
        ],
    )
    (kazan,) = shop.contacts(1, city="Казань")
    (perm,) = shop.contacts(1, city="Пермь")
    # when both enter
    shop.enroll(journey, kazan, data={})
    shop.enroll(journey, perm, data={})
    shop.run()
    # then each takes their branch
    assert sorted(shop.messages(journey)) == sorted([(kazan, "kazan"), (perm, "other")])


def test_random_split_follows_the_weights(shop: Shop) -> None:
    # given a 3:1 split
    account = shop.account()
    journey = shop.journey(
        {"kind": "api"},
        [
            {
                "key": "ab",
                "kind": "split",
                "branches": [
                    {"label": "A", "weight": 3, "next": "a"},
                    {"label": "B", "weight": 1, "next": "b"},
                ],
            },
            send(account, "a"),
            send(account, "b"),
        ],
    )
    people = shop.contacts(400)
    # when 400 enter
    for contact_id in people:
        shop.enroll(journey, contact_id, data={})
    shop.run()
    # then about three quarters go to A (binomial: 300 ± 4 sd of ~8.7) and everyone goes once
    steps = [step for _c, step in shop.messages(journey)]
    assert len(steps) == 400
    assert 265 <= steps.count("a") <= 335


def test_set_attribute_tags_and_fields(shop: Shop) -> None:
    # given a journey that tags, untags and sets a field
    shop.custom_field("segment_note", "string")
    journey = shop.journey(
        {"kind": "api"},
        [
            {
                "key": "vip",
                "kind": "set_attribute",
                "action": "add_tag",
                "tag": "VIP",
                "next": "unnew",
            },
            {
                "key": "unnew",
                "kind": "set_attribute",
                "action": "remove_tag",
                "tag": "новый",
                "next": "note",
            },
            {
                "key": "note",
                "kind": "set_attribute",
                "action": "set_field",
                "field": "segment_note",
                "value": "вернулся",
            },
        ],
    )
    (ann,) = shop.contacts(1)
    shop.tag(ann, "новый")
    # when she goes through it
    shop.enroll(journey, ann, data={})
    report = shop.run()
    # then her tags and field changed, and her profile/segments are due for a refresh
    with session_scope(shop.url) as session:
        tags = session.scalars(
            select(Tag.name).join(ContactTag).where(ContactTag.contact_id == ann)
        ).all()
        custom = session.get_one(Contact, ann).custom
    assert tags == ["VIP"]
    assert custom == {"segment_note": "вернулся"}
    assert report.touched == [ann]


def test_task_for_the_owner(shop: Shop) -> None:
    # given a contact with an owner and a journey creating a call task due in 2 days
    owner = shop.user()
    (ann,) = shop.contacts(1, owner_id=owner)
    journey = shop.journey(
        {"kind": "api"},
        [
            {
                "key": "call",
                "kind": "task",
                "title": "Позвонить",
                "due_in": {"amount": 2, "unit": "days"},
            }
        ],
    )
    # when she goes through it
    shop.enroll(journey, ann, data={})
    shop.run()
    # then one task for the owner, due in two days
    with session_scope(shop.url) as session:
        tasks = session.scalars(select(Activity)).all()
        found = [(t.title, t.contact_id, t.owner_id, t.due_at, t.origin) for t in tasks]
    assert found == [
        ("Позвонить", ann, owner, datetime(2026, 3, 4, 9, 0, tzinfo=UTC), f"journey:{journey}")
    ]


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture
def hook_url() -> Iterator[str]:
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_webhook_is_posted_once(shop: Shop, hook_url: str) -> None:
    # given a journey calling a webhook
    journey = shop.journey({"kind": "api"}, [{"key": "crm", "kind": "webhook", "url": hook_url}])
    (ann,) = shop.contacts(1)
    # when she goes through it and the webhook sender runs twice
    shop.enroll(journey, ann, data={"order": "A-7"})
    shop.run()
    with shop.sessions() as session:
        first = webhooks.post_due(session, now=shop.now)
    with shop.sessions() as session:
        second = webhooks.post_due(session, now=shop.now)
    # then the endpoint got exactly one call with the contact and the trigger data
    assert (first, second) == (1, 0)
    (call,) = _Hook.received
    assert (call["contact_id"], call["step"], call["trigger"]) == (ann, "crm", {"order": "A-7"})
    with session_scope(shop.url) as session:
        assert session.scalars(select(WebhookCall.state)).all() == ["sent"]


def test_a_webhook_call_waiting_for_its_retry_is_posted_by_the_minutely_run(
    shop: Shop, hook_url: str, settings: Settings
) -> None:
    # given a journey whose webhook call was written but not posted (its first try failed and
    # its next attempt is due), and no step left to write another call
    journey = shop.journey({"kind": "api"}, [{"key": "crm", "kind": "webhook", "url": hook_url}])
    (ann,) = shop.contacts(1)
    shop.enroll(journey, ann, data={})
    shop.run()
    with session_scope(shop.url) as session:
        assert session.scalars(select(WebhookCall.state)).all() == ["queued"]
    # when only the worker's minutely journeys run comes
    bind_settings(settings)
    journey_tasks.advance_journeys_periodic.call_local()
    # then the call is posted, once
    assert [call["contact_id"] for call in _Hook.received] == [ann]
    with session_scope(shop.url) as session:
        assert session.scalars(select(WebhookCall.state)).all() == ["sent"]


def test_exit_step_ends_the_journey(shop: Shop) -> None:
    # given a condition that sends non-Muscovites to an exit
    account = shop.account()
    journey = shop.journey(
        {"kind": "api"},
        [
            {
                "key": "moscow",
                "kind": "condition",
                "rule": {"field": "contact.city", "op": "eq", "value": "Москва"},
                "yes": "offer",
                "no": "stop",
            },
            send(account, "offer"),
            {"key": "stop", "kind": "exit"},
        ],
    )
    (ann,) = shop.contacts(1, city="Тверь")
    # when she enters
    shop.enroll(journey, ann, data={})
    shop.run()
    # then she leaves at the exit step without a message
    (enrollment,) = shop.enrollments(journey)
    assert (enrollment.state, enrollment.step) == (EnrollmentState.COMPLETED, "stop")
    assert shop.messages(journey) == []


def test_goal_event_converts(shop: Shop) -> None:
    # given a journey whose goal is a form submission, waiting a day before a reminder
    journey = shop.journey(
        {"kind": "api"},
        [wait("day", "remind", amount=1, unit="days"), send(shop.account(), "remind")],
        goal={"kind": "event", "event_type": "form_submit"},
    )
    (ann,) = shop.contacts(1)
    shop.enroll(journey, ann, data={})
    shop.run()
    # when she submits the form and the day passes
    shop.later(hours=5)
    shop.event(ann, "form_submit")
    shop.later(hours=19)
    shop.run()
    # then she converted and got no reminder
    (enrollment,) = shop.enrollments(journey)
    assert enrollment.state == EnrollmentState.CONVERTED
    assert shop.messages(journey) == []


def test_a_journey_message_is_sent_with_the_trigger_data(shop: Shop) -> None:
    # given a cart journey whose letter names the product from the event
    step = send(shop.account(), "reminder")
    step["text"] = "{{ contact.first_name }}, вы забыли {{ trigger.name }}"
    journey = shop.journey({"kind": "event", "event_type": "cart_add"}, [step])
    (ann,) = shop.contacts(1)
    shop.event(ann, "cart_add", name="Чайник")
    shop.run()
    # when the sender sends the outbox into the file sink
    sender = Sender(links=Links(Signer("s" * 32), "https://crm.example"), policy=NO_LIMITS)
    try:
        with shop.sessions() as session:
            report = sender.send_due(session, now=shop.now)
    finally:
        sender.close()
    # then one letter went out, personalised with the contact and the product
    (written,) = shop.outbox.glob("*.eml")
    letter = message_from_bytes(written.read_bytes(), policy=policy.default)
    body = letter.get_body(preferencelist=("plain",))
    assert report.sent == 1
    assert shop.messages(journey) == [(ann, "reminder")]
    assert body is not None
    assert "вы забыли Чайник" in body.get_content()


def test_points_are_given_once_and_not_to_the_holdout(shop: Shop) -> None:
    # given a journey giving 200 points, with half held out
    journey = shop.journey(
        {"kind": "api"},
        [{"key": "bonus", "kind": "points", "points": 200, "reason": "Подарок"}],
        policy={"holdout_share": 0.5},
    )
    people = shop.contacts(40)
    # when everyone goes through it and the worker runs twice
    for contact_id in people:
        shop.enroll(journey, contact_id, data={})
    shop.run()
    shop.run()
    # then each treated contact got 200 points once, the held-out none
    treated = {e.contact_id for e in shop.enrollments(journey) if e.group == Group.TREATED}
    with session_scope(shop.url) as session:
        balances = dict(session.execute(select(Account.contact_id, Account.balance)).all())
        reasons = set(session.scalars(select(Entry.reason)))
    assert 0 < len(treated) < 40
    assert balances == dict.fromkeys(treated, 200)
    assert reasons == {"Подарок"}


def test_a_pass_asked_to_stop_finishes_its_batch_and_leaves_the_rest_due(shop: Shop) -> None:
    # given five contacts entering a one-step journey
    journey = shop.journey(
        {"kind": "api"},
        [{"key": "tag", "kind": "set_attribute", "action": "add_tag", "tag": "vip"}],
    )
    contacts = shop.contacts(5)
    for contact_id in contacts:
        shop.enroll(journey, contact_id, data={})
    # when a pass of batches of two is told its worker is stopping
    report = tick(shop.sessions, clock=lambda: shop.now, batch=2, stop=lambda: True)
    # then it ran one whole batch, said it stopped, and the next pass runs the other three
    assert (report.claimed, report.steps, report.stopped) == (2, 2, True)
    states = [e.state for e in shop.enrollments(journey)]
    assert sorted(states) == sorted([EnrollmentState.COMPLETED] * 2 + [EnrollmentState.ACTIVE] * 3)
    rest = tick(shop.sessions, clock=lambda: shop.now, batch=2)
    assert (rest.claimed, rest.stopped) == (3, False)
