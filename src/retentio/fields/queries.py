"""Reading custom field definitions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.fields.models import CustomFieldDefinition, FieldEntity


def definitions(session: Session, entity: FieldEntity) -> Sequence[CustomFieldDefinition]:
    return session.scalars(
        select(CustomFieldDefinition)
        .where(CustomFieldDefinition.entity == entity)
        .order_by(CustomFieldDefinition.id)
    ).all()


def definition(session: Session, entity: FieldEntity, key: str) -> CustomFieldDefinition | None:
    return session.scalar(
        select(CustomFieldDefinition).where(
            CustomFieldDefinition.entity == entity, CustomFieldDefinition.key == key
        )
    )
