"""JSON API of events: ingest one event or a batch, a contact's history, tracking sources.

Ingestion accepts a logged-in user or an API token allowed to edit customers, or a source's
write key in `X-Write-Key` (what a shop backend or a tag manager holds). A batch is one
transaction: one bad event and nothing of it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Depends, Header, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from retentio.auth.deps import current_user, optional_user, require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.contacts.access import visible_contact
from retentio.db import utcnow
from retentio.events import queries, service, sources
from retentio.events.followups import after_ingest
from retentio.events.models import Event, Source
from retentio.events.schemas import (
    EVENT_EXAMPLE,
    MAX_BATCH,
    EventBatch,
    EventIn,
    EventPage,
    EventRead,
    IngestResult,
    SourceIn,
    SourceRead,
    SourceUpdate,
)
from retentio.web.csrf import check_header_token, csrf_exempt
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.group_commit import grouped

router = APIRouter(tags=["events"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]
Viewer = Annotated[User, Depends(require(Permission.VIEW))]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No user, token or write key, or an unknown one"},
    403: {"description": "The user's role may not edit customers"},
    422: {
        "description": "Invalid input; `details` names each field, e.g. `events.3.email`",
        "content": {
            "application/json": {
                "example": {
                    "error": {
                        "code": "invalid_email",
                        "message": "events.3.email: 'anna@' is not a valid e-mail address.",
                        "details": [{"field": "events.3.email", "message": "…"}],
                    }
                }
            }
        },
    },
}


@dataclass(frozen=True)
class Sender:
    """Who sends events: a tracking source (by write key) or a user (source stays empty)."""

    source_id: int | None


# The ingest handlers open no session of their own: they authenticate, parse and store inside
# their grouped work (`retentio.web.group_commit`), which on SQLite shares one transaction with
# the other ingest requests waiting for the write gate, and return a ready response.
WriteKey = Annotated[
    str | None, Header(description="A source's write key, instead of a user or API token")
]


def ingest_sender(request: Request, session: Session, write_key: str | None) -> Sender:
    """Who sends: the write key if given, else a user or API token allowed to edit customers."""
    if write_key is not None:
        return Sender(source_id=sources.source_by_write_key(session, write_key).id)
    require(Permission.EDIT_CUSTOMERS)(current_user(optional_user(request, session)))
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        # The route opts out of the app-wide CSRF check for write keys; the cookie still needs it.
        check_header_token(request)
    return Sender(source_id=None)


@router.post(
    "/events",
    response_model=IngestResult,
    summary="Ingest one event",
    description="Stored once per `message_id`: a retry answers `duplicates: 1`.",
    responses=ERRORS,
)
@csrf_exempt
async def ingest_event(
    body: Annotated[
        EventIn,
        Body(openapi_examples={"cart_add": {"summary": "Cart add", "value": EVENT_EXAMPLE}}),
    ],
    request: Request,
    settings: SettingsDep,
    background: BackgroundTasks,
    x_write_key: WriteKey = None,
) -> JSONResponse:
    def work(session: Session) -> IngestResult:
        sender = ingest_sender(request, session, x_write_key)
        return service.ingest_one(
            session,
            body,
            source_id=sender.source_id,
            default_region=settings.default_region,
            now=utcnow(),
        )

    result = await grouped(request, work)
    # Background tasks run after the response, i.e. after the commit.
    background.add_task(after_ingest, result.touched, [body.type])
    return JSONResponse(result.model_dump())


BATCH_EXAMPLE = {
    "events": [
        {"message_id": "m-1", "type": "page_view", "anonymous_id": "a3f9c2d1"},
        EVENT_EXAMPLE,
        MAX_BATCH,
        {"message_id": "m-3", "type": "identify", "anonymous_id": "a3f9c2d1", "user_id": "42"},
    ]
}


async def batch_body(request: Request) -> bytes:
    """The raw body, read before the request queues for the SQLite write gate (a slow upload
    must not hold up other writers)."""
    return await request.body()


def parse_batch(raw: bytes) -> EventBatch:
    """The batch parsed and validated in one pass by pydantic-core from the raw bytes: about a
    third cheaper than json.loads followed by validation of the resulting dicts. Called in a
    worker thread, not in the event loop: there the parse (which holds the GIL throughout) would
    stall the thread writing the previous batch each time SQLite hands the GIL back."""
    try:
        return EventBatch.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from error


BATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["events"],
                "additionalProperties": False,
                "properties": {
                    "events": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_BATCH,
                        "items": {"$ref": "#/components/schemas/EventIn"},
                    }
                },
            },
            "examples": {"visit": {"summary": "A visit", "value": BATCH_EXAMPLE}},
        }
    },
}


@router.post(
    "/events/batch",
    response_model=IngestResult,
    summary="Ingest up to 1000 events",
    description="All or nothing: one invalid event rejects the batch and nothing is stored.",
    responses=ERRORS,
    openapi_extra={"requestBody": BATCH_BODY},
)
@csrf_exempt
async def ingest_batch(
    raw: Annotated[bytes, Depends(batch_body)],
    request: Request,
    settings: SettingsDep,
    background: BackgroundTasks,
    x_write_key: WriteKey = None,
) -> JSONResponse:
    def work(session: Session) -> tuple[IngestResult, set[str]]:
        sender = ingest_sender(request, session, x_write_key)
        body = parse_batch(raw)
        result = service.ingest(
            session,
            body.events,
            source_id=sender.source_id,
            default_region=settings.default_region,
            now=utcnow(),
        )
        return result, {e.type for e in body.events}

    result, types = await grouped(request, work)
    # Background tasks run after the response, i.e. after the commit.
    background.add_task(after_ingest, result.touched, types)
    return JSONResponse(result.model_dump())


@router.get(
    "/contacts/{contact_id}/events",
    response_model=EventPage,
    summary="A contact's events, newest first",
    responses={404: {"description": "No such contact, or not one the user may see"}},
)
def contact_events(
    contact_id: int,
    session: SessionDep,
    user: Viewer,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EventPage:
    visible_contact(session, user, contact_id)
    rows, total = queries.events_of(session, contact_id, page_number=page, per_page=per_page)
    return EventPage(items=[_read(r) for r in rows], total=total, page=page, per_page=per_page)


def _read(event: Event) -> EventRead:
    return EventRead.model_validate(event)


@router.get("/sources", response_model=list[SourceRead], summary="Tracking sources")
def list_sources(session: SessionDep, _admin: Admin) -> list[Source]:
    return list(sources.list_sources(session))


@router.post(
    "/sources",
    response_model=SourceRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a tracking source with a new write key",
)
def create_source(body: SourceIn, session: SessionDep, _admin: Admin) -> Source:
    return sources.create_source(
        session, name=body.name, allowed_origins=body.allowed_origins, actor_id=_admin.id
    )


@router.patch("/sources/{source_id}", response_model=SourceRead, summary="Rename, set origins")
def update_source(source_id: int, body: SourceUpdate, session: SessionDep, _admin: Admin) -> Source:
    return sources.update_source(
        session,
        source_id,
        name=body.name,
        allowed_origins=body.allowed_origins,
        actor_id=_admin.id,
    )


@router.post(
    "/sources/{source_id}/rotate-key",
    response_model=SourceRead,
    summary="Replace the write key; the old one stops working at once",
)
def rotate_key(source_id: int, session: SessionDep, _admin: Admin) -> Source:
    return sources.rotate_write_key(session, source_id, actor_id=_admin.id)
