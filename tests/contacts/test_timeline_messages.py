"""Messages on the contact's timeline: each message with its source, subject and state (a skip
with its reason), and under it its opens (counted, not one row each), clicks, unsubscribes and
bounces; only the contact's own; read in one bounded query."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.dates import format_datetime
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from retentio.consent.models import Purpose
from retentio.contacts.timeline import (
    SKIP_REASON_LABELS,
    STATE_LABELS,
    MessageLine,
    timeline,
)
from retentio.db import get_engine, get_sessionmaker, session_scope
from retentio.messaging import service
from retentio.messaging.models import (
    AccountKind,
    EventKind,
    MessageEvent,
    MessageState,
    SkipReason,
)
from retentio.messaging.policy import SendPolicy
from retentio.messaging.sending import Sender
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.timeline_queries import EventGroup, contact_messages
from retentio.messaging.tracking import Links, Signer
from retentio.settings import Settings
from tests.messaging.conftest import BASE_URL, World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
NO_LIMITS = SendPolicy(daily_cap=None, weekly_cap=None, quiet_start=None, quiet_end=None)
TEA = "https://shop.example/tea?utm_source=crm&utm_campaign=spring"
ACCOUNT = "https://shop.example/account/"
KIND = re.compile(r'data-kind="(\w+)"')


class Outbox:
    """Messages queued and sent through the real outbox and sender (to the file sink)."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.url = settings.database_url
        self.links = Links(Signer(settings.resolved_secret_key()), BASE_URL)
        world = World(self.url)
        with session_scope(self.url) as session:
            self.account_id = service.create_account(
                session,
                name="dev",
                kind=AccountKind.FILE,
                from_address="news@shop.example",
                settings={"directory": str(folder)},
            ).id
        self.plain = world.content(subject="Весенняя распродажа")
        self.template = world.content()  # "{{ contact.first_name }}, скидка на чай"

    def queue(self, contact_id: int, step: str, content_id: int, *, at: datetime) -> int:
        with session_scope(self.url) as session:
            key = OutboxKey("campaign", 7, step, contact_id)
            new = NewMessage(key, self.account_id, content_id, Purpose.MARKETING)
            return service.enqueue(session, new, now=at)[0].id

    def send(self, *, at: datetime) -> None:
        sender = Sender(links=self.links, policy=NO_LIMITS)
        try:
            with get_sessionmaker(self.url)() as session:
                sender.send_due(session, now=at)
        finally:
            sender.close()


@pytest.fixture
def outbox(settings: Settings, tmp_path: Path) -> Outbox:
    return Outbox(settings, tmp_path / "outbox")


@pytest.fixture
def world(settings: Settings) -> World:
    return World(settings.database_url)


@dataclass(frozen=True)
class History:
    anna: int
    # Anna's news, promo and winback messages.
    messages: list[int]
    boris: int
    his: int


def _history(world: World, outbox: Outbox) -> History:
    """Anna: a sent message that soft-bounced later, one opened three times, clicked and
    unsubscribed from, and one skipped for want of consent after that; Boris: one sent later."""
    anna = world.contact(first_name="Анна", email="anna@example.org")
    news = outbox.queue(anna, "news", outbox.plain, at=NOW - timedelta(minutes=5))
    outbox.send(at=NOW)
    promo = outbox.queue(anna, "promo", outbox.template, at=NOW + timedelta(hours=1))
    outbox.send(at=NOW + timedelta(hours=1))
    with session_scope(outbox.url) as session:
        for hours in (2, 3, 4):
            service.record_open(session, promo, now=NOW + timedelta(hours=hours))
        for minutes, url in ((125, TEA), (130, ACCOUNT), (135, TEA)):
            service.record_click(session, promo, url, now=NOW + timedelta(minutes=minutes))
        service.unsubscribe(session, promo, now=NOW + timedelta(hours=5))
        # What a bounce report writes; the report's route itself is the channels' business.
        session.add(
            MessageEvent(
                message_id=news,
                contact_id=anna,
                kind=EventKind.BOUNCE_SOFT,
                detail="452 4.2.2 Mailbox full",
                occurred_at=NOW + timedelta(minutes=30),
            )
        )
    winback = outbox.queue(anna, "winback", outbox.plain, at=NOW + timedelta(hours=6))
    outbox.send(at=NOW + timedelta(hours=6))
    boris = world.contact(first_name="Борис", email="boris@example.org")
    his = outbox.queue(boris, "news", outbox.plain, at=NOW + timedelta(hours=7))
    outbox.send(at=NOW + timedelta(hours=7))
    return History(anna, [news, promo, winback], boris, his)


def _lines(items: list[MessageLine]) -> list[tuple[int, MessageState, SkipReason | None]]:
    return [(i.message.id, i.message.state, i.message.skip_reason) for i in items]


def test_the_timeline_holds_each_message_with_its_grouped_events(
    db: Session, world: World, outbox: Outbox
) -> None:
    # given Anna's three messages and Boris's one
    history = _history(world, outbox)
    news, promo, winback = history.messages
    # when
    items = timeline(db, history.anna)
    # then hers, newest first, between the consent withdrawn by the unsubscribe and given before
    assert [i.kind for i in items] == ["message", "consent", "message", "message", "consent"]
    lines = [i.row for i in items if i.kind == "message"]
    assert _lines(lines) == [
        (winback, MessageState.SKIPPED, SkipReason.NO_CONSENT),
        (promo, MessageState.SENT, None),
        (news, MessageState.SENT, None),
    ]
    assert [i.at for i in items if i.kind == "message"] == [
        NOW + timedelta(hours=6),  # skipped: when it was queued
        NOW + timedelta(hours=1),
        NOW,
    ]
    skipped, opened, bounced = lines
    assert (skipped.source, skipped.state, skipped.reason) == ("Campaign", "not sent", "no consent")
    assert (opened.message.subject, opened.template) == (
        "{{ contact.first_name }}, скидка на чай",
        True,
    )
    assert (bounced.message.subject, bounced.template) == ("Весенняя распродажа", False)
    assert (opened.message.source_id, opened.message.step) == (7, "promo")
    assert opened.events == [
        (EventGroup(EventKind.OPEN, 3, NOW + timedelta(hours=2), NOW + timedelta(hours=4)), ""),
        (
            EventGroup(
                EventKind.CLICK, 2, NOW + timedelta(minutes=125), NOW + timedelta(minutes=135), TEA
            ),
            "shop.example/tea",
        ),
        (
            EventGroup(
                EventKind.CLICK,
                1,
                NOW + timedelta(minutes=130),
                NOW + timedelta(minutes=130),
                ACCOUNT,
            ),
            "shop.example/account",
        ),
        (
            EventGroup(
                EventKind.UNSUBSCRIBE, 1, NOW + timedelta(hours=5), NOW + timedelta(hours=5)
            ),
            "",
        ),
    ]
    at = NOW + timedelta(minutes=30)
    bounce = EventGroup(EventKind.BOUNCE_SOFT, 1, at, at, detail="452 4.2.2 Mailbox full")
    assert bounced.events == [(bounce, "")]
    assert skipped.events == []
    # and Boris's message is his alone
    assert [i.row.message.id for i in timeline(db, history.boris) if i.kind == "message"] == [
        history.his
    ]


def test_the_card_shows_messages_sources_states_and_what_happened(
    admin_client: TestClient, world: World, outbox: Outbox
) -> None:
    # given
    history = _history(world, outbox)
    news, promo, winback = history.messages
    # when
    page = admin_client.get(f"/contacts/{history.anna}").text
    # then
    section = html.unescape(page[page.index('data-testid="timeline"') :])
    assert KIND.findall(section) == ["message", "consent", "message", "message", "consent"]
    shown = re.findall(r'data-message-id="(\d+)"', section)
    assert shown == [str(winback), str(promo), str(news)]
    assert f'data-message-id="{history.his}"' not in page
    states = re.findall(r'data-state="(\w+)"', section)
    assert states == ["skipped", "sent", "sent"]
    assert "not sent: no consent" in section
    template = "The template as written, not as this contact got it"
    assert f'<code title="{template}">{{{{ contact.first_name }}}}, скидка на чай</code>' in section
    assert "<q>Весенняя распродажа</q>" in section
    assert "Campaign #7 · promo" in section
    assert "to anna@example.org" in section
    first_open = format_datetime(NOW + timedelta(hours=2), format="medium", locale="en")
    assert f"opened 3×, first {first_open}" in section
    assert f'<span title="{TEA}">shop.example/tea</span> 2×' in section
    assert '<span title="https://shop.example/account/">shop.example/account</span>\n' in section
    unsubscribed = format_datetime(NOW + timedelta(hours=5), format="medium", locale="en")
    assert f"unsubscribed {unsubscribed}" in section
    assert "soft bounce: 452 4.2.2 Mailbox full" in section
    events = re.findall(r'data-event="(\w+)"', section)
    assert events == ["open", "click", "click", "unsubscribe", "bounce_soft"]


def test_the_newest_messages_come_whole_up_to_the_limit(
    db: Session, world: World, outbox: Outbox
) -> None:
    # given three sent messages, each opened twice and clicked
    anna = world.contact()
    ids = []
    for n in range(3):
        at = NOW + timedelta(hours=n)
        ids.append(outbox.queue(anna, f"step-{n}", outbox.plain, at=at))
        outbox.send(at=at)
        with session_scope(outbox.url) as session:
            service.record_open(session, ids[-1], now=at + timedelta(minutes=1))
            service.record_open(session, ids[-1], now=at + timedelta(minutes=2))
            service.record_click(session, ids[-1], TEA, now=at + timedelta(minutes=3))
    # when
    newest = contact_messages(db, anna, limit=2)
    # then the limit counts messages, not message-and-event rows
    assert [m.id for m in newest] == [ids[2], ids[1]]
    assert [[(g.kind, g.count) for g in m.events] for m in newest] == [
        [(EventKind.OPEN, 2), (EventKind.CLICK, 1)]
    ] * 2


@pytest.fixture
def statements(settings: Settings) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    engine = get_engine(settings.database_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_messages_and_their_events_are_one_query_whatever_their_number(
    db: Session, world: World, outbox: Outbox, statements: list[str]
) -> None:
    # given a contact with one message, then with twenty more, each opened and clicked
    anna = world.contact()

    def grow(count: int, start: int) -> None:
        for n in range(start, start + count):
            message_id = outbox.queue(anna, f"step-{n}", outbox.plain, at=NOW)
            with session_scope(outbox.url) as session:
                service.record_open(session, message_id, now=NOW)
                service.record_click(session, message_id, TEA, now=NOW)
        outbox.send(at=NOW)

    grow(1, 0)
    statements.clear()
    contact_messages(db, anna, limit=200)
    few = len(statements)
    grow(20, 1)
    statements.clear()
    # when
    found = contact_messages(db, anna, limit=200)
    # then
    assert (len(found), few, len(statements)) == (21, 1, 1)
    assert {tuple((g.kind, g.count) for g in m.events) for m in found} == {
        ((EventKind.CLICK, 1), (EventKind.OPEN, 1))  # at the same moment: by kind
    }


def test_every_state_and_skip_reason_has_words() -> None:
    assert (set(STATE_LABELS), set(SKIP_REASON_LABELS)) == (set(MessageState), set(SkipReason))
