"""The preference page a message links to (`/p/{token}`): it shows the contact's channels and
topics, saves them without a cookie, CSRF token or redirect, records consent changes with their
source and IP, and a topic turned off stops the sender, even between two batches of a send."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, ConsentEvent, Purpose
from retentio.consent.service import current_consent
from retentio.db import get_engine, get_sessionmaker, session_scope
from retentio.messaging import preferences, service
from retentio.messaging.models import AccountKind, Message, MessageState, SkipReason, TopicOptOut
from retentio.messaging.policy import SendPolicy
from retentio.messaging.sending import Sender
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Links, Token
from retentio.settings import Settings
from tests.messaging.conftest import World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
NO_LIMITS = SendPolicy(daily_cap=None, weekly_cap=None, quiet_start=None, quiet_end=None)


def _topic(settings: Settings, key: str, name: str, *, archived: bool = False) -> int:
    with session_scope(settings.database_url) as session:
        topic = service.create_topic(session, key=key, name=name, now=NOW)
        if archived:
            service.update_topic(session, topic.id, archived=True, now=NOW)
        return topic.id


def _file_account(settings: Settings, folder: Path) -> int:
    with session_scope(settings.database_url) as session:
        return service.create_account(
            session,
            name="dev",
            kind=AccountKind.FILE,
            from_address="news@shop.example",
            settings={"directory": str(folder)},
        ).id


def _enqueue(
    settings: Settings,
    contact_id: int,
    account_id: int,
    content_id: int,
    *,
    topic_id: int | None,
    step: str = "main",
    purpose: Purpose = Purpose.MARKETING,
) -> int:
    with session_scope(settings.database_url) as session:
        key = OutboxKey("campaign", 1, step, contact_id)
        new = NewMessage(key, account_id, content_id, purpose, topic_id=topic_id)
        return service.enqueue(session, new, now=NOW)[0].id


def _path(links: Links, kind: str, message_id: int) -> str:
    return f"/{kind}/{links.signer.sign(Token(kind, message_id))}"  # type: ignore[arg-type]


def _message(settings: Settings, world: World, tmp_path: Path, **contact: Any) -> tuple[int, int]:
    contact_id = world.contact(**contact)
    account_id = _file_account(settings, tmp_path / "outbox")
    message_id = _enqueue(settings, contact_id, account_id, world.content(), topic_id=None)
    return message_id, contact_id


def _checked(html: str) -> set[str]:
    """data-testid of every checked box on the page."""
    return set(re.findall(r'data-testid="([^"]+)" checked', html))


def _consent_events(db: Session, contact_id: int) -> list[tuple[Channel, bool, str, str | None]]:
    rows = db.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id == contact_id).order_by(ConsentEvent.id)
    )
    return [(e.channel, e.granted, e.source, e.ip) for e in rows]


def _send(settings: Settings, links: Links, *, limit: int = 500) -> None:
    sender = Sender(links=links, policy=NO_LIMITS)
    try:
        with get_sessionmaker(settings.database_url)() as session:
            sender.send_due(session, now=NOW, limit=limit)
    finally:
        sender.close()


def _states(db: Session, *message_ids: int) -> list[tuple[MessageState, SkipReason | None]]:
    found = {m.id: m for m in db.scalars(select(Message).where(Message.id.in_(message_ids)))}
    return [(found[i].state, found[i].skip_reason) for i in message_ids]


def test_the_page_shows_channels_with_an_address_and_active_topics(
    client: TestClient, settings: Settings, world: World, links: Links, tmp_path: Path
) -> None:
    # given a contact with e-mail consent and a phone, one topic off and one archived
    message_id, contact_id = _message(
        settings, world, tmp_path, email="anna.petrova@example.org", phone="+79161234567"
    )
    news = _topic(settings, "news", "News")
    sales = _topic(settings, "sales", "Sales")
    old = _topic(settings, "old", "Old stuff", archived=True)
    with session_scope(settings.database_url) as session:
        preferences.save_preferences(
            session, contact_id, channels={}, topics={sales: False}, now=NOW, ip=None
        )
    # when
    response = client.get(_path(links, "p", message_id))
    # then
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "no-store" in response.headers["cache-control"]
    page = response.text
    assert 'data-testid="channel-email"' in page
    assert 'data-testid="channel-sms"' in page
    assert 'data-testid="channel-messenger"' not in page  # no Telegram address
    assert f'data-testid="topic-{old}"' not in page
    assert _checked(page) == {"channel-email", f"topic-{news}"}
    # addresses are shown masked: the link may have been forwarded
    assert "a***@example.org" in page
    assert "***67" in page
    assert "anna.petrova" not in page
    assert "+79161234567" not in page
    assert 'data-testid="preferences-saved"' not in page


def test_a_tampered_or_foreign_token_gets_the_404_page(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links, tmp_path: Path
) -> None:
    message_id, contact_id = _message(settings, world, tmp_path)
    path = _path(links, "p", message_id)
    for bad in (path[:-3] + "xyz", _path(links, "u", message_id).replace("/u/", "/p/"), "/p/x"):
        assert client.get(bad).status_code == 404, bad
        response = client.post(bad, data={"shown_channel": "email"})
        assert response.status_code == 404, bad
        assert "This link is not valid" in response.text
    assert client.get(_path(links, "p", 10**9)).status_code == 404
    assert current_consent(db, contact_id)[(Channel.EMAIL, Purpose.MARKETING)] is True


def test_saving_records_consent_changes_with_source_and_ip_and_turns_topics_off(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links, tmp_path: Path
) -> None:
    # given e-mail consent granted, SMS never asked, two topics on
    message_id, contact_id = _message(settings, world, tmp_path, phone="+79161234567")
    news = _topic(settings, "news", "News")
    sales = _topic(settings, "sales", "Sales")
    form = {
        "shown_channel": ["email", "sms"],
        "channel": ["sms"],
        "shown_topic": [str(news), str(sales)],
        "topic": [str(news)],
    }
    # when the visitor turns e-mail off, SMS on and Sales off; no cookie, no CSRF token
    response = client.post(_path(links, "p", message_id), data=form, follow_redirects=False)
    # then the page comes back with a notice and no redirect
    assert response.status_code == 200
    assert "location" not in response.headers
    assert "set-cookie" not in response.headers
    assert 'data-testid="preferences-saved"' in response.text
    assert _checked(response.text) == {"channel-sms", f"topic-{news}"}
    assert _consent_events(db, contact_id) == [
        (Channel.EMAIL, True, "test", None),
        (Channel.EMAIL, False, "preference_page", "testclient"),
        (Channel.SMS, True, "preference_page", "testclient"),
    ]
    assert current_consent(db, contact_id) == {
        (Channel.EMAIL, Purpose.MARKETING): False,
        (Channel.SMS, Purpose.MARKETING): True,
    }
    assert db.scalars(select(TopicOptOut.topic_id)).all() == [sales]
    # and the same form sent again (a double click) changes nothing
    again = client.post(_path(links, "p", message_id), data=form)
    assert again.status_code == 200
    assert len(_consent_events(db, contact_id)) == 3
    assert db.scalars(select(TopicOptOut.topic_id)).all() == [sales]
    # and turning Sales back on removes the opt-out
    form["topic"] = [str(news), str(sales)]
    client.post(_path(links, "p", message_id), data=form)
    assert db.scalars(select(TopicOptOut.topic_id)).all() == []
    assert len(_consent_events(db, contact_id)) == 3


def test_a_topic_added_after_the_page_was_loaded_is_left_on(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links, tmp_path: Path
) -> None:
    # given a page loaded with one topic, then a second topic created
    message_id, contact_id = _message(settings, world, tmp_path)
    news = _topic(settings, "news", "News")
    _topic(settings, "sales", "Sales")
    # when the old form is sent, with News on
    form = {"shown_channel": ["email"], "channel": ["email"], "shown_topic": [str(news)]}
    form["topic"] = [str(news)]
    client.post(_path(links, "p", message_id), data=form)
    # then nothing was turned off and no consent written
    assert db.scalars(select(TopicOptOut)).all() == []
    assert _consent_events(db, contact_id) == [(Channel.EMAIL, True, "test", None)]


def test_the_page_follows_the_visitors_language(
    client: TestClient, settings: Settings, world: World, links: Links, tmp_path: Path
) -> None:
    message_id, _ = _message(settings, world, tmp_path)
    response = client.get(_path(links, "p", message_id), headers={"Accept-Language": "ru"})
    assert '<html lang="ru">' in response.text


def test_the_unsubscribe_page_links_to_the_preference_page(
    client: TestClient, settings: Settings, world: World, links: Links, tmp_path: Path
) -> None:
    message_id, _ = _message(settings, world, tmp_path)
    expected = f'href="{_path(links, "p", message_id)}" data-testid="manage-preferences"'
    assert expected in client.get(_path(links, "u", message_id)).text
    assert expected in client.post(_path(links, "u", message_id)).text
    assert client.get(_path(links, "p", message_id)).status_code == 200


def test_the_message_links_point_at_the_preference_page(links: Links) -> None:
    assert links.for_message(5)["preferences"] == f"https://crm.shop.example{_path(links, 'p', 5)}"


def test_the_sender_skips_a_topic_the_contact_turned_off(
    db: Session, settings: Settings, world: World, links: Links, tmp_path: Path
) -> None:
    # given Anna turned Sales off; Boris did not
    anna = world.contact()
    boris = world.contact(email="boris@example.org")
    news = _topic(settings, "news", "News")
    sales = _topic(settings, "sales", "Sales")
    with session_scope(settings.database_url) as session:
        preferences.save_preferences(
            session, anna, channels={}, topics={sales: False}, now=NOW, ip="203.0.113.5"
        )
    account_id = _file_account(settings, tmp_path / "outbox")
    content_id = world.content()
    ids = [
        _enqueue(settings, anna, account_id, content_id, topic_id=sales, step="sales"),
        _enqueue(settings, anna, account_id, content_id, topic_id=news, step="news"),
        _enqueue(settings, anna, account_id, content_id, topic_id=None, step="none"),
        _enqueue(
            settings,
            anna,
            account_id,
            content_id,
            topic_id=sales,
            step="receipt",
            purpose=Purpose.TRANSACTIONAL,
        ),
        _enqueue(settings, boris, account_id, content_id, topic_id=sales, step="sales"),
    ]
    # when
    _send(settings, links)
    # then only Anna's marketing message about Sales is skipped
    assert _states(db, *ids) == [
        (MessageState.SKIPPED, SkipReason.TOPIC_OPT_OUT),
        (MessageState.SENT, None),
        (MessageState.SENT, None),
        (MessageState.SENT, None),
        (MessageState.SENT, None),
    ]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 4


@pytest.fixture
def opt_out_queries(settings: Settings) -> Iterator[list[str]]:
    """Every statement that reads topic_opt_outs, as the database received it."""
    seen: list[str] = []

    def record(_conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if "topic_opt_outs" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = get_engine(settings.database_url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_opt_out_saved_between_two_batches_stops_the_later_messages(
    client: TestClient,
    db: Session,
    settings: Settings,
    world: World,
    links: Links,
    tmp_path: Path,
    opt_out_queries: list[str],
) -> None:
    # given a campaign about Sales to three contacts, sent in batches of two
    sales = _topic(settings, "sales", "Sales")
    account_id = _file_account(settings, tmp_path / "outbox")
    content_id = world.content()
    contacts = [world.contact(email=f"c{i}@example.org") for i in range(3)]
    ids = [
        _enqueue(settings, c, account_id, content_id, topic_id=sales, step="sales")
        for c in contacts
    ]
    _send(settings, links, limit=2)
    assert _states(db, *ids)[:2] == [(MessageState.SENT, None)] * 2
    assert len(opt_out_queries) == 1  # one query for the batch's two messages
    # when the third contact turns Sales off on the page of a message already received
    earlier = _enqueue(settings, contacts[2], account_id, content_id, topic_id=None, step="old")
    with session_scope(settings.database_url) as session:
        row = session.get(Message, earlier)
        assert row is not None
        row.next_attempt_at = NOW + timedelta(days=1)  # not due: only its link is used
    form = {"shown_channel": ["email"], "channel": ["email"]}
    form |= {"shown_topic": [str(sales)], "topic": []}
    assert client.post(_path(links, "p", earlier), data=form).status_code == 200
    opt_out_queries.clear()
    _send(settings, links, limit=2)
    # then the next batch skips the third contact's message
    assert _states(db, *ids) == [
        (MessageState.SENT, None),
        (MessageState.SENT, None),
        (MessageState.SKIPPED, SkipReason.TOPIC_OPT_OUT),
    ]
    assert len(opt_out_queries) == 1


def test_opted_out_answers_for_one_pair(settings: Settings, world: World) -> None:
    anna = world.contact()
    sales = _topic(settings, "sales", "Sales")
    news = _topic(settings, "news", "News")
    with session_scope(settings.database_url) as session:
        preferences.save_preferences(
            session, anna, channels={}, topics={sales: False, news: True}, now=NOW, ip=None
        )
        assert preferences.opted_out(session, anna, sales) is True
        assert preferences.opted_out(session, anna, news) is False
