"""JSON API of messaging under `/api/v1/messaging`: bounces and complaints reported by an
e-mail provider (or a script relaying its notifications), and the topics contacts can turn off
on the preference page.

Marketers and admins may report bounces and edit topics, with an API token or the session and
its CSRF token; every role may list topics. A bounce batch is validated whole first (422 naming
the item and field); then each item is recorded on its message, and items matching no message
are listed back by index, never failing the batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.contacts.normalize import normalize_email
from retentio.db import utcnow
from retentio.errors import InvalidInput
from retentio.messaging import bounces, preferences, service
from retentio.messaging.bounces import BounceType
from retentio.messaging.models import Topic
from retentio.web.deps import SessionDep

router = APIRouter(prefix="/messaging", tags=["messaging"])
Writer = Annotated[User, Depends(require(Permission.MARKETING))]
Reader = Annotated[User, Depends(require(Permission.VIEW))]
MAX_BOUNCES = 1000

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No user or API token, or an unknown one"},
    403: {"description": "The user's role may not do marketing"},
    422: {"description": "Invalid input; `details` names each field, e.g. `bounces.3.type`"},
}


class BounceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str | None = Field(
        default=None, max_length=300, description="The RFC Message-ID we sent the message with"
    )
    email: str | None = Field(
        default=None,
        validate_default=True,
        description="The address, when the provider does not quote the Message-ID: the latest "
        "message to it",
    )
    type: BounceType
    detail: str = Field(default="", max_length=2000)
    occurred_at: AwareDatetime | None = None

    @field_validator("email")
    @classmethod
    def _message_or_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if not info.data.get("message_id"):
                raise ValueError("give the message_id or the email")
            return None
        try:
            return normalize_email(value)
        except InvalidInput as error:
            raise ValueError(error.message) from error


class BounceBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bounces: list[BounceIn] = Field(min_length=1, max_length=MAX_BOUNCES)


class UnknownItem(BaseModel):
    index: int
    reason: str  # unknown_message_id, unknown_address


class BounceResult(BaseModel):
    recorded: int
    duplicates: int = Field(description="Items recorded before: a retried batch changes nothing")
    unknown: int
    unknown_items: list[UnknownItem]


@router.post(
    "/bounces",
    response_model=BounceResult,
    summary="Report bounces and complaints",
    description="Hard bounces and complaints suppress the address at once, soft bounces after "
    "the third in a row; a complaint also withdraws marketing consent for the channel.",
    responses=ERRORS,
)
def report_bounces(body: BounceBatch, session: SessionDep, _user: Writer) -> BounceResult:
    items = [bounces.ReportedBounce(**item.model_dump()) for item in body.bounces]
    result = bounces.record_reported(session, items, now=utcnow())
    return BounceResult(
        recorded=result.recorded,
        duplicates=result.duplicates,
        unknown=len(result.unknown),
        unknown_items=[UnknownItem(index=i, reason=r) for i, r in result.unknown],
    )


class TopicIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        max_length=60, description="Stable name for scripts: a-z, 0-9 and _, starting with a letter"
    )
    name: str = Field(max_length=service.TOPIC_NAME_MAX, description="As contacts see it")
    description: str = Field(default="", max_length=2000)


class TopicPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=service.TOPIC_NAME_MAX)
    description: str | None = Field(default=None, max_length=2000)
    archived: bool | None = Field(
        default=None, description="An archived topic leaves the preference page"
    )


class TopicRead(BaseModel):
    id: int
    key: str
    name: str
    description: str
    archived: bool
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, topic: Topic) -> TopicRead:
        return cls(
            id=topic.id,
            key=topic.key,
            name=topic.name,
            description=topic.description,
            archived=topic.archived_at is not None,
            created_at=topic.created_at,
            archived_at=topic.archived_at,
        )


TOPIC_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"description": "No such topic"},
    409: {"description": "`topic_key_taken`: another topic has this key"},
}


@router.get("/topics", response_model=list[TopicRead], summary="List topics", responses=ERRORS)
def list_topics(session: SessionDep, _user: Reader, archived: bool = False) -> list[TopicRead]:
    """By name; `archived=true` lists the archived ones too."""
    return [TopicRead.of(t) for t in preferences.list_topics(session, archived=archived)]


@router.post(
    "/topics",
    response_model=TopicRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a topic",
    responses=TOPIC_ERRORS,
)
def create_topic(body: TopicIn, session: SessionDep, _user: Writer) -> TopicRead:
    topic = service.create_topic(
        session, key=body.key, name=body.name, description=body.description, now=utcnow()
    )
    return TopicRead.of(topic)


@router.patch(
    "/topics/{topic_id}",
    response_model=TopicRead,
    summary="Rename, describe, archive or restore a topic",
    responses=TOPIC_ERRORS,
)
def update_topic(topic_id: int, body: TopicPatch, session: SessionDep, _user: Writer) -> TopicRead:
    topic = service.update_topic(
        session,
        topic_id,
        name=body.name,
        description=body.description,
        archived=body.archived,
        now=utcnow(),
    )
    return TopicRead.of(topic)
