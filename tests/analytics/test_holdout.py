"""The calibration check on the shop's own orders: the split, the report and "too little data".

The fitting shop's history runs from 2025-01-01 to 2025-04-01 (91 days): the holdout is its
last third, 30 days, so calibration ends on 2025-03-02 and the holdout runs 03-03 … 04-01.

    20 one-time buyers   2025-01-10                                    x = 0, holdout 0
    10 regulars          01-01, 02-01, 03-01 | 03-20, 04-01            x = 2, holdout 2
    1 late customer      03-15 (first purchase in the holdout)         not in the check
    a deleted contact    2024-06-01 (would stretch the history)        not counted
    a cancelled order    2024-07-01 (ditto)                            not counted
"""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy.orm import Session

from retentio.analytics.holdout import check, holdout_days
from retentio.commerce.models import OrderStatus
from tests.analytics.helpers import contact, day, order

NOW = day("2025-04-10")


@pytest.mark.parametrize(
    ("history", "holdout"), [(91, 30), (84, 28), (300, 100), (1095, 365), (2000, 365)]
)
def test_the_holdout_is_the_last_third_capped_at_a_year(history: int, holdout: int) -> None:
    assert holdout_days(history) == holdout


@pytest.fixture
def shop(db: Session) -> None:
    for _ in range(20):
        order(db, contact(db, "Once"), "2025-01-10")
    for _ in range(10):
        regular = contact(db, "Regular")
        for placed in ("2025-01-01", "2025-02-01", "2025-03-01", "2025-03-20", "2025-04-01"):
            order(db, regular, placed)
    order(db, contact(db, "Late"), "2025-03-15")
    order(db, contact(db, "Gone", deleted_at=day("2025-02-01")), "2024-06-01")
    someone = contact(db, "Cancelled")
    order(db, someone, "2024-07-01", status=OrderStatus.CANCELLED)
    order(db, someone, "2025-01-10")


@pytest.mark.usefixtures("shop")
def test_split_and_report(db: Session) -> None:
    # when
    result = check(db, NOW)
    # then: the dates
    assert result.problem is None
    assert (result.first_day, result.calibration_end, result.observation_end) == (
        date(2025, 1, 1), date(2025, 3, 2), date(2025, 4, 1),
    )  # fmt: skip
    assert result.holdout_start == date(2025, 3, 3)
    # the calibration cohort: 21 one-time buyers (one had a cancelled order) and 10 regulars
    assert (result.customers, result.repeat_buyers) == (31, 10)
    report = result.report
    assert report is not None
    got = [(b.label, b.customers, b.actual) for b in report.buckets]
    assert got == [("0", 21, 0.0), ("2", 10, 2.0)]
    assert report.holdout_actual == 20
    assert all(math.isfinite(b.predicted) and b.predicted >= 0 for b in report.buckets)
    # and weekly tracking from the first day: 13 points, days 7 … 91, 40 repeat visits in all
    dates = result.tracking_dates()
    assert (len(dates), dates[0], dates[-1]) == (13, date(2025, 1, 8), date(2025, 4, 2))
    assert report.tracking.actual.tolist()[-1] == 40
    assert report.tracking.calibration_end == 60


def test_no_orders(db: Session) -> None:
    result = check(db, NOW)
    assert (result.report, result.problem) == (None, "There are no orders yet.")


def test_a_short_history_is_said_so(db: Session) -> None:
    # given: 60 days of orders, and a holdout needs 84
    buyer = contact(db)
    order(db, buyer, "2025-01-01")
    order(db, buyer, "2025-03-01")
    # when
    result = check(db, NOW)
    # then
    assert result.report is None
    assert result.problem is not None
    assert result.problem % (result.problem_args or {}) == (
        "The order history covers 60 days; the check needs at least 84."
    )


def test_too_few_customers_is_said_so(db: Session) -> None:
    # given: 5 customers, 2 of whom bought again, over 120 days
    for n in range(5):
        buyer = contact(db)
        order(db, buyer, "2025-01-01")
        if n < 2:
            order(db, buyer, "2025-01-20")
    order(db, contact(db), "2025-04-30")
    # when
    result = check(db, day("2025-05-10"))
    # then
    assert result.report is None
    assert (result.customers, result.repeat_buyers) == (5, 2)
    assert result.problem is not None
    assert result.problem % (result.problem_args or {}) == (
        "Too little data to fit the model: 5 customers and 2 repeat buyers by the end of "
        "calibration; it needs at least 20 and 5."
    )
