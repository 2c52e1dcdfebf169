"""JSON API of messaging under `/api/v1/messaging`: bounces and complaints reported by an
e-mail provider (or a script relaying its notifications).

Marketers and admins may report them, with an API token or the session and its CSRF token.
A batch is validated whole first (422 naming the item and field); then each item is recorded on
its message, and items matching no message are listed back by index, never failing the batch.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.contacts.normalize import normalize_email
from retentio.db import utcnow
from retentio.errors import InvalidInput
from retentio.messaging import bounces
from retentio.messaging.bounces import BounceType
from retentio.web.deps import SessionDep

router = APIRouter(prefix="/messaging", tags=["messaging"])
Writer = Annotated[User, Depends(require(Permission.MARKETING))]
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
