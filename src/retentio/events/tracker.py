"""The website tracker: `GET /t.js` (the script shops paste) and `POST /collect` (its batches).

Public endpoints: the write key in the body says which source sends, and a browser may call
only from an origin that source lists. The Segment-compatible API lives in its own router.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from retentio.db import utcnow
from retentio.errors import InvalidInput, RetentioError
from retentio.events.followups import after_ingest
from retentio.events.models import Source
from retentio.events.schemas import MAX_BATCH, EventIn, IngestResult
from retentio.events.service import ingest, parse_events
from retentio.events.sources import list_sources, origin_allowed, source_by_write_key
from retentio.web.csrf import csrf_exempt
from retentio.web.deps import SessionDep, SettingsDep, client_ip
from retentio.web.group_commit import grouped
from retentio.web.public import (
    check_origin,
    json_object,
    preflight,
    public_error,
    public_json,
    raw_body,
    request_origin,
)

router = APIRouter(include_in_schema=False)
RawBody = Annotated[bytes, Depends(raw_body)]
SCRIPT = Path(__file__).resolve().parent / "static" / "t.js"
# Shops embed the script on every page: let browsers and CDNs keep it, revalidating hourly.
SCRIPT_CACHE = "public, max-age=3600"


@dataclass(frozen=True)
class Script:
    body: bytes
    etag: str


@lru_cache(maxsize=1)
def _script() -> Script:
    body = SCRIPT.read_bytes()
    return Script(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:16]}"')


@router.get("/t.js")
def tracker_script(request: Request) -> Response:
    script = _script()
    headers = {"Cache-Control": SCRIPT_CACHE, "ETag": script.etag}
    if request.headers.get("if-none-match") == script.etag:
        return Response(status_code=304, headers=headers)
    return Response(script.body, media_type="text/javascript; charset=utf-8", headers=headers)


@router.options("/collect")
def collect_preflight(request: Request, session: SessionDep) -> Response:
    # A preflight carries no body, hence no write key: any source listing the origin will do.
    origin = request_origin(request)
    allowed = any(source_allows(s, origin) for s in list_sources(session))
    return preflight(origin, allowed=allowed)


class _Refused(Exception):
    """The write key is unknown or its source does not list the origin: answered without CORS
    headers, so the page learns nothing about the sources."""

    def __init__(self, error: RetentioError) -> None:
        super().__init__(str(error))
        self.error = error


@router.post("/collect")
@csrf_exempt
async def collect(
    request: Request, settings: SettingsDep, body: RawBody, background: BackgroundTasks
) -> Response:
    """Store a batch `{"writeKey", "sentAt"?, "events": [EventIn…]}` from the tracker."""
    origin = request_origin(request)
    try:
        payload = json_object(body)
    except RetentioError as error:
        return public_error(error, origin=None)
    now = utcnow()

    def work(session: Session) -> tuple[IngestResult, set[str]]:
        try:
            source = source_by_write_key(session, _text(payload.get("writeKey")))
            check_origin(origin, allowed=source_allows(source, origin))
        except RetentioError as error:
            raise _Refused(error) from error
        events = _prepared_events(request, payload, now)
        result = ingest(
            session, events, source_id=source.id, default_region=settings.default_region, now=now
        )
        return result, {e.type for e in events}

    try:
        result, types = await grouped(request, work)
    except _Refused as refused:
        return public_error(refused.error, origin=None)
    except RetentioError as error:
        return public_error(error, origin=origin)
    background.add_task(after_ingest, result.touched, types)  # after the commit
    return public_json(result.model_dump(), origin=origin)


def source_allows(source: Source | None, origin: str | None) -> bool:
    """Whether a browser on `origin` may post for `source`; a malformed Origin (`null` from a
    sandboxed frame, garbage) is simply not allowed rather than an input error."""
    if source is None:
        return False
    try:
        return origin_allowed(source, origin)
    except InvalidInput:
        return False


def _prepared_events(request: Request, payload: dict[str, Any], now: datetime) -> list[EventIn]:
    return _with_request_context(
        parse_events(_event_list(payload)),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        skew=_clock_skew(payload.get("sentAt"), now),
        now=now,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _event_list(payload: dict[str, Any]) -> list[dict[str, Any]]:
    events = payload.get("events")
    if not isinstance(events, list) or not events or len(events) > MAX_BATCH:
        raise InvalidInput(
            f"events: send a list of 1 to {MAX_BATCH} events.", details={"field": "events"}
        )
    if not all(isinstance(e, dict) for e in events):
        raise InvalidInput("events: every event must be an object.", details={"field": "events"})
    return events


def _clock_skew(sent_at: Any, now: datetime) -> timedelta:
    """How far the browser's clock is behind ours, from the batch's own `sentAt`.

    Browsers' clocks are often minutes (or years) off; like Segment's `sentAt`, the difference
    between when the batch says it was sent and when it arrived corrects every event in it.
    """
    if not isinstance(sent_at, str):
        return timedelta(0)
    try:
        sent = datetime.fromisoformat(sent_at.replace("Z", "+00:00"))
    except ValueError:
        return timedelta(0)
    if sent.tzinfo is None:
        return timedelta(0)
    return now - sent


def _with_request_context(
    events: list[EventIn], *, ip: str, user_agent: str, skew: timedelta, now: datetime
) -> list[EventIn]:
    """What the server saw overrides what the page claims: IP and user agent, corrected time."""
    enriched = []
    for event in events:
        context = {**event.context, "ip": ip, "userAgent": user_agent[:500]}
        occurred = event.occurred_at + skew if event.occurred_at else None
        enriched.append(
            event.model_copy(
                update={"context": context, "occurred_at": min(occurred, now) if occurred else None}
            )
        )
    return enriched
