"""Custom fields in HTML forms: posted `custom.<key>` inputs to values, and values back.

Every form that edits an entity with custom fields (contacts, companies) uses these two, so a
field of a given type is typed and shown the same way everywhere. Validation stays in
`fields.service.clean_values`, which names the field when a value is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import FormData

from retentio.fields.models import CustomFieldDefinition, FieldType

PREFIX = "custom."


def active(definitions: Sequence[CustomFieldDefinition]) -> list[CustomFieldDefinition]:
    """Fields a form offers: archived ones keep their values but take no new ones."""
    return [d for d in definitions if not d.archived]


def custom_from_form(
    form: FormData, definitions: Sequence[CustomFieldDefinition]
) -> dict[str, Any]:
    """Posted values by key; blank means "no value", which clears a stored one."""
    values: dict[str, Any] = {}
    for definition in active(definitions):
        name = PREFIX + definition.key
        if definition.type == FieldType.MULTI_CHOICE:
            chosen = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
            values[definition.key] = chosen or None
        else:
            raw = form.get(name)
            values[definition.key] = raw.strip() if isinstance(raw, str) and raw.strip() else None
    return values


def custom_form_values(
    stored: Mapping[str, Any], definitions: Sequence[CustomFieldDefinition]
) -> dict[str, Any]:
    """Stored values as the inputs show them, keyed by input name."""
    values: dict[str, Any] = {}
    for definition in definitions:
        value = stored.get(definition.key)
        if value is None:
            continue
        if isinstance(value, bool):
            values[PREFIX + definition.key] = "true" if value else "false"
        elif isinstance(value, list):
            values[PREFIX + definition.key] = [str(v) for v in value]
        else:
            values[PREFIX + definition.key] = str(value)
    return values
