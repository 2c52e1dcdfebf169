"""Opening a file as a header and a stream of rows, whatever made it.

CSV: any of `, ; TAB |` as delimiter, quoted fields, UTF-8 with or without BOM or Windows-1251
(detected, overridable). Whitespace-aligned text (fields separated by any run of spaces or
tabs, no quoting, as old exports and data sets such as CDNOW's are) is the delimiter
`WHITESPACE`. A file without a header row (`has_header=False`) gets columns named
"column 1", "column 2", … after the width of its first row. Spreadsheets (XLSX, XLS, ODS)
through python-calamine, first sheet or a chosen one. Rows are streamed, so a file of a million
rows needs no more memory than a few.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO

from retentio.errors import InvalidInput
from retentio.kit.csv_safety import restore

Cell = str | float | int | bool | datetime | date | None
SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"})
DELIMITERS = ",;\t|"
# Stored as the job's delimiter: one character fits the column, and a rejected-rows CSV written
# with it is still readable. Reading treats it as "any run of spaces or tabs", not one space.
WHITESPACE = " "
WHITESPACE_NAMES = frozenset({"whitespace", WHITESPACE})
_SPACE_RUN = re.compile(r"[ \t]+")
SNIFF_BYTES = 256 * 1024
csv.field_size_limit(16 * 1024 * 1024)


class UnreadableFile(InvalidInput):
    code = "unreadable_file"


@dataclass(frozen=True)
class FileFormat:
    kind: str  # "csv" or "spreadsheet"
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    has_header: bool = True


def detect_format(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    has_header: bool = True,
) -> FileFormat:
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        return FileFormat(kind="spreadsheet", sheet=sheet, has_header=has_header)
    head = path.open("rb").read(SNIFF_BYTES)
    chosen_encoding = encoding or detect_encoding(head)
    text = head.decode(chosen_encoding, errors="ignore")
    chosen = WHITESPACE if delimiter in WHITESPACE_NAMES else delimiter
    return FileFormat(
        kind="csv",
        encoding=chosen_encoding,
        delimiter=chosen or detect_delimiter(text),
        has_header=has_header,
    )


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        # A cut in the middle of a multi-byte character at the end is not an error.
        head.decode("utf-8") if len(head) < SNIFF_BYTES else head[:-4].decode("utf-8")
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def detect_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    if _aligned_by_spaces(lines):
        return WHITESPACE
    header = lines[0]
    try:
        sniffed: str | None = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    # Cells full of `;` or `|` can look more regular to the sniffer than the real delimiter; the
    # header names the columns, so a delimiter it does not contain cannot be the one.
    if sniffed and (sniffed in header or not any(d in header for d in DELIMITERS)):
        return sniffed
    # The delimiter that appears most often in the header line is the best remaining guess.
    return max(DELIMITERS, key=header.count)


def _aligned_by_spaces(lines: list[str]) -> bool:
    """No line holds a CSV delimiter, and runs of spaces cut every line into the same number
    (two or more) of fields. Requiring the same width keeps a one-column file of names such as
    "Anna Petrova" a one-column file: names rarely all have the same number of words."""
    # A tab anywhere leaves the file to the CSV sniffer: tab-separated files are far commoner
    # than space-aligned ones mixing tabs in (those can still choose WHITESPACE explicitly).
    if any(d in line for line in lines for d in DELIMITERS):
        return False
    widths = {len(_SPACE_RUN.split(line.strip())) for line in lines}
    return len(widths) == 1 and widths.pop() >= 2


NumberedRow = tuple[int, list[Cell]]


def read_rows(path: Path, fmt: FileFormat) -> tuple[list[str], Iterator[NumberedRow]]:
    """The header (stripped) and the data rows, each with its row number in the file (the
    number a person sees in Excel or a text editor, so rejected rows can be found)."""
    rows = _spreadsheet_rows(path, fmt.sheet) if fmt.kind == "spreadsheet" else _csv_rows(path, fmt)
    try:
        first = next(rows)
    except StopIteration as error:
        raise UnreadableFile("The file is empty: no header row.") from error
    if not fmt.has_header:
        # The first row is data: put it back and name the columns by position.
        width = len(first[1])
        return [f"column {i}" for i in range(1, width + 1)], itertools.chain([first], rows)
    _, header = first
    names = [str(h).strip() if h is not None else "" for h in header]
    if not any(names):
        raise UnreadableFile("The first row is empty: it must name the columns.")
    return names, rows


def count_rows(path: Path, fmt: FileFormat) -> int:
    """How many data rows `read_rows` will yield, counted without building them."""
    if fmt.kind == "spreadsheet" or fmt.delimiter == WHITESPACE:
        return sum(1 for _ in read_rows(path, fmt)[1])
    with _open_delimited(path, fmt) as handle:
        # A row is blank when its joined cells are: the same test `_delimited_rows` applies.
        rows = sum(
            1 for row in csv.reader(handle, delimiter=fmt.delimiter or ",") if "".join(row).strip()
        )
    return rows - 1 if fmt.has_header else rows


def _csv_rows(path: Path, fmt: FileFormat) -> Iterator[NumberedRow]:
    if fmt.delimiter == WHITESPACE:
        return _whitespace_rows(path, fmt)
    return _delimited_rows(path, fmt)


def _whitespace_rows(path: Path, fmt: FileFormat) -> Iterator[NumberedRow]:
    """Fields separated by runs of spaces or tabs; no quoting, so a field holds no space."""
    try:
        with path.open("r", encoding=fmt.encoding or "utf-8", errors="strict") as handle:
            for number, line in enumerate(handle, start=1):
                stripped = line.strip(" \t\r\n")
                if stripped:
                    cells: list[Cell] = [*_SPACE_RUN.split(stripped)]
                    yield number, cells
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"The file is not valid {fmt.encoding}: choose the encoding explicitly."
        ) from error


def _open_delimited(path: Path, fmt: FileFormat) -> IO[str]:
    return path.open("r", encoding=fmt.encoding or "utf-8", errors="strict", newline="")


def _delimited_rows(path: Path, fmt: FileFormat) -> Iterator[NumberedRow]:
    handle = _open_delimited(path, fmt)
    try:
        reader = csv.reader(handle, delimiter=fmt.delimiter or ",")
        start = 1
        for row in reader:
            # line_num is the physical line where the record ended; a quoted field may span
            # several lines, so the record starts on the line after the previous one ended.
            number, start = start, reader.line_num + 1
            if any(cell.strip() for cell in row):
                # Exported CSVs quote formula-like cells (kit.csv_safety); read them as they were.
                # The join is a fast test: most rows hold no quote at all.
                cells: list[Cell] = [*row] if "'" not in "".join(row) else [restore(c) for c in row]
                yield number, cells
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            f"The file is not valid {fmt.encoding}: choose the encoding explicitly."
        ) from error
    finally:
        handle.close()


def _spreadsheet_rows(path: Path, sheet: str | None) -> Iterator[NumberedRow]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        chosen = book.get_sheet_by_name(sheet) if sheet else book.get_sheet_by_index(0)
    except (CalamineError, ValueError, KeyError) as error:
        raise UnreadableFile(f"Cannot open the spreadsheet: {error}") from error
    for index, row in enumerate(chosen.iter_rows(), start=1):
        if any(cell not in ("", None) for cell in row):
            yield index, [_cell(c) for c in row]


def _cell(value: object) -> Cell:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, str | int | float | bool | datetime | date) or value is None:
        return value
    return str(value)


def sheet_names(path: Path) -> list[str]:
    from python_calamine import CalamineWorkbook

    return list(CalamineWorkbook.from_path(str(path)).sheet_names)


def preview(path: Path, fmt: FileFormat, limit: int = 10) -> tuple[list[str], list[list[Cell]]]:
    header, rows = read_rows(path, fmt)
    sample = [row for _, (_number, row) in zip(range(limit), rows, strict=False)]
    return header, sample
