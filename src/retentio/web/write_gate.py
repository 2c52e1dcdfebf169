"""One writing transaction at a time per process on SQLite, queued in the event loop.

SQLite has a single writer. Without this gate, fifty concurrent writes each take a worker
thread and block in `BEGIN IMMEDIATE`; the request holding the lock then waits for a free
thread to run its handler, and none comes until the busy timeout expires. Queuing writers here
costs no throughput (they would serialize in SQLite anyway) and keeps threads for readers.
PostgreSQL needs no gate.

The request's session dependency takes the gate (`write_slot`) just before the session opens
and gives it back right after the commit, so what a request does outside its transaction —
reading and validating its body, rendering and sending the response, background tasks — runs
beside the next writer's transaction instead of in front of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import FastAPI, Request
from starlette.types import Scope

from retentio.web.group_commit import CommitGroups

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_writing(scope: Scope) -> bool:
    """The same rule as the session dependency: unsafe methods and API-token calls write."""
    headers = dict(scope.get("headers", []))
    return scope["method"] not in READ_METHODS or b"authorization" in headers


def install_write_gate(app: FastAPI) -> None:
    """Writing requests of this app take turns (call it for SQLite only); those that only
    ingest take them in groups (`retentio.web.group_commit`)."""
    app.state.write_gate = anyio.Lock()
    app.state.commit_groups = CommitGroups(app.state.write_gate)


async def write_slot(request: Request) -> AsyncIterator[None]:
    """Held from before the session opens until after it commits or rolls back."""
    gate: anyio.Lock | None = getattr(request.app.state, "write_gate", None)
    if gate is None or not is_writing(request.scope):
        yield
        return
    async with gate:
        yield
