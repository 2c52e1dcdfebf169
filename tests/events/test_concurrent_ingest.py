"""Concurrent retries of one event against a real server: the dedup key settles the race."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.events.models import Event
from tests.events.conftest import SourceRef, count

CLIENTS = 50


def test_fifty_concurrent_posts_of_one_message_store_exactly_one_event(
    live_server: str, source: SourceRef, db: Session
) -> None:
    # given: 50 clients holding the same event, released at once
    body = json.dumps({"message_id": "same-1", "type": "cart_add", "anonymous_id": "visitor-1"})
    headers = {"X-Write-Key": source.write_key, "Content-Type": "application/json"}
    start = threading.Barrier(CLIENTS)

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=live_server, timeout=120) as http:
            start.wait()
            return http.post("/api/v1/events", content=body, headers=headers)

    # when
    with ThreadPoolExecutor(CLIENTS) as pool:
        responses = list(pool.map(post, range(CLIENTS)))
    # then: every request succeeded, one of them stored the event, the rest saw a duplicate
    assert [r.status_code for r in responses] == [200] * CLIENTS
    assert sorted(r.json()["accepted"] for r in responses) == [0] * (CLIENTS - 1) + [1]
    assert count(db, Event) == 1
    assert count(db, Contact) == 1


def test_a_slow_upload_does_not_hold_up_other_writers(
    live_server: str, source: SourceRef, db: Session
) -> None:
    # given: a client that sent its headers and half of its body, and stalls
    slow_body = json.dumps({"message_id": "slow-1", "type": "page_view", "anonymous_id": "v-1"})
    url = httpx.URL(live_server)
    stalled = socket.create_connection((url.host, url.port), timeout=30)
    head = (
        f"POST /api/v1/events HTTP/1.1\r\nHost: {url.host}\r\nX-Write-Key: {source.write_key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(slow_body)}\r\n\r\n"
    )
    half = len(slow_body) // 2
    stalled.sendall(head.encode() + slow_body[:half].encode())
    try:
        # when: another client posts meanwhile
        quick = httpx.post(
            f"{live_server}/api/v1/events",
            json={"message_id": "quick-1", "type": "page_view", "anonymous_id": "v-2"},
            headers={"X-Write-Key": source.write_key},
            timeout=15,
        )
        # then: it is stored while the slow upload is still incomplete
        assert quick.status_code == 200
        assert quick.json()["accepted"] == 1
        # and the slow one is stored too once its body arrives
        stalled.sendall(slow_body[half:].encode())
        assert stalled.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        stalled.close()
    assert count(db, Event) == 2
