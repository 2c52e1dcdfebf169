"""Concurrent retries of one event against a real server: the dedup key settles the race."""

from __future__ import annotations

import json
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
