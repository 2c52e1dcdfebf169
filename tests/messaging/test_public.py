"""The public endpoints a message links to: the open pixel and the click redirect record an
event; a tampered token never redirects; the unsubscribe page asks on GET and unsubscribes
only on POST (the page's button or RFC 8058 one-click, with no cookie and no CSRF token)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, ConsentEvent, Purpose
from retentio.consent.service import current_consent
from retentio.db import session_scope
from retentio.messaging import queries, service
from retentio.messaging.models import EventKind, Message, MessageState
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Links, Token
from retentio.settings import Settings
from tests.messaging.conftest import World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
TARGET = "https://shop.example/tea?utm_source=crm&utm_campaign=spring"


def _message(settings: Settings, world: World) -> tuple[int, int]:
    contact_id = world.contact()
    account_id = world.smtp_account(2525)
    content_id = world.content()
    with session_scope(settings.database_url) as session:
        key = OutboxKey("campaign", 1, "main", contact_id)
        new = NewMessage(key, account_id, content_id, Purpose.MARKETING)
        message, _ = service.enqueue(session, new, now=NOW)
        return message.id, contact_id


def _path(links: Links, kind: str, message_id: int, url: str = "") -> str:
    token = links.signer.sign(Token(kind, message_id, url))  # type: ignore[arg-type]
    return f"/{kind}/{token}" + (".gif" if kind == "o" else "")


def test_open_pixel_records_an_open_each_time(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links
) -> None:
    message_id, _ = _message(settings, world)
    for _ in range(2):
        response = client.get(_path(links, "o", message_id))
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/gif"
        assert response.content.startswith(b"GIF89a")
        assert "no-store" in response.headers["cache-control"]
    assert queries.events_of(db, message_id) == [(EventKind.OPEN, None), (EventKind.OPEN, None)]


def test_click_redirects_to_the_signed_url_with_its_utm_and_records_it(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links
) -> None:
    message_id, _ = _message(settings, world)
    response = client.get(_path(links, "c", message_id, TARGET), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == TARGET
    assert queries.events_of(db, message_id) == [(EventKind.CLICK, TARGET)]


def test_a_tampered_click_token_is_404_and_never_a_redirect(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links
) -> None:
    message_id, _ = _message(settings, world)
    path = _path(links, "c", message_id, TARGET)
    payload, mac = path.removeprefix("/c/").split(".")
    evil = links.signer.sign(Token("c", message_id, "https://evil.example/")).split(".")[0]
    attempts = [
        f"/c/{evil}.{mac}",  # another destination under the old signature
        f"/c/{payload}.{mac[:-2]}",  # truncated signature
        f"/c/{payload}",  # no signature
        _path(links, "o", message_id).removesuffix(".gif").replace("/o/", "/c/"),  # wrong kind
        "/c/garbage",
    ]
    for attempt in attempts:
        response = client.get(attempt, follow_redirects=False)
        assert response.status_code == 404, attempt
        assert "location" not in response.headers
    assert client.get(f"/o/{payload}.gif").status_code == 404
    assert queries.events_of(db, message_id) == []


def test_unsubscribe_get_only_shows_the_page(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links
) -> None:
    message_id, contact_id = _message(settings, world)
    response = client.get(_path(links, "u", message_id))
    assert response.status_code == 200
    assert 'data-testid="unsubscribe-confirm"' in response.text
    assert f'action="{_path(links, "u", message_id)}"' in response.text
    assert "set-cookie" not in response.headers
    assert current_consent(db, contact_id)[(Channel.EMAIL, Purpose.MARKETING)] is True
    assert queries.events_of(db, message_id) == []


def test_one_click_post_withdraws_consent_without_cookie_csrf_or_redirect(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links
) -> None:
    # given a mailbox provider's RFC 8058 request: no cookie, no CSRF token
    message_id, contact_id = _message(settings, world)
    path = _path(links, "u", message_id)
    # when
    response = client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    # then
    assert response.status_code == 200
    assert "location" not in response.headers
    assert "set-cookie" not in response.headers
    assert current_consent(db, contact_id)[(Channel.EMAIL, Purpose.MARKETING)] is False
    withdrawal = db.scalars(
        select(ConsentEvent).where(ConsentEvent.contact_id == contact_id, ~ConsentEvent.granted)
    ).one()
    assert (withdrawal.channel, withdrawal.source) == (Channel.EMAIL, "unsubscribe")
    assert queries.events_of(db, message_id) == [(EventKind.UNSUBSCRIBE, None)]
    # and a second POST (the page's button pressed again) withdraws nothing more
    assert client.post(path).status_code == 200
    withdrawals = db.scalars(
        select(ConsentEvent.id).where(ConsentEvent.contact_id == contact_id, ~ConsentEvent.granted)
    ).all()
    assert len(withdrawals) == 1


def test_unsubscribe_with_a_tampered_token_changes_nothing(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links
) -> None:
    message_id, contact_id = _message(settings, world)
    path = _path(links, "u", message_id)
    response = client.post(path[:-3] + "xyz", follow_redirects=False)
    assert response.status_code == 404
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert current_consent(db, contact_id)[(Channel.EMAIL, Purpose.MARKETING)] is True


def test_unsubscribe_page_follows_the_visitors_language(
    client: TestClient, settings: Settings, world: World, links: Links
) -> None:
    message_id, _ = _message(settings, world)
    response = client.get(_path(links, "u", message_id), headers={"Accept-Language": "ru"})
    assert '<html lang="ru">' in response.text


def test_a_valid_click_for_a_deleted_message_still_redirects(
    client: TestClient, db: Session, links: Links
) -> None:
    response = client.get(_path(links, "c", 10**9, TARGET), follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == TARGET
    assert client.get(_path(links, "o", 10**9)).status_code == 200
    assert client.get(_path(links, "u", 10**9)).status_code == 404
    assert client.post(_path(links, "u", 10**9)).status_code == 404


def test_source_stats_count_states_and_unique_events(
    client: TestClient, db: Session, settings: Settings, world: World, links: Links
) -> None:
    # given two messages of one campaign: the first opened twice and clicked, then unsubscribed
    first, _ = _message(settings, world)
    other_contact = world.contact(email="boris@example.org")
    with session_scope(settings.database_url) as session:
        first_row = session.get(Message, first)
        assert first_row is not None
        key = OutboxKey("campaign", 1, "main", other_contact)
        new = NewMessage(key, first_row.account_id, first_row.content_id, Purpose.MARKETING)
        service.enqueue(session, new, now=NOW)
    client.get(_path(links, "o", first))
    client.get(_path(links, "o", first))
    client.get(_path(links, "c", first, TARGET), follow_redirects=False)
    client.post(_path(links, "u", first))
    # when
    stats = queries.source_stats(db, "campaign", 1)
    # then
    assert stats.states == {MessageState.QUEUED: 2}
    assert stats.unique == {EventKind.OPEN: 1, EventKind.CLICK: 1, EventKind.UNSUBSCRIBE: 1}
    assert queries.source_stats(db, "campaign", 2) == queries.SourceStats()
