"""Reading cell values as people type them: dates, numbers, yes/no.

Each parser takes the raw text of one cell and returns the value or raises `ValueError` with a
reason a person understands; the importer turns that into a rejected row naming the column.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

# Day-first is what Russian and most European files use: 05.03.2024 is the 5th of March.
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y.%m.%d")
_TIME_FORMATS = ("%H:%M:%S", "%H:%M")
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)  # Excel's day 0, counting its 1900 leap bug
_SERIAL = re.compile(r"^\d{1,6}(\.\d+)?$")
# The two commonest shapes, parsed without strptime (which costs ~10 µs a call).
_DAY_FIRST = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
# ISO 8601's basic form, 19970101, as old exports and data sets write dates. Exactly eight
# digits: Excel serials have at most six (and stop before 2_958_466), so neither shadows the other.
_COMPACT_DAY = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_NUMBER_NOISE = re.compile(r"[\s\u00a0\u202f'’₽$€]|руб\.?|р\.$", re.IGNORECASE)
TRUE_WORDS = frozenset({"1", "true", "yes", "y", "да", "д", "+", "истина", "x", "✓"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "нет", "н", "-", "ложь"})


def parse_datetime(raw: str | float | datetime | date) -> datetime:
    """A UTC datetime from ISO (also 19970101), day-first dates with optional time, or an Excel
    serial number."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day, tzinfo=UTC)
    if isinstance(raw, int) and 10_000_000 <= raw <= 99_999_999:
        # A spreadsheet holding 19970101 as a number: far above any Excel serial, so a date.
        raw = str(raw)
    elif isinstance(raw, int | float):
        return _from_serial(float(raw))
    text = raw.strip()
    quick = _DAY_FIRST.match(text) or _ISO_DAY.match(text) or _COMPACT_DAY.match(text)
    if quick:
        a, b, c = (int(g) for g in quick.groups())
        year, month, day = (c, b, a) if quick.re is _DAY_FIRST else (a, b, c)
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError as error:
            raise ValueError(f"{text!r} is not a date ({error})") from error
    if _SERIAL.match(text) and "." not in text[:3]:
        return _from_serial(float(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    time_part = text.partition(" ")[2]
    for day_format in _DATE_FORMATS:
        for time_format in ("",) if not time_part else _TIME_FORMATS:
            pattern = f"{day_format} {time_format}".strip()
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
    raise ValueError(f"{text!r} is not a date (use 2024-03-05, 05.03.2024 or 5/3/2024)")


def parse_date(raw: str | float | datetime | date) -> date:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw
    return parse_datetime(raw).date()


def _from_serial(serial: float) -> datetime:
    # Excel serials below 61 hit the fictitious 29 Feb 1900; real data there is vanishingly rare.
    if not 1 <= serial < 2_958_466:
        raise ValueError(f"{serial} is outside Excel's date range")
    return _EXCEL_EPOCH + timedelta(days=serial)


def parse_decimal(raw: str | float | int | Decimal) -> Decimal:
    """`1 234,50`, `1,234.50`, `1234.5`, `1.234,50 ₽` → Decimal('1234.50')."""
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int | float):
        if isinstance(raw, float) and raw != raw:
            raise ValueError("empty number")
        return Decimal(str(raw))
    text = _NUMBER_NOISE.sub("", raw.strip())
    if "," in text and "." in text:
        # The separator that comes last is the decimal one; the other groups thousands.
        thousands = "," if text.rfind(",") < text.rfind(".") else "."
        text = text.replace(thousands, "")
    text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"{raw!r} is not a number") from error
    if not value.is_finite():
        raise ValueError(f"{raw!r} is not a finite number")
    return value


def parse_int(raw: str | float | int | Decimal) -> int:
    value = parse_decimal(raw)
    if value != value.to_integral_value():
        raise ValueError(f"{raw!r} is not a whole number")
    return int(value)


def parse_bool(raw: str | bool | int | float) -> bool:
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word.endswith(".0"):
        word = word[:-2]
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{raw!r} is not yes/no (да/нет, 1/0)")
