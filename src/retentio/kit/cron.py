"""Five-field cron expressions (`minute hour day-of-month month day-of-week`) and their next
firing time in UTC, for scheduled imports and other periodic work.

Supported in each field: numbers, `*`, lists (`1,15`), ranges (`1-5`) and steps (`*/15`,
`1-30/5`, `5/15`). Day of week counts from 0 = Sunday; 7 is Sunday too. As in Vixie cron, when
both day of month and day of week are restricted, a day matching *either* fires. Names
(`MON`, `JAN`) and the `@daily` shorthands are not supported; the pages offer presets instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# A schedule that has not fired within this span never will (e.g. `0 0 30 2 *`); the longest
# honest gap is 29 February across a skipped leap year (2096 → 2104), eight years.
SEARCH_YEARS = 10
_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)


class CronError(ValueError):
    """An expression that cannot be parsed or never fires; the message names the field."""


@dataclass(frozen=True)
class CronSpec:
    expr: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday … 6 = Saturday
    any_day: bool  # day of month is `*`
    any_weekday: bool  # day of week is `*`

    def day_matches(self, moment: datetime) -> bool:
        weekday = (moment.weekday() + 1) % 7  # Python counts from Monday = 0
        in_month, in_week = moment.day in self.days, weekday in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def parse(expr: str) -> CronSpec:
    parts = expr.split()
    if len(parts) != len(_FIELDS):
        raise CronError(
            f"{expr!r}: a cron expression has 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. `0 3 * * *`."
        )
    sets = [
        _field(part, name, low, high)
        for part, (name, low, high) in zip(parts, _FIELDS, strict=True)
    ]
    spec = CronSpec(
        expr=" ".join(parts),
        minutes=sets[0],
        hours=sets[1],
        days=sets[2],
        months=sets[3],
        weekdays=frozenset(d % 7 for d in sets[4]),
        any_day=parts[2] == "*",
        any_weekday=parts[4] == "*",
    )
    # Trying it once is the simplest complete check for dates that do not exist (31 April).
    next_after(spec, datetime(2000, 1, 1, tzinfo=UTC))
    return spec


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values |= _item(item, name, low, high)
    return frozenset(values)


def _item(item: str, name: str, low: int, high: int) -> set[int]:
    base, slash, step_text = item.partition("/")
    step = _number(step_text, name) if slash else 1
    if step < 1:
        raise CronError(f"{name}: the step in {item!r} must be at least 1.")
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _number(first, name), _number(last, name)
        if start > end:
            raise CronError(f"{name}: the range {base!r} runs backwards.")
    else:
        start = _number(base, name)
        # `5/15` means from 5 to the end in steps of 15, as in Vixie cron.
        end = high if slash else start
    if start < low or end > high:
        raise CronError(f"{name}: {item!r} is outside {low}–{high}.")
    return set(range(start, end + 1, step))


def _number(text: str, name: str) -> int:
    if not text.isdigit():
        raise CronError(f"{name}: {text!r} is not a number.")
    return int(text)


def next_after(spec: CronSpec, moment: datetime) -> datetime:
    """The first minute strictly after `moment` that matches, as an aware UTC datetime."""
    if moment.tzinfo is None:
        raise ValueError("next_after needs an aware datetime")
    current = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = current.replace(year=current.year + SEARCH_YEARS, day=1)
    # Jump by the largest unit that does not match; each pass moves forward or returns.
    while current < limit:
        if current.month not in spec.months:
            current = _first_of_next_month(current)
        elif not spec.day_matches(current):
            current = current.replace(hour=0, minute=0) + timedelta(days=1)
        elif current.hour not in spec.hours:
            current = current.replace(minute=0) + timedelta(hours=1)
        elif current.minute not in spec.minutes:
            current += timedelta(minutes=1)
        else:
            return current
    raise CronError(f"{spec.expr!r} never fires: no such date.")


def _first_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0)
