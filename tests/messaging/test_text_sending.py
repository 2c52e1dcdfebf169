"""The sender with text channels, end to end against a real HTTP server: SMS and Telegram get the
text template alone with links tracked and, for marketing only, an unsubscribe line; the
provider's id is kept; transient answers are retried, an invalid number or an unreachable chat
fails, bounces and suppresses; the webhook gets the whole message, signed."""

from __future__ import annotations

import hashlib
import hmac
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose, Suppression, SuppressionReason
from retentio.db import get_sessionmaker, session_scope
from retentio.messaging import channels, queries, service
from retentio.messaging.models import AccountKind, EventKind, Message, MessageState, SkipReason
from retentio.messaging.policy import SendPolicy
from retentio.messaging.sending import Sender, SendReport
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Links
from retentio.settings import Settings
from tests.messaging.conftest import Hit, Provider, World, free_port

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
NO_LIMITS = SendPolicy(daily_cap=None, weekly_cap=None, quiet_start=None, quiet_end=None)
PHONE = "+79161234567"
SMS_TEXT = "Привет, {{ contact.first_name }}! Чай: https://shop.example/tea?id=1. Код {{ promo }}"


def _sms_account(world: World, provider: Provider) -> int:
    settings = {
        "url": f"{provider.url}/send",
        "body": {"to": "{to}", "text": "{text}", "ref": "{reference}"},
        "id_path": "id",
        "error_path": "code",
        "invalid_values": ["BAD_NUMBER"],
    }
    return world.text_account(AccountKind.SMS_HTTP, settings, channel=Channel.SMS)


def _enqueue(
    settings: Settings,
    contact_id: int,
    account_id: int,
    content_id: int,
    *,
    channel: Channel = Channel.SMS,
    purpose: Purpose = Purpose.MARKETING,
    step: str = "main",
) -> int:
    with session_scope(settings.database_url) as session:
        key = OutboxKey("campaign", 1, step, contact_id)
        new = NewMessage(
            key, account_id, content_id, purpose, channel=channel, variables={"promo": "ЧАЙ20"}
        )
        return service.enqueue(session, new, now=NOW)[0].id


def _send(settings: Settings, links: Links, *, now: datetime = NOW) -> SendReport:
    sender = Sender(links=links, policy=NO_LIMITS)
    try:
        with get_sessionmaker(settings.database_url)() as session:
            return sender.send_due(session, now=now)
    finally:
        sender.close()


def _fresh(db: Session, message_id: int) -> Message:
    db.expire_all()
    row = db.get(Message, message_id)
    assert row is not None
    return row


def _sms_contact(world: World, phone: str = PHONE, **fields: Any) -> int:
    return world.contact(channel=Channel.SMS, phone=phone, email=None, **fields)


def test_a_marketing_sms_gets_the_text_tracked_with_an_unsubscribe_line(
    settings: Settings, db: Session, world: World, links: Links, provider: Provider
) -> None:
    # given a content whose subject and HTML would not even render
    provider.answer = lambda _hit: (200, {"id": "sms-1"})
    content_id = world.content(
        subject="{{ 1 / 0 }}", html="<p>{{ 1 / 0 }}</p>", text=SMS_TEXT, utm={"utm_source": "sms"}
    )
    message_id = _enqueue(settings, _sms_contact(world), _sms_account(world, provider), content_id)
    # when
    report = _send(settings, links)
    # then
    assert (report.sent, report.failed) == (1, 0)
    click = links.url("c", message_id, "https://shop.example/tea?id=1&utm_source=sms")
    unsubscribe = links.url("u", message_id)
    assert [hit.json() for hit in provider.hits] == [
        {
            "to": PHONE,
            "text": f"Привет, Анна! Чай: {click}. Код ЧАЙ20\nUnsubscribe: {unsubscribe}",
            "ref": str(message_id),
        }
    ]
    row = _fresh(db, message_id)
    assert (row.state, row.address, row.provider_message_id, row.attempts) == (
        MessageState.SENT,
        PHONE,
        "sms-1",
        1,
    )


def test_transactional_sms_and_texts_with_their_own_link_get_no_extra_line(
    settings: Settings, world: World, links: Links, provider: Provider
) -> None:
    provider.answer = lambda _hit: (200, {"id": "x"})
    account_id = _sms_account(world, provider)
    own_link = world.content(
        text="Отписка: {{ links.unsubscribe }} Настройки: {{ links.preferences }}"
    )
    receipt = world.content(text="Заказ готов")
    marketing_id = _enqueue(settings, _sms_contact(world, "+79160000001"), account_id, own_link)
    _enqueue(
        settings,
        _sms_contact(world, "+79160000002", consent=None),
        account_id,
        receipt,
        purpose=Purpose.TRANSACTIONAL,
    )
    assert _send(settings, links).sent == 2
    texts = {hit.json()["to"]: hit.json()["text"] for hit in provider.hits}
    # The message's own unsubscribe and preference links are not turned into tracked clicks.
    own = f"Отписка: {links.url('u', marketing_id)} Настройки: {links.url('p', marketing_id)}"
    assert texts == {
        "+79160000001": own,
        "+79160000002": "Заказ готов",
    }


def test_a_5xx_is_retried_and_the_next_attempt_goes_out(
    settings: Settings, db: Session, world: World, links: Links, provider: Provider
) -> None:
    # given a provider failing once
    answers = iter([(503, {"code": "BUSY"}), (200, {"id": "sms-2"})])
    provider.answer = lambda _hit: next(answers)
    message_id = _enqueue(
        settings, _sms_contact(world), _sms_account(world, provider), world.content(text="Hi")
    )
    # when / then
    assert _send(settings, links).retrying == 1
    row = _fresh(db, message_id)
    assert (row.state, row.next_attempt_at, row.provider_message_id) == (
        MessageState.QUEUED,
        NOW + timedelta(minutes=1),
        None,
    )
    assert row.error == 'The SMS provider answered 503: {"code": "BUSY"}'
    assert _send(settings, links, now=row.next_attempt_at).sent == 1
    row = _fresh(db, message_id)
    assert (row.state, row.attempts, row.provider_message_id) == (MessageState.SENT, 2, "sms-2")
    assert len(provider.hits) == 2


def test_an_unreachable_provider_costs_the_batch_one_attempt(
    settings: Settings, db: Session, world: World, links: Links
) -> None:
    settings_ = {"url": f"http://127.0.0.1:{free_port()}/", "body": {"a": "{to}", "b": "{text}"}}
    account_id = world.text_account(AccountKind.SMS_HTTP, settings_, channel=Channel.SMS)
    content_id = world.content(text="Hi")
    for n in range(3):
        _enqueue(settings, _sms_contact(world, f"+7916000000{n}"), account_id, content_id)
    report = _send(settings, links)
    assert (report.claimed, report.retrying) == (3, 3)
    rows = db.execute(select(Message.state, Message.attempts)).all()
    assert {tuple(r) for r in rows} == {(MessageState.QUEUED, 1)}


def test_an_unanswered_request_ends_unknown_and_the_rest_of_the_batch_waits_untried(
    settings: Settings,
    db: Session,
    world: World,
    links: Links,
    provider: Provider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: three SMS, and a provider that takes the first request and never answers it
    release = threading.Event()

    def stall_once(hit: Hit) -> tuple[int, Any]:
        if len(provider.hits) == 1:
            release.wait(5)
        return 200, {"id": f"sms-{len(provider.hits)}"}

    provider.answer = stall_once
    monkeypatch.setattr(channels, "HTTP_TIMEOUT", httpx.Timeout(0.2))
    account_id, content_id = _sms_account(world, provider), world.content(text="Hi")
    ids = [
        _enqueue(settings, _sms_contact(world, f"+7916000000{n}"), account_id, content_id)
        for n in range(3)
    ]
    # when: the batch is sent, then, the provider answering again, the next run
    try:
        first = _send(settings, links)
    finally:
        release.set()
    second = _send(settings, links, now=NOW + timedelta(minutes=5))
    # then: the first message may have gone out, so it is never sent again; the other two
    # waited (one attempt each) and went out on the next run: one request per message in all
    assert (first.unknown, first.retrying, second.sent) == (1, 2, 2)
    states = {m: (_fresh(db, m).state, _fresh(db, m).attempts) for m in ids}
    assert states == {
        ids[0]: (MessageState.UNKNOWN, 1),
        ids[1]: (MessageState.SENT, 2),
        ids[2]: (MessageState.SENT, 2),
    }
    assert sorted(hit.json()["to"] for hit in provider.hits) == [
        "+79160000000",
        "+79160000001",
        "+79160000002",
    ]


def _by_number(hit: Hit) -> tuple[int, Any]:
    if hit.json()["to"] == "+79990000000":
        return 400, {"code": "BAD_NUMBER"}
    return 400, {"code": "TEXT_REFUSED"}


def test_an_invalid_number_fails_bounces_and_suppresses_other_refusals_only_fail(
    settings: Settings, db: Session, world: World, links: Links, provider: Provider
) -> None:
    # given
    provider.answer = _by_number
    account_id, content_id = _sms_account(world, provider), world.content(text="Hi")
    invalid = _sms_contact(world, "+79990000000")
    invalid_id = _enqueue(settings, invalid, account_id, content_id)
    refused_id = _enqueue(settings, _sms_contact(world, "+79160000009"), account_id, content_id)
    # when
    assert _send(settings, links).failed == 2
    # then
    assert _fresh(db, invalid_id).state == MessageState.FAILED
    assert _fresh(db, refused_id).state == MessageState.FAILED
    assert queries.events_of(db, invalid_id) == [(EventKind.BOUNCE_HARD, None)]
    assert queries.events_of(db, refused_id) == []
    suppressed = db.execute(select(Suppression.channel, Suppression.address, Suppression.reason))
    assert [tuple(r) for r in suppressed] == [
        (Channel.SMS, "+79990000000", SuppressionReason.HARD_BOUNCE)
    ]
    # and the next message to that number is not even tried
    next_id = _enqueue(settings, invalid, account_id, content_id, step="next")
    assert _send(settings, links).skipped == 1
    assert _fresh(db, next_id).skip_reason == SkipReason.SUPPRESSED
    assert len(provider.hits) == 2


def test_telegram_chat_not_found_suppresses_the_chat(
    settings: Settings, db: Session, world: World, links: Links, provider: Provider
) -> None:
    # given
    def telegram(hit: Hit) -> tuple[int, Any]:
        if hit.json()["chat_id"] == "1001":
            return 200, {"ok": True, "result": {"message_id": 5}}
        return 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}

    provider.answer = telegram
    account_id = world.text_account(
        AccountKind.TELEGRAM,
        {"token": "123:abc", "api_base": provider.url},
        channel=Channel.MESSENGER,
    )
    content_id = world.content(text="Новинки: https://shop.example/new")
    reached = world.contact(channel=Channel.MESSENGER, telegram="1001", email=None)
    gone = world.contact(channel=Channel.MESSENGER, telegram="1002", email=None)
    reached_id = _enqueue(settings, reached, account_id, content_id, channel=Channel.MESSENGER)
    gone_id = _enqueue(settings, gone, account_id, content_id, channel=Channel.MESSENGER)
    # when
    report = _send(settings, links)
    # then
    assert (report.sent, report.failed) == (1, 1)
    assert provider.hits[0].path == "/bot123:abc/sendMessage"
    assert provider.hits[0].json()["text"] == (
        f"Новинки: {links.url('c', reached_id, 'https://shop.example/new')}\n"
        f"Unsubscribe: {links.url('u', reached_id)}"
    )
    assert _fresh(db, reached_id).provider_message_id == "1001/5"
    gone_row = _fresh(db, gone_id)
    assert (gone_row.state, gone_row.error) == (
        MessageState.FAILED,
        "Telegram answered 400: Bad Request: chat not found",
    )
    suppressed = db.execute(select(Suppression.channel, Suppression.address))
    assert [tuple(r) for r in suppressed] == [(Channel.MESSENGER, "1002")]


def test_the_webhook_gets_the_whole_message_tracked_and_signed(
    settings: Settings, world: World, links: Links, provider: Provider
) -> None:
    # given an e-mail channel delivered by the user's own system
    account_id = world.text_account(
        AccountKind.WEBHOOK,
        {"url": f"{provider.url}/hook", "secret": "hook-secret"},
        channel=Channel.EMAIL,
    )
    contact_id = world.contact()
    message_id = _enqueue(settings, contact_id, account_id, world.content(), channel=Channel.EMAIL)
    # when
    assert _send(settings, links).sent == 1
    # then
    [hit] = provider.hits
    unsubscribe = links.url("u", message_id)
    click = links.url("c", message_id, "https://shop.example/tea?utm_source=crm")
    payload = hit.json()
    html = payload.pop("html")
    assert payload == {
        "message_id": message_id,
        "contact_id": contact_id,
        "channel": "email",
        "to": "anna@example.org",
        "subject": "Анна, скидка на чай",
        # E-mail has List-Unsubscribe for that: no line is added to its text.
        "text": f"Здравствуйте, Анна! {unsubscribe}",
        "variables": {"promo": "ЧАЙ20"},
        "unsubscribe_url": unsubscribe,
    }
    assert f'href="{click}"' in html
    assert f'<img src="{links.url("o", message_id)}"' in html
    expected = hmac.new(b"hook-secret", hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["X-Retentio-Signature"] == f"sha256={expected}"
