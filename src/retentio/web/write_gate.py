"""One writing request at a time per process on SQLite, queued in the event loop.

SQLite has a single writer. Without this gate, fifty concurrent writes each take a worker
thread and block in `BEGIN IMMEDIATE`; the request holding the lock then waits for a free
thread to run its handler, and none comes until the busy timeout expires. Queuing writers here
costs no throughput (they would serialize in SQLite anyway) and keeps threads for readers.
PostgreSQL needs no gate.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_writing(scope: Scope) -> bool:
    """The same rule as the session dependency: unsafe methods and API-token calls write."""
    headers = dict(scope.get("headers", []))
    return scope["method"] not in READ_METHODS or b"authorization" in headers


class SQLiteWriteGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lock = anyio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_writing(scope):
            await self.app(scope, receive, send)
            return
        async with self.lock:
            await self.app(scope, receive, send)
