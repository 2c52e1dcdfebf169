"""JSON API of contacts: list/filter/search, CRUD, tags, merge, consent, export and erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from retentio.auth.deps import CurrentUser, require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from retentio.contacts import access, privacy, queries, service
from retentio.contacts.merge import merge_contacts
from retentio.contacts.presenters import contact_detail
from retentio.contacts.schemas import ContactDetail, ContactFields, ContactPage, ContactRead
from retentio.db import utcnow
from retentio.web.deps import SessionDep, SettingsDep, client_ip

router = APIRouter(prefix="/contacts", tags=["contacts"])
Editor = Annotated[User, Depends(require(Permission.EDIT_CUSTOMERS))]
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]


class MergeIn(BaseModel):
    merge_id: int = Field(description="The contact merged into this one; it is soft-deleted")


class ConsentIn(BaseModel):
    channel: Channel
    purpose: Purpose = Purpose.MARKETING
    granted: bool
    source: str = Field(default="api", max_length=100)
    text_version: str | None = Field(default=None, max_length=100)
    occurred_at: AwareDatetime | None = None


class BulkTagIn(BaseModel):
    contact_ids: list[int] = Field(min_length=1, max_length=10_000)
    tag: str = Field(min_length=1, max_length=100)


def _filter(
    q: str | None = None,
    tag: str | None = None,
    owner_id: int | None = None,
    city: str | None = None,
    source: str | None = None,
    include_anonymous: bool = False,
) -> queries.ContactFilter:
    return queries.ContactFilter(
        search=q,
        tag=tag,
        owner_id=owner_id,
        city=city,
        source=source,
        include_anonymous=include_anonymous,
    )


@router.get("", response_model=ContactPage)
def list_contacts(
    session: SessionDep,
    user: CurrentUser,
    flt: Annotated[queries.ContactFilter, Depends(_filter)],
    sort: str = "-created",
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ContactPage:
    rows, total = queries.page(session, user, flt, sort=sort, page_number=page, per_page=per_page)
    return ContactPage(
        items=[ContactRead.model_validate(r) for r in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


@router.post(
    "",
    response_model=ContactDetail,
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "first_name": "Анна",
                        "last_name": "Иванова",
                        "email": "anna@example.ru",
                        "phone": "8 (912) 345-67-89",
                        "city": "Казань",
                        "tags": ["vip"],
                        "external_ids": {"shop": "1042"},
                    }
                }
            }
        }
    },
)
def create_contact(
    body: ContactFields, session: SessionDep, settings: SettingsDep, user: Editor
) -> ContactDetail:
    ctx = service.WriteContext(actor_id=user.id, default_region=settings.default_region)
    contact = service.create_contact(session, body, ctx)
    return contact_detail(session, contact)


@router.get("/{contact_id}", response_model=ContactDetail)
def get_contact(contact_id: int, session: SessionDep, user: CurrentUser) -> ContactDetail:
    return contact_detail(session, access.visible_contact(session, user, contact_id))


@router.patch("/{contact_id}", response_model=ContactDetail)
def update_contact(
    contact_id: int, body: ContactFields, session: SessionDep, settings: SettingsDep, user: Editor
) -> ContactDetail:
    contact = access.editable_contact(session, user, contact_id)
    ctx = service.WriteContext(actor_id=user.id, default_region=settings.default_region)
    service.update_contact(session, contact, body, ctx)
    return contact_detail(session, contact)


@router.delete("/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_contact(contact_id: int, session: SessionDep, user: Editor) -> None:
    contact = access.editable_contact(session, user, contact_id)
    service.soft_delete(session, [contact], actor_id=user.id, now=utcnow())


@router.post("/bulk/tag")
def bulk_tag(body: BulkTagIn, session: SessionDep, user: Editor) -> dict[str, int]:
    visible = [
        c.id
        for c in session.scalars(
            queries.filtered(user, queries.ContactFilter(ids=body.contact_ids))
        )
    ]
    return {"tagged": service.add_tag(session, visible, body.tag), "matched": len(visible)}


@router.post("/{contact_id}/merge", response_model=ContactDetail)
def merge(contact_id: int, body: MergeIn, session: SessionDep, user: Editor) -> ContactDetail:
    winner = access.editable_contact(session, user, contact_id)
    loser = access.editable_contact(session, user, body.merge_id)
    merge_contacts(session, winner=winner, loser=loser, actor_id=user.id, now=utcnow())
    return contact_detail(session, winner)


@router.post("/{contact_id}/consent", response_model=ContactDetail)
def add_consent(
    contact_id: int,
    body: ConsentIn,
    request_ip: Annotated[str, Depends(client_ip)],
    session: SessionDep,
    user: Editor,
) -> ContactDetail:
    contact = access.editable_contact(session, user, contact_id)
    record_consent(
        session,
        contact.id,
        channel=body.channel,
        purpose=body.purpose,
        granted=body.granted,
        source=body.source,
        text_version=body.text_version,
        occurred_at=body.occurred_at or utcnow(),
        ip=request_ip,
        actor_id=user.id,
    )
    return contact_detail(session, contact)


@router.get("/{contact_id}/export")
def export(contact_id: int, session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Everything stored about one person (data subject access request)."""
    contact = access.visible_contact(session, user, contact_id)
    return privacy.export_contact(session, contact, actor_id=user.id)


@router.post("/{contact_id}/erase", status_code=status.HTTP_204_NO_CONTENT)
def erase(contact_id: int, session: SessionDep, user: Admin) -> None:
    """Remove the person's data; orders stay, anonymised, for revenue figures."""
    contact = access.visible_contact(session, user, contact_id)
    privacy.erase_contact(session, contact, actor_id=user.id, now=utcnow())
