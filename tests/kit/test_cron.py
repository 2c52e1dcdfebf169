"""Cron expressions: what parses, what is refused, and when each fires next (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from retentio.kit.cron import CronError, next_after, parse

# A Wednesday.
T0 = datetime(2026, 3, 4, 10, 17, 30, tzinfo=UTC)


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("* * * * *", _at(2026, 3, 4, 10, 18)),
        ("*/15 * * * *", _at(2026, 3, 4, 10, 30)),
        ("0 3 * * *", _at(2026, 3, 5, 3, 0)),
        ("0 3 * * 1", _at(2026, 3, 9, 3, 0)),
        ("0 3 1 * *", _at(2026, 4, 1, 3, 0)),
        ("30 9 * * 1-5", _at(2026, 3, 5, 9, 30)),
        ("0 0 1,15 * *", _at(2026, 3, 15, 0, 0)),
        ("0 12 * 6 *", _at(2026, 6, 1, 12, 0)),
        ("0 0 * * 0", _at(2026, 3, 8, 0, 0)),
        ("0 0 * * 7", _at(2026, 3, 8, 0, 0)),
        ("5/20 10 * * *", _at(2026, 3, 4, 10, 25)),
        ("0 0-12/6 * * *", _at(2026, 3, 4, 12, 0)),
        ("0 0 29 2 *", _at(2028, 2, 29, 0, 0)),
        ("0 0 1 1 *", _at(2027, 1, 1, 0, 0)),
    ],
)
def test_next_firing_time(expr: str, expected: datetime) -> None:
    # given / when / then
    assert next_after(parse(expr), T0) == expected


def test_restricted_day_of_month_and_week_fire_on_either() -> None:
    # given: "the 13th, or any Friday" (Vixie cron semantics)
    spec = parse("0 0 13 * 5")
    # when: stepping through March 2026
    firings = [next_after(spec, T0)]
    firings.append(next_after(spec, firings[-1]))
    firings.append(next_after(spec, firings[-1]))
    # then: Friday the 6th, Friday the 13th, Friday the 20th
    assert [f.day for f in firings] == [6, 13, 20]


def test_next_is_strictly_after_even_on_a_matching_minute() -> None:
    spec = parse("0 3 * * *")
    assert next_after(spec, _at(2026, 3, 4, 3, 0)) == _at(2026, 3, 5, 3, 0)


def test_other_time_zones_are_read_as_the_same_instant() -> None:
    moscow = timezone(timedelta(hours=3))
    # 02:30 in Moscow is 23:30 UTC the day before: the next 03:00 UTC is the same night.
    moment = datetime(2026, 3, 4, 2, 30, tzinfo=moscow)
    assert next_after(parse("0 3 * * *"), moment) == _at(2026, 3, 4, 3, 0)


def test_year_end_rolls_over() -> None:
    assert next_after(parse("0 0 * * *"), _at(2026, 12, 31, 23, 59)) == _at(2027, 1, 1, 0, 0)


def test_expression_is_normalised() -> None:
    assert parse("  0   3 * *  1 ").expr == "0 3 * * 1"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 3 * *", "5 fields"),
        ("0 3 * * * *", "5 fields"),
        ("60 * * * *", "minute: '60' is outside 0–59"),
        ("* 24 * * *", "hour: '24' is outside 0–23"),
        ("* * 0 * *", "day of month: '0' is outside 1–31"),
        ("* * * 13 *", "month: '13' is outside 1–12"),
        ("* * * * 8", "day of week: '8' is outside 0–7"),
        ("a * * * *", "minute: 'a' is not a number"),
        ("*/0 * * * *", "minute: the step in '*/0' must be at least 1"),
        ("5-1 * * * *", "minute: the range '5-1' runs backwards"),
        ("* * * * MON", "day of week: 'MON' is not a number"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6 *", "never fires"),
        ("", "5 fields"),
    ],
)
def test_bad_expressions_are_refused_naming_the_field(expr: str, message: str) -> None:
    with pytest.raises(CronError) as caught:
        parse(expr)
    assert message in str(caught.value)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_after(parse("* * * * *"), datetime(2026, 1, 1))
