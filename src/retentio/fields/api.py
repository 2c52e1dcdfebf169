"""JSON API of custom field definitions (admins define; everyone reads)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, status

from retentio.auth.deps import CurrentUser, require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.fields import queries, service
from retentio.fields.models import CustomFieldDefinition, FieldEntity
from retentio.fields.schemas import FieldDefinitionIn, FieldDefinitionRead, FieldRelabel
from retentio.web.deps import SessionDep

router = APIRouter(prefix="/custom-fields", tags=["custom fields"])
Admin = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]


@router.get("/{entity}", response_model=list[FieldDefinitionRead])
def list_fields(
    entity: FieldEntity, session: SessionDep, _user: CurrentUser
) -> Sequence[CustomFieldDefinition]:
    return queries.definitions(session, entity)


@router.post("", response_model=FieldDefinitionRead, status_code=status.HTTP_201_CREATED)
def define(body: FieldDefinitionIn, session: SessionDep, _admin: Admin) -> CustomFieldDefinition:
    definition = service.define_field(
        session,
        entity=body.entity,
        key=body.key,
        label=body.label,
        type=body.type,
        choices=body.choices,
        required=body.required,
    )
    service.audit_definition(session, definition, action="create", actor_id=_admin.id)
    return definition


@router.patch("/{field_id}", response_model=FieldDefinitionRead)
def relabel(
    field_id: int, body: FieldRelabel, session: SessionDep, _admin: Admin
) -> CustomFieldDefinition:
    definition = service.relabel_field(session, field_id, label=body.label)
    service.audit_definition(session, definition, action="update", actor_id=_admin.id)
    return definition
