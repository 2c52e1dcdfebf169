"""The website tracker: the script itself, and the collect endpoint with its CORS rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.events import sources
from retentio.events.models import Event
from retentio.settings import Settings
from tests.events.conftest import SourceRef, count

SHOP = "https://shop.example"
STRANGER = "https://evil.example"


@pytest.fixture
def shop(settings: Settings) -> SourceRef:
    with session_scope(settings.database_url) as session:
        created = sources.create_source(session, name="Shop", allowed_origins=[SHOP], actor_id=None)
        return SourceRef(created.id, created.write_key)


def _event(message_id: str, type_: str = "page_view", **extra: Any) -> dict[str, Any]:
    return {"message_id": message_id, "type": type_, "anonymous_id": "visitor-1", **extra}


def _collect(client: TestClient, body: dict[str, Any], *, origin: str | None = SHOP) -> Any:
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": "TestBrowser/1.0"}
    if origin:
        headers["Origin"] = origin
    return client.post("/collect", content=json.dumps(body), headers=headers)


def test_the_script_is_served_cacheable_and_revalidates(client: TestClient) -> None:
    # when
    first = client.get("/t.js")
    again = client.get("/t.js", headers={"If-None-Match": first.headers["etag"]})
    # then
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/javascript; charset=utf-8"
    assert first.headers["cache-control"] == "public, max-age=3600"
    assert "data-write-key" in first.text
    assert "innerHTML" not in first.text
    assert again.status_code == 304


def test_a_batch_from_an_allowed_origin_is_stored_with_ip_and_user_agent(
    client: TestClient, shop: SourceRef, db: Session
) -> None:
    # given
    campaign = {"source": "yandex", "medium": "cpc", "name": "spring"}
    body = {
        "writeKey": shop.write_key,
        "events": [_event("m1", context={"campaign": campaign}), _event("m2", "cart_add")],
    }
    # when
    response = _collect(client, body)
    # then
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "duplicates": 0}
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.headers["vary"] == "Origin"
    events = db.scalars(select(Event).order_by(Event.message_id)).all()
    assert [(e.type, e.source_id) for e in events] == [
        ("page_view", shop.id),
        ("cart_add", shop.id),
    ]
    assert events[1].context == {"ip": "testclient", "userAgent": "TestBrowser/1.0"}
    contact = db.scalars(select(Contact)).one()
    assert (contact.utm_source, contact.utm_medium, contact.utm_campaign) == (
        "yandex",
        "cpc",
        "spring",
    )


def test_a_batch_from_another_origin_is_refused_without_cors_headers(
    client: TestClient, shop: SourceRef, db: Session
) -> None:
    # when
    response = _collect(
        client, {"writeKey": shop.write_key, "events": [_event("m1")]}, origin=STRANGER
    )
    # then
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers
    assert count(db, Event) == 0


def test_an_opaque_origin_is_refused(client: TestClient, shop: SourceRef) -> None:
    # a sandboxed frame or a file:// page sends `Origin: null`
    body = {"writeKey": shop.write_key, "events": [_event("m1")]}
    response = _collect(client, body, origin="null")
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


def test_a_server_without_an_origin_header_is_accepted_by_write_key(
    client: TestClient, shop: SourceRef
) -> None:
    response = _collect(client, {"writeKey": shop.write_key, "events": [_event("m1")]}, origin=None)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_preflight_answers_allowed_origins_only(client: TestClient, shop: SourceRef) -> None:
    # given
    asking = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    # when
    allowed = client.options("/collect", headers={"Origin": SHOP, **asking})
    refused = client.options("/collect", headers={"Origin": STRANGER, **asking})
    # then
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SHOP
    assert allowed.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert allowed.headers["access-control-allow-headers"] == "Content-Type"
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_an_unknown_write_key_is_401_in_the_error_shape(client: TestClient) -> None:
    response = _collect(client, {"writeKey": "nope", "events": [_event("m1")]})
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "unknown_write_key",
            "message": "The write key is missing or unknown.",
            "details": None,
        }
    }


def test_a_bad_event_names_its_position_and_stores_nothing(
    client: TestClient, shop: SourceRef, db: Session
) -> None:
    # when: the second event of the batch has an invalid type
    body = {"writeKey": shop.write_key, "events": [_event("m1"), _event("m2", "9 bad")]}
    response = _collect(client, body)
    # then: the page may read the error, and the batch is not half stored
    assert response.status_code == 422
    assert response.headers["access-control-allow-origin"] == SHOP
    assert [d["field"] for d in response.json()["error"]["details"]] == ["events.1.type"]
    assert count(db, Event) == 0
    assert count(db, Contact) == 0


def test_malformed_json_is_400(client: TestClient, shop: SourceRef) -> None:
    response = client.post("/collect", content=b"{not json", headers={"Origin": SHOP})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_body"


def test_event_times_are_corrected_by_the_browser_clock_skew(
    client: TestClient, shop: SourceRef, db: Session
) -> None:
    # given: a browser whose clock is a year behind; its event happened 10 minutes before sending
    sent = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    occurred = sent - timedelta(minutes=10)
    body = {
        "writeKey": shop.write_key,
        "sentAt": sent.isoformat().replace("+00:00", "Z"),
        "events": [_event("m1", occurred_at=occurred.isoformat())],
    }
    # when
    _collect(client, body)
    # then: stored ten minutes before it arrived, whatever the browser's clock said
    event = db.scalars(select(Event)).one()
    assert event.received_at - event.occurred_at == timedelta(minutes=10)
