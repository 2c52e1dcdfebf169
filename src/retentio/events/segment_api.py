"""Segment's HTTP Tracking API on Retentio's own host: `POST /v1/identify|track|page|screen|
group|alias|batch`.

Point a Segment SDK at Retentio (`host=`) with a source's write key: as HTTP Basic user name
(what the SDKs do) or as `writeKey` in the body. Messages go through the same ingestion as
`/api/v1/events/batch`: stored once per `messageId`, all of a request or nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from retentio.db import utcnow
from retentio.errors import InvalidInput
from retentio.events import segment_mapping, service, sources
from retentio.events.followups import after_ingest
from retentio.events.models import Source
from retentio.events.schemas import EventIn
from retentio.web.csrf import csrf_exempt
from retentio.web.deps import SettingsDep
from retentio.web.group_commit import grouped
from retentio.web.public import MalformedBody, PayloadTooLarge

router = APIRouter(prefix="/v1", tags=["segment"])
# Segment itself takes 500 KB per batch; a little room for SDKs that pack more.
MAX_BODY = 4 * 1024 * 1024


class SegmentOk(BaseModel):
    success: bool = True


OK = SegmentOk().model_dump()


async def segment_body(request: Request) -> dict[str, Any]:
    """The JSON body, gunzipped when sent with `Content-Encoding: gzip` (as SDKs may)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise PayloadTooLarge(f"body: more than {MAX_BODY} bytes.")
    if request.headers.get("content-encoding", "").strip().lower() == "gzip":
        raw = _gunzip(raw)
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise MalformedBody("body: not valid JSON.", details={"field": "body"}) from error
    if not isinstance(body, dict):
        raise MalformedBody("body: a JSON object is expected.", details={"field": "body"})
    return body


def _gunzip(raw: bytes) -> bytes:
    # Bounded, so a small "zip bomb" cannot make the server inflate gigabytes.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, MAX_BODY + 1)
    except zlib.error as error:
        raise MalformedBody("body: not valid gzip.", details={"field": "body"}) from error
    if len(data) > MAX_BODY or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"body: more than {MAX_BODY} bytes once unpacked.")
    return data


SegmentBody = Annotated[dict[str, Any], Depends(segment_body)]


def segment_source(request: Request, session: Session, body: dict[str, Any]) -> Source:
    """The source whose write key came as the Basic user name or as `writeKey` in the body.

    Called inside the handlers' grouped work: see the note in `retentio.events.api`.
    """
    return sources.source_by_write_key(session, _write_key(request, body))


def _write_key(request: Request, body: dict[str, Any]) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(credentials, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            return user
    key = body.get("writeKey")
    return key if isinstance(key, str) else None


def _store(
    session: Session,
    events: list[EventIn],
    *,
    source: Source,
    default_region: str,
    now: datetime,
    rename: Callable[[str], str],
) -> list[int]:
    """Store the events; the contacts whose profile they may change."""
    try:
        result = service.ingest(
            session, events, source_id=source.id, default_region=default_region, now=now
        )
    except InvalidInput as error:
        raise service.relabel(error, rename) from error
    return result.touched


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not JSON, not gzip, or a message without `messageId`"},
    401: {"description": "The write key is missing or unknown"},
    422: {"description": "A field is invalid; `details` names it, e.g. `batch.2.traits.email`"},
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "identify": {
        "messageId": "5f0e…",
        "userId": "42",
        "anonymousId": "a3f9c2d1",
        "traits": {"email": "anna@example.ru", "firstName": "Anna"},
    },
    "track": {
        "messageId": "0b6f…",
        "userId": "42",
        "event": "Product Added",
        "properties": {"sku": "SHOE-RUN-42", "price": 5990},
        "timestamp": "2026-03-01T12:00:00Z",
    },
    "page": {"messageId": "1c2d…", "anonymousId": "a3f9c2d1", "name": "Home"},
    "screen": {"messageId": "7a8b…", "userId": "42", "name": "Cart"},
    "group": {"messageId": "9e0f…", "userId": "42", "groupId": "acme", "traits": {"plan": "b2b"}},
    "alias": {"messageId": "3d4e…", "previousId": "a3f9c2d1", "userId": "42"},
}


def _body_doc(example: dict[str, Any]) -> dict[str, Any]:
    content = {"application/json": {"schema": {"type": "object"}, "example": example}}
    return {"requestBody": {"required": True, "content": content}}


def _single_endpoint(call: str) -> Callable[..., Awaitable[JSONResponse]]:
    @csrf_exempt
    async def endpoint(
        request: Request, body: SegmentBody, settings: SettingsDep, background: BackgroundTasks
    ) -> JSONResponse:
        def work(session: Session) -> tuple[list[int], str]:
            source = segment_source(request, session, body)
            now = utcnow()
            event = segment_mapping.to_event(body, call=call, now=now)
            touched = _store(
                session,
                [event],
                source=source,
                default_region=settings.default_region,
                now=now,
                rename=segment_mapping.single_field,
            )
            return touched, event.type

        touched, event_type = await grouped(request, work)
        background.add_task(after_ingest, touched, [event_type])  # after the commit
        return JSONResponse(OK)

    return endpoint


for _call, _example in EXAMPLES.items():
    router.add_api_route(
        f"/{_call}",
        _single_endpoint(_call),
        methods=["POST"],
        name=f"segment_{_call}",
        response_model=SegmentOk,
        summary=f"Segment {_call}",
        responses=ERRORS,
        openapi_extra=_body_doc(_example),
    )


@router.post(
    "/batch",
    response_model=SegmentOk,
    summary="Segment batch (what the SDKs send)",
    responses=ERRORS,
    openapi_extra=_body_doc({"batch": [{"type": k, **v} for k, v in EXAMPLES.items()]}),
)
@csrf_exempt
async def segment_batch(
    request: Request, body: SegmentBody, settings: SettingsDep, background: BackgroundTasks
) -> JSONResponse:
    def work(session: Session) -> tuple[list[int], set[str]]:
        source = segment_source(request, session, body)
        now = utcnow()
        events = segment_mapping.batch_events(body, now=now)
        touched = _store(
            session,
            events,
            source=source,
            default_region=settings.default_region,
            now=now,
            rename=segment_mapping.batch_field,
        )
        return touched, {e.type for e in events}

    touched, types = await grouped(request, work)
    background.add_task(after_ingest, touched, types)  # after the commit
    return JSONResponse(OK)
