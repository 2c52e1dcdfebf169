"""The Segment-compatible Tracking API: auth by write key, gzip, errors, and the real
`segment-analytics-python` SDK against a live server, retries included."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from segment.analytics import Client as SegmentClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from retentio.contacts.models import Contact
from retentio.events.models import Event, EventDedup
from tests.conftest import serving
from tests.events.conftest import SourceRef, count


def _basic(write_key: str) -> dict[str, str]:
    # What the SDKs send: the write key as user name, no password.
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def test_identify_with_basic_auth_is_stored_with_the_source(
    client: TestClient, source: SourceRef, db: Session
) -> None:
    message = {"messageId": "i1", "userId": "42", "traits": {"email": "anna@example.ru"}}
    response = client.post("/v1/identify", json=message, headers=_basic(source.write_key))
    assert (response.status_code, response.json()) == (200, {"success": True})
    event = db.scalars(select(Event)).one()
    assert (event.type, event.message_id, event.source_id) == ("identify", "i1", source.id)


def test_a_gzipped_batch_with_the_write_key_in_the_body_is_accepted(
    client: TestClient, source: SourceRef, db: Session
) -> None:
    body = {
        "writeKey": source.write_key,
        "batch": [
            {"type": "page", "messageId": "p1", "anonymousId": "a1", "name": "Home"},
            {"type": "track", "messageId": "t1", "anonymousId": "a1", "event": "Signed Up"},
        ],
    }
    response = client.post(
        "/v1/batch",
        content=gzip.compress(json.dumps(body).encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert sorted(db.scalars(select(Event.type))) == ["page_view", "signed_up"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic bm9wZTo="}])
def test_a_missing_or_wrong_write_key_is_a_json_401(
    client: TestClient, db: Session, headers: dict[str, str]
) -> None:
    message = {"messageId": "x", "userId": "1", "event": "Signed Up"}
    response = client.post("/v1/track", json=message, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unknown_write_key"
    assert count(db, Event) == 0


@pytest.mark.parametrize(
    ("message", "status", "field"),
    [
        ({"type": "track", "userId": "1", "event": "Signed Up"}, 400, "batch.1.messageId"),
        (
            {"type": "identify", "messageId": "b", "traits": {"email": "anna@"}},
            422,
            "batch.1.traits.email",
        ),
        (
            {
                "type": "track",
                "messageId": "b",
                "userId": "1",
                "context": {"traits": {"phone": "12"}},
                "event": "X",
            },
            422,
            "batch.1.traits.phone",
        ),
        ({"type": "track", "messageId": "b", "userId": "1"}, 422, "batch.1.event"),
        ({"type": "page", "messageId": "b"}, 422, "batch.1.userId"),
    ],
)
def test_a_bad_message_rejects_the_whole_batch_naming_the_field(
    client: TestClient,
    source: SourceRef,
    db: Session,
    message: dict[str, Any],
    status: int,
    field: str,
) -> None:
    # given: a good message followed by a bad one
    good = {"type": "page", "messageId": "a", "anonymousId": "v1"}
    # when
    response = client.post(
        "/v1/batch", json={"batch": [good, message]}, headers=_basic(source.write_key)
    )
    # then
    error = response.json()["error"]
    assert (response.status_code, [d["field"] for d in error["details"]]) == (status, [field])
    assert [count(db, m) for m in (Event, EventDedup, Contact)] == [0, 0, 0]


def test_a_body_that_is_not_json_is_a_400(client: TestClient, source: SourceRef) -> None:
    response = client.post("/v1/batch", content=b"{oops", headers=_basic(source.write_key))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed_body")


def test_alias_joins_the_anonymous_visitor_to_the_user(
    client: TestClient, source: SourceRef, db: Session
) -> None:
    auth = _basic(source.write_key)
    client.post("/v1/page", json={"messageId": "p", "anonymousId": "anon-9"}, headers=auth)
    client.post("/v1/identify", json={"messageId": "i", "userId": "u-9"}, headers=auth)
    assert count(db, Contact) == 2
    client.post(
        "/v1/alias", json={"messageId": "a", "previousId": "anon-9", "userId": "u-9"}, headers=auth
    )
    alive = db.scalars(select(Contact).where(Contact.deleted_at.is_(None))).all()
    assert len(alive) == 1
    assert sorted(db.scalars(select(Event.type).where(Event.contact_id == alive[0].id))) == [
        "alias",
        "identify",
        "page_view",
    ]


class LoseFirstBatchResponse:
    """Lets the app store the first `/v1/batch`, then answers 500 as if its response were lost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.batches = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/batch":
            await self.app(scope, receive, send)
            return
        self.batches += 1
        if self.batches > 1:
            await self.app(scope, receive, send)
            return

        async def swallow(_message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def sdk_errors() -> list[Exception]:
    return []


def _sdk(host: str, write_key: str, errors: list[Exception]) -> SegmentClient:
    # A short upload interval and few retries keep the test quick; the first retry is immediate.
    return SegmentClient(
        write_key=write_key,
        host=host,
        max_retries=2,
        upload_interval=0.05,
        timeout=30,
        on_error=lambda error, _batch: errors.append(error),
    )


def _visit_then_identify(analytics: SegmentClient) -> None:
    analytics.page(anonymous_id="anon-1", name="Home")
    analytics.track(anonymous_id="anon-1", event="Product Viewed", properties={"sku": "A"})
    analytics.identify(
        user_id="u-42",
        anonymous_id="anon-1",
        traits={"email": "Anna@Example.ru", "firstName": "Anna"},
    )
    analytics.track(user_id="u-42", event="Order Completed", properties={"revenue": 5990})
    analytics.shutdown()


def _assert_one_contact_with_the_visit(db: Session, source: SourceRef) -> None:
    events = db.scalars(select(Event).order_by(Event.id)).all()
    alive = db.scalars(select(Contact).where(Contact.deleted_at.is_(None))).all()
    assert [e.type for e in events] == ["page_view", "product_view", "identify", "order_placed"]
    assert len({e.message_id for e in events}) == 4
    assert len(alive) == 1
    assert (alive[0].email, alive[0].first_name, alive[0].is_anonymous) == (
        "anna@example.ru",
        "Anna",
        False,
    )
    assert {(e.contact_id, e.source_id) for e in events} == {(alive[0].id, source.id)}


@pytest.fixture
def live(app: FastAPI) -> Iterator[tuple[str, LoseFirstBatchResponse]]:
    wrapper = LoseFirstBatchResponse(app)
    with serving(wrapper) as url:
        yield url, wrapper


def test_the_segment_sdk_delivers_a_visit_and_identifies_the_visitor(
    live_server: str, source: SourceRef, db: Session, sdk_errors: list[Exception]
) -> None:
    # when: the official SDK sends a visit, an identify and an order to Retentio
    _visit_then_identify(_sdk(live_server, source.write_key, sdk_errors))
    # then: each message is stored once, on one contact
    assert sdk_errors == []
    _assert_one_contact_with_the_visit(db, source)


def test_sdk_retries_after_a_lost_response_store_nothing_twice(
    live: tuple[str, LoseFirstBatchResponse],
    source: SourceRef,
    db: Session,
    sdk_errors: list[Exception],
) -> None:
    # given: a server that stores the first batch but answers it with 500
    url, wrapper = live
    # when: the SDK sends, sees the 500 and retries with the same message ids
    _visit_then_identify(_sdk(url, source.write_key, sdk_errors))
    # then: the retry happened, succeeded, and every message is stored exactly once
    assert wrapper.batches >= 2
    assert sdk_errors == []
    _assert_one_contact_with_the_visit(db, source)
    assert count(db, EventDedup) == 4
