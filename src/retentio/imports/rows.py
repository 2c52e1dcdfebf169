"""Turning one raw row into clean values for its entity, or a `RowError` naming the column.

Parsing is pure (no database): the writers receive rows that are already valid in themselves
and only check what needs the database (who owns an e-mail, which company a name means).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import available_timezones

from retentio.contacts.normalize import normalize_email, normalize_phone, normalize_telegram
from retentio.errors import InvalidInput
from retentio.fields.models import CustomFieldDefinition
from retentio.fields.service import coerce
from retentio.imports.mapping import CUSTOM_PREFIX
from retentio.imports.reader import Cell
from retentio.imports.values import parse_date

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_TAG_SPLIT = re.compile(r"[,;]")
_GENDERS = {
    "m": "m",
    "м": "m",
    "male": "m",
    "муж": "m",
    "мужской": "m",
    "man": "m",
    "f": "f",
    "ж": "f",
    "female": "f",
    "жен": "f",
    "женский": "f",
    "woman": "f",
}
_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "middle_name": 100,
    "city": 120,
    "region": 120,
    "source": 100,
    "language": 8,
    "company": 300,
    "utm_source": 200,
    "utm_medium": 200,
    "utm_campaign": 200,
    "utm_content": 200,
    "utm_term": 200,
    "external_id": 100,
}
_TIMEZONES = frozenset(available_timezones())


class RowError(Exception):
    """A cell that cannot be accepted; the whole row is rejected with this reason."""

    def __init__(self, column: str | None, value: Cell, reason: str) -> None:
        super().__init__(reason)
        self.column, self.value, self.reason = column, value, reason


@dataclass
class ContactRow:
    values: dict[str, Any] = field(default_factory=dict)  # plain contact columns
    empty: set[str] = field(default_factory=set)  # mapped columns whose cell was empty
    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    tags: list[str] = field(default_factory=list)
    company: str | None = None
    owner_email: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)


def text(value: Cell) -> str:
    """A cell as text; whole numbers from spreadsheets lose their `.0`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def parse_contact(
    cells: Mapping[str, tuple[str, Cell]],
    *,
    region: str,
    custom_fields: Mapping[str, CustomFieldDefinition],
) -> ContactRow:
    """`cells`: target → (column name, raw value)."""
    row = ContactRow()
    for target, (column, raw) in cells.items():
        value = text(raw)
        if not value:
            row.empty.add(target)
            continue
        try:
            _set_contact_value(row, target, value, raw, region=region, custom_fields=custom_fields)
        except (ValueError, InvalidInput) as error:
            reason = error.message if isinstance(error, InvalidInput) else str(error)
            raise RowError(column, raw, reason) from error
    if not (row.external_id or row.email or row.phone):
        raise RowError(
            None, None, "no id, e-mail or phone: the row cannot be matched or found later"
        )
    return row


def _set_contact_value(
    row: ContactRow,
    target: str,
    value: str,
    raw: Cell,
    *,
    region: str,
    custom_fields: Mapping[str, CustomFieldDefinition],
) -> None:
    limit = _LIMITS.get(target)
    if limit and len(value) > limit:
        raise ValueError(f"longer than {limit} characters")
    if target == "email":
        row.email = normalize_email(value)
    elif target == "phone":
        row.phone = normalize_phone(value, default_region=region)
    elif target == "external_id":
        row.external_id = value
    elif target == "full_name":
        _split_full_name(row, value)
    elif target == "tags":
        row.tags = [t.strip()[:100] for t in _TAG_SPLIT.split(value) if t.strip()]
    elif target == "company":
        row.company = value
    elif target == "owner_email":
        row.owner_email = value.lower()
    elif target.startswith(CUSTOM_PREFIX):
        row.custom[target[len(CUSTOM_PREFIX) :]] = _custom(target, raw, custom_fields)
    else:
        row.values[target] = _plain(target, value, raw)


def _plain(target: str, value: str, raw: Cell) -> Any:
    if target == "birthday":
        return parse_date(raw if isinstance(raw, datetime | date | int | float) else value)
    if target == "gender":
        gender = _GENDERS.get(value.lower())
        if gender is None:
            raise ValueError("use m/f or м/ж")
        return gender
    if target == "telegram":
        return normalize_telegram(value)
    if target == "country":
        if len(value) != 2 or not value.isalpha():
            raise ValueError("use a two-letter country code like RU")
        return value.upper()
    if target == "timezone" and value not in _TIMEZONES:
        raise ValueError("unknown time zone; use a name like Europe/Moscow")
    return value


def _custom(target: str, raw: Cell, custom_fields: Mapping[str, CustomFieldDefinition]) -> Any:
    definition = custom_fields.get(target[len(CUSTOM_PREFIX) :])
    if definition is None:
        raise ValueError("no such custom field")
    return coerce(definition, text(raw) if not isinstance(raw, bool | int | float) else raw)


def _split_full_name(row: ContactRow, value: str) -> None:
    """ "Иванова Анна Сергеевна" (Russian order: last, first, middle) or "Anna Ivanova"."""
    parts = value.split()
    if _CYRILLIC.search(value) and len(parts) >= 2:
        row.values.setdefault("last_name", parts[0])
        row.values.setdefault("first_name", parts[1])
        if len(parts) > 2:
            row.values.setdefault("middle_name", " ".join(parts[2:]))
    elif len(parts) >= 2:
        row.values.setdefault("first_name", " ".join(parts[:-1]))
        row.values.setdefault("last_name", parts[-1])
    else:
        row.values.setdefault("first_name", value)
