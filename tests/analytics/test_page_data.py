"""The page's period: defaults, the previous period and the validation of the dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from retentio.analytics.page_data import Period, default_period, parse_period, period_of
from retentio.errors import InvalidInput

TODAY = date(2026, 3, 31)


def test_the_default_is_the_last_90_days_and_the_90_before() -> None:
    period = default_period(TODAY)
    assert (period.first_day, period.last_day, period.days) == (
        date(2026, 1, 1), TODAY, 90,
    )  # fmt: skip
    assert (period.start, period.end) == (
        datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC),
    )  # fmt: skip
    assert period.previous() == Period(date(2025, 10, 3), date(2025, 12, 31))
    assert parse_period(None, "", today=TODAY) == period


def test_a_missing_side_is_filled_in() -> None:
    assert period_of(None, date(2026, 2, 28), today=TODAY) == Period(
        date(2025, 12, 1), date(2026, 2, 28)
    )
    assert period_of(date(2026, 3, 1), None, today=TODAY) == Period(date(2026, 3, 1), TODAY)
    assert parse_period("2026-03-31", "2026-03-31", today=TODAY).days == 1


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2026-03-02", "2026-03-01", "start", "The period must not start after it ends."),
        ("01.03.2026", None, "start", "start must be a date as YYYY-MM-DD."),
        (None, "soon", "end", "end must be a date as YYYY-MM-DD."),
        ("1969-12-31", None, "start", "start must not be before 1970-01-01."),
        ("2016-03-23", None, "start", "The period must not be longer than 3660 days."),
    ],
)
def test_invalid_periods_name_the_field(
    start: str | None, end: str | None, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_period(start, end, today=TODAY)
    assert (raised.value.message, raised.value.details) == (message, {"field": field})


def test_3660_days_is_the_longest_period() -> None:
    assert parse_period("2016-03-24", None, today=TODAY).days == 3660
