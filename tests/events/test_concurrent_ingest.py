"""Concurrent posts: retries of one event against a real server (the dedup key settles the
race), and batches written in one group commit each answered as if alone."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
from fastapi import FastAPI
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.events.models import Event
from retentio.web.group_commit import CommitGroups
from tests.conftest import run_in_own_loop
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


def _batch(prefix: str, *, email: str = "anna@example.ru") -> dict[str, object]:
    return {
        "events": [
            {"message_id": f"{prefix}-{i}", "type": "page_view", "user_id": "42", "email": email}
            for i in range(3)
        ]
    }


def test_concurrent_batches_each_get_their_own_answer(
    app: FastAPI, source: SourceRef, db: Session
) -> None:
    # given: five batches posted at once while a writer holds the gate (where there is one):
    # two good, one with an invalid e-mail, one with an unknown write key, one resent
    good = {"X-Write-Key": source.write_key}
    posts = [
        (_batch("one"), good),
        (_batch("bad", email="anna@"), good),
        (_batch("two"), {"X-Write-Key": "wrong"}),
        (_batch("two"), good),
        (_batch("one"), good),
    ]
    gate = getattr(app.state, "write_gate", None) or anyio.Lock()
    groups: CommitGroups | None = getattr(app.state, "commit_groups", None)

    async def post_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            async with gate:
                sent = [
                    asyncio.ensure_future(
                        http.post("/api/v1/events/batch", content=json.dumps(body), headers=h)
                    )
                    for body, h in posts
                ]
                while groups is not None and groups.waiting < len(posts):
                    await asyncio.sleep(0.001)
            return list(await asyncio.gather(*sent))

    # when
    responses = run_in_own_loop(post_all)
    # then: each request answered as if alone; only the good events are stored, once
    assert [r.status_code for r in responses] == [200, 422, 401, 200, 200]
    assert responses[1].json()["error"]["details"][0]["field"] == "events.0.email"
    answers = [r.json() for r in (responses[0], responses[3], responses[4])]
    assert sorted((a["accepted"], a["duplicates"]) for a in answers) == [(0, 3), (3, 0), (3, 0)]
    assert count(db, Event) == 6
