"""Cells of exported CSV files made safe to open in a spreadsheet (CSV / formula injection).

A spreadsheet treats a cell that begins with `=`, `+`, `-` or `@` as a formula, and TAB or
CR at the start can hide such a prefix; a contact named `=HYPERLINK("http://evil", "x")` or
`+cmd|' /C calc'!A0` in an exported list would run when someone opens the file. The OWASP
rule (https://owasp.org/www-community/attacks/CSV_Injection) is to prefix such cells with a
single quote, which makes the spreadsheet show them as text.

One deliberate exception: a plain number (`-12.5`, `+79123456789`) is left alone. It carries
no formula, and phones in E.164 and negative amounts are everywhere in a CRM export; quoting
them would break every phone column for nothing.

`restore` undoes `neutralise`, so the importer reads a file we exported exactly as it was.
"""

from __future__ import annotations

import re

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def is_risky(value: str) -> bool:
    """Whether a spreadsheet could read this text as a formula."""
    return value.startswith(TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value)


def neutralise(value: str) -> str:
    return QUOTE + value if is_risky(value) else value


def restore(value: str) -> str:
    """The original of a neutralised cell; any other text unchanged."""
    if value.startswith(QUOTE) and is_risky(value[1:]):
        return value[1:]
    return value
