"""Contact lists as CSV or XLSX files: any list filter, only the contacts the user may see,
the columns they choose.

Headers are the importer's own field names (`first_name`, `email`, `tags`, a custom field's
key …), so an exported file imports back as it is; `retentio_id`, `created_at` and
`updated_at` are not import fields and are ignored on the way back. Contacts are read in
keyset chunks in id order and written as they come: CSV is streamed, XLSX is written row by
row by xlsxwriter in constant-memory mode, so 100 000 contacts never sit in memory together.
Cells are neutralised against formula injection (`kit.csv_safety`). Reads only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.companies import queries as company_queries
from retentio.contacts import queries
from retentio.contacts.models import Contact, ContactIdentity, IdentityKind
from retentio.db import session_scope
from retentio.errors import InvalidInput
from retentio.fields.models import FieldEntity
from retentio.fields.queries import definitions
from retentio.imports.mapping import CUSTOM_PREFIX
from retentio.kit.csv_safety import is_risky, neutralise
from retentio.kit.text import N_

Format = Literal["csv", "xlsx"]
Value = str | int | float | bool | date | datetime | None
CHUNK = 1_000
BOM = "\ufeff"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The importer writes the external ids it is given under this system (contacts_writer).
IMPORT_SYSTEM = "import:"


@dataclass(frozen=True)
class Column:
    key: str  # what to read: a contact attribute, a derived value or `custom.<key>`
    header: str  # the file's column name: the field name the importer maps automatically
    label: str  # shown in the column picker


def _plain(key: str, label: str) -> Column:
    return Column(key=key, header=key, label=label)


BASE_COLUMNS: tuple[Column, ...] = (
    _plain("retentio_id", N_("Retentio id")),
    _plain("external_id", N_("External id")),
    _plain("first_name", N_("First name")),
    _plain("last_name", N_("Last name")),
    _plain("middle_name", N_("Middle name")),
    _plain("email", N_("E-mail")),
    _plain("phone", N_("Phone")),
    _plain("telegram", N_("Telegram")),
    _plain("gender", N_("Gender")),
    _plain("birthday", N_("Birthday")),
    _plain("city", N_("City")),
    _plain("region", N_("Region")),
    _plain("country", N_("Country")),
    _plain("timezone", N_("Time zone")),
    _plain("language", N_("Language")),
    _plain("company", N_("Company")),
    _plain("owner_email", N_("Owner e-mail")),
    _plain("source", N_("Source")),
    _plain("utm_source", "utm_source"),
    _plain("utm_medium", "utm_medium"),
    _plain("utm_campaign", "utm_campaign"),
    _plain("utm_content", "utm_content"),
    _plain("utm_term", "utm_term"),
    _plain("tags", N_("Tags")),
    _plain("created_at", N_("Created")),
    _plain("updated_at", N_("Updated")),
)
DEFAULT_KEYS = (
    "retentio_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "city",
    "tags",
    "created_at",
)
_DERIVED = frozenset({"retentio_id", "external_id", "company", "owner_email", "tags"})


def available_columns(session: Session) -> list[Column]:
    """Every column that can be exported: the contact's fields, then its custom fields."""
    custom = [
        Column(key=CUSTOM_PREFIX + d.key, header=d.key, label=d.label)
        for d in definitions(session, FieldEntity.CONTACT)
        if not d.archived
    ]
    return [*BASE_COLUMNS, *custom]


def choose_columns(session: Session, keys: Sequence[str]) -> list[Column]:
    """The columns named, in the order given; none named means the default set."""
    by_key = {c.key: c for c in available_columns(session)}
    wanted = [k for k in dict.fromkeys(keys) if k] or list(DEFAULT_KEYS)
    unknown = [k for k in wanted if k not in by_key]
    if unknown:
        raise InvalidInput(
            f"columns: unknown column {unknown[0]!r}; choose from {', '.join(by_key)}.",
            details={"field": "columns"},
        )
    return [by_key[k] for k in wanted]


def filter_from_params(session: Session, params: Mapping[str, str]) -> queries.ContactFilter:
    """The contact list's filter from its query string (the list page's names, or the API's
    `owner_id` / `include_anonymous`), so "Export" exports exactly the list on screen."""
    owner = params.get("owner") or params.get("owner_id") or ""
    key, value = params.get("field"), params.get("value")
    known = {d.key for d in definitions(session, FieldEntity.CONTACT)}
    anonymous = params.get("anonymous") or params.get("include_anonymous") or ""
    return queries.ContactFilter(
        search=params.get("q") or None,
        tag=params.get("tag") or None,
        owner_id=int(owner) if owner.isdigit() else None,
        city=params.get("city") or None,
        source=params.get("source") or None,
        custom={key: value} if key in known and value else {},
        include_anonymous=anonymous.lower() in ("1", "true", "on", "yes"),
    )


def count(session: Session, user: User, flt: queries.ContactFilter) -> int:
    _rows, total = queries.page(session, user, flt, page_number=1, per_page=1)
    return total


def records(
    session: Session, user: User, flt: queries.ContactFilter, columns: Sequence[Column]
) -> Iterator[list[Value]]:
    """One list of values per visible contact, in id order, a chunk of contacts at a time."""
    keys = {c.key for c in columns}
    query = queries.filtered(user, flt).order_by(Contact.id).limit(CHUNK)
    last_id = 0
    while True:
        contacts = session.scalars(query.where(Contact.id > last_id)).all()
        if not contacts:
            return
        extra = _related(session, contacts, keys & _DERIVED)
        for contact in contacts:
            yield [_value(contact, column.key, extra) for column in columns]
        last_id = contacts[-1].id
        # Keep memory flat: the contacts of the chunk are written out and not needed again.
        session.expunge_all()


def _related(
    session: Session, contacts: Sequence[Contact], keys: set[str]
) -> dict[str, dict[int, Any]]:
    """Values kept outside the contact row, for a whole chunk: one query per kind."""
    ids = [c.id for c in contacts]
    found: dict[str, dict[int, Any]] = {}
    if "tags" in keys:
        found["tags"] = queries.tags_by_contact(session, ids)
    if "company" in keys:
        company_ids = {c.company_id for c in contacts if c.company_id is not None}
        names = company_queries.names_by_id(session, company_ids)
        found["company"] = {c.id: names.get(c.company_id) for c in contacts if c.company_id}
    if "owner_email" in keys:
        owner_ids = {c.owner_id for c in contacts if c.owner_id is not None}
        emails = dict(
            session.execute(select(User.id, User.email).where(User.id.in_(owner_ids))).all()
        )
        found["owner_email"] = {c.id: emails.get(c.owner_id) for c in contacts if c.owner_id}
    if "external_id" in keys:
        found["external_id"] = _external_ids(session, ids)
    return found


def _external_ids(session: Session, ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        select(ContactIdentity.contact_id, ContactIdentity.value)
        .where(
            ContactIdentity.contact_id.in_(ids),
            ContactIdentity.kind == IdentityKind.EXTERNAL,
            ContactIdentity.value.startswith(IMPORT_SYSTEM),
        )
        .order_by(ContactIdentity.id)
    )
    found: dict[int, str] = {}
    for contact_id, value in rows:
        found.setdefault(contact_id, value[len(IMPORT_SYSTEM) :])
    return found


def _value(contact: Contact, key: str, extra: dict[str, dict[int, Any]]) -> Value:
    if key == "retentio_id":
        return contact.id
    if key == "tags":
        return ", ".join(extra["tags"].get(contact.id, []))
    if key in extra:
        found: Value = extra[key].get(contact.id)
        return found
    if key.startswith(CUSTOM_PREFIX):
        stored = contact.custom.get(key[len(CUSTOM_PREFIX) :])
        return ", ".join(map(str, stored)) if isinstance(stored, list) else stored
    plain: Value = getattr(contact, key)
    return plain


# --- CSV -------------------------------------------------------------------------------------


def csv_text(value: Value) -> str:
    """A value as the importer reads it back: ISO dates, `true`/`false`, plain numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_stream(
    url: str,
    user: User,
    flt: queries.ContactFilter,
    columns: Sequence[Column],
    *,
    delimiter: str,
    flush_rows: int = 500,
) -> Iterator[bytes]:
    """The CSV in pieces: UTF-8 with a BOM (Excel reads the encoding from it). It reads in its
    own session, because the request's session is closed before a streamed body is sent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([c.header for c in columns])
    with session_scope(url, write=False) as session:
        for number, values in enumerate(records(session, user, flt, columns), start=1):
            writer.writerow([neutralise(csv_text(v)) for v in values])
            if number % flush_rows == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# --- XLSX ------------------------------------------------------------------------------------


def write_xlsx(
    url: str,
    user: User,
    flt: queries.ContactFilter,
    columns: Sequence[Column],
    path: Path,
) -> None:
    """The workbook, written row by row. Text is always written as text, never as a formula or
    a number (a phone stays `+79…`); text a spreadsheet could take for a formula also carries
    Excel's quote prefix, so editing the cell later does not turn it into one."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = book.add_worksheet("Contacts")
        styles = {
            "header": book.add_format({"bold": True}),
            "quoted": book.add_format({"quote_prefix": True}),
            "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        }
        for col, column in enumerate(columns):
            sheet.write_string(0, col, column.header, styles["header"])
        with session_scope(url, write=False) as session:
            for row, values in enumerate(records(session, user, flt, columns), start=1):
                for col, value in enumerate(values):
                    write_cell(sheet, row, col, value, styles)
    finally:
        book.close()


def write_cell(sheet: Any, row: int, col: int, value: Value, styles: dict[str, Any]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    elif isinstance(value, datetime):
        # Excel has no time zones: the value is UTC, as everywhere in Retentio.
        sheet.write_datetime(row, col, value.replace(tzinfo=None), styles["datetime"])
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), styles["date"])
    else:
        text = str(value)
        sheet.write_string(row, col, text, styles["quoted"] if is_risky(text) else None)
