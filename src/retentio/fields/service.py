"""Defining custom fields and validating values against their definitions.

Values are stored in JSON in a canonical form: numbers as numbers, dates as ISO strings,
choices as the exact allowed strings. An unknown key or a wrong type is rejected naming the
field, so nothing partial is stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.errors import Conflict, InvalidInput, NotFound
from retentio.fields import queries
from retentio.fields.models import CustomFieldDefinition, FieldEntity, FieldType

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
TRUE_WORDS = {"true", "1", "yes", "да", "y"}
FALSE_WORDS = {"false", "0", "no", "нет", "n"}


class UnknownCustomField(InvalidInput):
    code = "unknown_custom_field"


class InvalidCustomValue(InvalidInput):
    code = "invalid_custom_value"


class FieldKeyTaken(Conflict):
    code = "field_key_taken"


def define_field(
    session: Session,
    *,
    entity: FieldEntity,
    key: str,
    label: str,
    type: FieldType,
    choices: list[str] | None = None,
    required: bool = False,
) -> CustomFieldDefinition:
    if not KEY_PATTERN.match(key):
        raise InvalidInput(
            f"key: {key!r} must start with a letter and use a-z, 0-9 and _ only.",
            details={"field": "key"},
        )
    if queries.definition(session, entity, key) is not None:
        raise FieldKeyTaken(
            f"A {entity.value} field with key {key!r} exists.", details={"field": "key"}
        )
    if type in (FieldType.CHOICE, FieldType.MULTI_CHOICE) and not choices:
        raise InvalidInput(
            "choices: a choice field needs at least one choice.", details={"field": "choices"}
        )
    definition = CustomFieldDefinition(
        entity=entity,
        key=key,
        label=label.strip(),
        type=type,
        choices=choices or [],
        required=required,
    )
    session.add(definition)
    session.flush()
    return definition


def audit_definition(
    session: Session, definition: CustomFieldDefinition, *, action: str, actor_id: int
) -> None:
    """The audit entry of a definition made or relabelled from the API or the pages."""
    changes = {"label": definition.label}
    if action == "create":
        changes["key"] = definition.key
    audit.record(
        session,
        entity="custom_field",
        entity_id=definition.id,
        action=action,
        actor_id=actor_id,
        changes=changes,
    )


def relabel_field(session: Session, field_id: int, *, label: str) -> CustomFieldDefinition:
    definition = session.get(CustomFieldDefinition, field_id)
    if definition is None:
        raise NotFound(f"Custom field {field_id} does not exist.")
    definition.label = label.strip()
    session.flush()
    return definition


def clean_values(
    session: Session,
    entity: FieldEntity,
    values: Mapping[str, Any],
    *,
    current: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge `values` into `current`, validated; `None` removes a value."""
    definitions = {d.key: d for d in queries.definitions(session, entity)}
    merged = dict(current or {})
    for key, raw in values.items():
        definition = definitions.get(key)
        if definition is None or definition.archived:
            raise UnknownCustomField(
                f"custom.{key}: there is no {entity.value} field with this key.",
                details={"field": f"custom.{key}"},
            )
        if raw is None or raw == "":
            merged.pop(key, None)
        else:
            merged[key] = coerce(definition, raw)
    missing = [
        k for k, d in definitions.items() if d.required and not d.archived and k not in merged
    ]
    if missing and current is None:
        raise InvalidCustomValue(
            f"custom.{missing[0]}: this field is required.",
            details={"field": f"custom.{missing[0]}"},
        )
    return merged


def coerce(definition: CustomFieldDefinition, raw: Any) -> Any:
    """The canonical stored value of `raw` for this field, or InvalidCustomValue."""
    field = f"custom.{definition.key}"
    try:
        return _COERCERS[definition.type](raw, definition.choices)
    except (ValueError, TypeError, InvalidOperation) as error:
        raise InvalidCustomValue(
            f"{field}: {raw!r} is not a valid {definition.type.value} ({error}).",
            details={"field": field, "value": raw},
        ) from error


def _as_string(raw: Any, _choices: list[str]) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise TypeError("expected text")
    return str(raw).strip()


def _as_number(raw: Any, _choices: list[str]) -> float | int:
    if isinstance(raw, bool):
        raise TypeError("expected a number")
    number = Decimal(str(raw).replace(" ", "").replace(",", "."))
    if not number.is_finite():
        raise ValueError("expected a finite number")
    return int(number) if number == number.to_integral_value() else float(number)


def _as_date(raw: Any, _choices: list[str]) -> str:
    if isinstance(raw, date):
        return raw.isoformat()
    return date.fromisoformat(str(raw).strip()).isoformat()


def _as_boolean(raw: Any, _choices: list[str]) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError("expected yes or no")


def _as_choice(raw: Any, choices: list[str]) -> str:
    value = _as_string(raw, choices)
    if value not in choices:
        raise ValueError(f"allowed: {', '.join(choices)}")
    return value


def _as_multi_choice(raw: Any, choices: list[str]) -> list[str]:
    items = raw if isinstance(raw, list) else str(raw).split(",")
    values = [_as_choice(item, choices) for item in items if str(item).strip()]
    return sorted(set(values), key=choices.index)


_COERCERS = {
    FieldType.STRING: _as_string,
    FieldType.NUMBER: _as_number,
    FieldType.DATE: _as_date,
    FieldType.BOOLEAN: _as_boolean,
    FieldType.CHOICE: _as_choice,
    FieldType.MULTI_CHOICE: _as_multi_choice,
}
