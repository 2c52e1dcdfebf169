"""A segment's members as CSV or XLSX: the contact export's columns, headers, cell values and
formula-injection safety (`contacts.export`, `kit.csv_safety`), fed with the member ids a chunk
at a time instead of a list filter. Reads only; each writer opens its own read session because
a streamed body outlives the request's."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.contacts import export
from retentio.contacts.queries import ContactFilter
from retentio.db import session_scope
from retentio.kit.csv_safety import neutralise
from retentio.segments import queries


def records(
    session: Session, user: User, segment_id: int, columns: Sequence[export.Column]
) -> Iterator[list[export.Value]]:
    for ids in queries.member_id_chunks(session, segment_id, user=user):
        # A filter by these ids reuses the contact export's reading (tags, company, …).
        flt = ContactFilter(ids=ids, include_anonymous=True)
        yield from export.records(session, user, flt, columns)


def csv_stream(
    url: str,
    user: User,
    segment_id: int,
    columns: Sequence[export.Column],
    *,
    delimiter: str,
    flush_rows: int = 500,
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(export.BOM)
    writer.writerow([c.header for c in columns])
    with session_scope(url, write=False) as session:
        for number, values in enumerate(records(session, user, segment_id, columns), start=1):
            writer.writerow([neutralise(export.csv_text(v)) for v in values])
            if number % flush_rows == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(
    url: str, user: User, segment_id: int, columns: Sequence[export.Column], path: Path
) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = book.add_worksheet("Members")
        styles: dict[str, Any] = {
            "header": book.add_format({"bold": True}),
            "quoted": book.add_format({"quote_prefix": True}),
            "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        }
        for col, column in enumerate(columns):
            sheet.write_string(0, col, column.header, styles["header"])
        with session_scope(url, write=False) as session:
            rows = records(session, user, segment_id, columns)
            for row, values in enumerate(rows, start=1):
                for col, value in enumerate(values):
                    # The contact export's cell writer: text stays text, risky text is quoted.
                    export.write_cell(sheet, row, col, value, styles)
    finally:
        book.close()
