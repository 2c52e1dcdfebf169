"""Turning one raw row into clean values for its entity, or a `RowError` naming the column.

Parsing is pure (no database): the writers receive rows that are already valid in themselves
and only check what needs the database (who owns an e-mail, which company a name means).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache, partial
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


@dataclass(slots=True)
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


# Sets one target of a row from the cell's stripped text and its raw value.
Setter = Callable[[ContactRow, str, Cell], None]


@dataclass(frozen=True, slots=True)
class _Column:
    index: int
    target: str
    name: str
    limit: int
    setter: Setter | None  # None: a plain text column, stored as typed


class ContactParser:
    """Parses the rows of one file: each mapped column's setter is chosen once, not per cell.

    `columns` are (position in the row, target, column name). The same setters serve
    `parse_contact`, so a file and a single row are read by exactly the same rules.
    """

    def __init__(
        self,
        columns: Sequence[tuple[int, str, str]],
        *,
        region: str,
        custom_fields: Mapping[str, CustomFieldDefinition],
    ) -> None:
        self._columns = tuple(
            _Column(
                index,
                target,
                name,
                _LIMITS.get(target, 0),
                _setter(target, region=region, custom_fields=custom_fields),
            )
            for index, target, name in columns
        )

    def parse(self, cells: Sequence[Cell]) -> ContactRow:
        row = ContactRow()
        width = len(cells)
        for column in self._columns:
            raw = cells[column.index] if column.index < width else None
            value = raw.strip() if type(raw) is str else text(raw)
            if not value:
                row.empty.add(column.target)
                continue
            try:
                if column.limit and len(value) > column.limit:
                    raise ValueError(f"longer than {column.limit} characters")
                if column.setter is None:
                    row.values[column.target] = value
                else:
                    column.setter(row, value, raw)
            except (ValueError, InvalidInput) as error:
                reason = error.message if isinstance(error, InvalidInput) else str(error)
                raise RowError(column.name, raw, reason) from error
        if not (row.external_id or row.email or row.phone):
            raise RowError(
                None, None, "no id, e-mail or phone: the row cannot be matched or found later"
            )
        return row


def parse_contact(
    cells: Mapping[str, tuple[str, Cell]],
    *,
    region: str,
    custom_fields: Mapping[str, CustomFieldDefinition],
) -> ContactRow:
    """`cells`: target → (column name, raw value)."""
    columns = [(i, target, name) for i, (target, (name, _raw)) in enumerate(cells.items())]
    parser = ContactParser(columns, region=region, custom_fields=custom_fields)
    return parser.parse([raw for _name, raw in cells.values()])


def _setter(
    target: str, *, region: str, custom_fields: Mapping[str, CustomFieldDefinition]
) -> Setter | None:
    if target == "email":
        return _set_email
    if target == "phone":
        return partial(_set_phone, region=region)
    if target in _ROW_SETTERS:
        return _ROW_SETTERS[target]
    if target.startswith(CUSTOM_PREFIX):
        return partial(_set_custom, target=target, custom_fields=custom_fields)
    if target in _CONVERTERS:
        return partial(_set_converted, target=target, convert=_CONVERTERS[target])
    return None


def _set_email(row: ContactRow, value: str, _raw: Cell) -> None:
    row.email = normalize_email(value)


def _set_phone(row: ContactRow, value: str, _raw: Cell, *, region: str) -> None:
    row.phone = normalize_phone(value, default_region=region)


def _set_external_id(row: ContactRow, value: str, _raw: Cell) -> None:
    row.external_id = value


def _set_tags(row: ContactRow, value: str, _raw: Cell) -> None:
    row.tags = [t.strip()[:100] for t in _TAG_SPLIT.split(value) if t.strip()]


def _set_company(row: ContactRow, value: str, _raw: Cell) -> None:
    row.company = value


def _set_owner(row: ContactRow, value: str, _raw: Cell) -> None:
    row.owner_email = value.lower()


def _set_full_name(row: ContactRow, value: str, _raw: Cell) -> None:
    _split_full_name(row, value)


def _set_custom(
    row: ContactRow,
    _value: str,
    raw: Cell,
    *,
    target: str,
    custom_fields: Mapping[str, CustomFieldDefinition],
) -> None:
    row.custom[target[len(CUSTOM_PREFIX) :]] = _custom(target, raw, custom_fields)


def _set_converted(
    row: ContactRow, value: str, raw: Cell, *, target: str, convert: Callable[[str, Cell], Any]
) -> None:
    row.values[target] = convert(value, raw)


def _birthday(value: str, raw: Cell) -> date:
    if isinstance(raw, datetime | date | int | float):
        return parse_date(raw)
    return _date_of_text(value)


# Birthdays repeat (a century holds ~36,500 days), so a bounded memo answers most cells; a
# text that is not a date raises every time, since exceptions are not cached.
_date_of_text = lru_cache(maxsize=1 << 14)(parse_date)


def _gender(value: str, _raw: Cell) -> str:
    gender = _GENDERS.get(value.lower())
    if gender is None:
        raise ValueError("use m/f or м/ж")
    return gender


def _telegram(value: str, _raw: Cell) -> str:
    return normalize_telegram(value)


def _country(value: str, _raw: Cell) -> str:
    if len(value) != 2 or not value.isalpha():
        raise ValueError("use a two-letter country code like RU")
    return value.upper()


def _timezone(value: str, _raw: Cell) -> str:
    if value not in _TIMEZONES:
        raise ValueError("unknown time zone; use a name like Europe/Moscow")
    return value


_ROW_SETTERS: dict[str, Setter] = {
    "external_id": _set_external_id,
    "full_name": _set_full_name,
    "tags": _set_tags,
    "company": _set_company,
    "owner_email": _set_owner,
}
_CONVERTERS: dict[str, Callable[[str, Cell], Any]] = {
    "birthday": _birthday,
    "gender": _gender,
    "telegram": _telegram,
    "country": _country,
    "timezone": _timezone,
}


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
