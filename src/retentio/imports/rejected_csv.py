"""The rejected rows of a job as a CSV to fix and import again.

The file has the original header plus a `Reason` column (the importer ignores it), the
original delimiter, and UTF-8 with a BOM so Excel opens Cyrillic correctly. Cells are
neutralised against formula injection; the importer undoes that, so a fixed file re-imports
exactly. Rows are streamed from the database, so a million rejected rows cost no memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from retentio.db import session_scope
from retentio.errors import RetentioError
from retentio.imports.models import ImportJob, ImportRejection
from retentio.imports.queries import iter_rejections
from retentio.imports.reader import read_rows
from retentio.kit.csv_safety import neutralise

REASON = "Reason"
BOM = "\ufeff"
# Spreadsheets have no delimiter of their own; Excel in most of Europe and in Russia expects `;`.
SPREADSHEET_DELIMITER = ";"
FLUSH_ROWS = 500


def header_of(job: ImportJob) -> list[str]:
    """The header of the stored file, or the mapped columns if the file has been removed."""
    try:
        header, _rows = read_rows(Path(job.stored_path), job.file_format())
    except (OSError, RetentioError):
        return list(job.mapping)
    return header


def delimiter_of(job: ImportJob) -> str:
    return job.delimiter or SPREADSHEET_DELIMITER


def filename_of(job: ImportJob) -> str:
    return f"{Path(job.filename).stem}-rejected.csv"


def stream(url: str, job_id: int, header: list[str], delimiter: str) -> Iterator[bytes]:
    """The file, in pieces; it reads in its own session because the request's is closed by the
    time a streamed response is sent."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([neutralise(name) for name in [*header, REASON]])
    with session_scope(url, write=False) as session:
        for count, rejection in enumerate(iter_rejections(session, job_id), start=1):
            writer.writerow(_row(rejection, len(header)))
            if count % FLUSH_ROWS == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _row(rejection: ImportRejection, width: int) -> list[str]:
    cells = [str(c) if c is not None else "" for c in rejection.raw]
    cells += [""] * (width - len(cells))
    reason = f"{rejection.column} — {rejection.reason}" if rejection.column else rejection.reason
    return [neutralise(cell) for cell in [*cells[:width], reason]]
