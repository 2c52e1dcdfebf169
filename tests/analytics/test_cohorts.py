"""Monthly cohorts by first purchase, on a hand-made shop, on both engines.

Now is 2026-03-15; the last three months are January, February and March 2026.

    contact  purchases                                         cohort
    A        01-05 100, 02-10 50, 03-01 30                     January
    B        01-20 200, a cancelled 999 on 02-01               January
    C        01-25 60 and 01-28 40 (two in month 0), 03-10 80  January
    D        02-03 300, 03-05 100                              February
    E        2025-12-20 70, 01-10 500                          December 2025 (not January)
    F        01-02 1000, deleted                               —

    January:  3 customers; buyers by month 3, 1 (A), 2 (A, C); revenue 400, 50, 110
    February: 1 customer; buyers 1, 1; revenue 300, 100
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from retentio.analytics.cohorts import cohorts
from retentio.commerce.models import OrderStatus
from tests.analytics.helpers import contact, day, order

NOW = day("2026-03-15")


@pytest.fixture
def shop(db: Session) -> None:
    a = contact(db, "A")
    order(db, a, "2026-01-05", "100.00")
    order(db, a, "2026-02-10", "50.00")
    order(db, a, "2026-03-01", "30.00")
    b = contact(db, "B")
    order(db, b, "2026-01-20", "200.00")
    order(db, b, "2026-02-01", "999.00", status=OrderStatus.CANCELLED)
    c = contact(db, "C")
    order(db, c, "2026-01-25", "60.00")
    order(db, c, "2026-01-28", "40.00")
    order(db, c, "2026-03-10", "80.00")
    d = contact(db, "D")
    order(db, d, "2026-02-03", "300.00")
    order(db, d, "2026-03-05", "100.00")
    e = contact(db, "E")
    order(db, e, "2025-12-20", "70.00")
    order(db, e, "2026-01-10", "500.00")
    f = contact(db, "F", deleted_at=day("2026-03-01"))
    order(db, f, "2026-01-02", "1000.00")


@pytest.mark.usefixtures("shop")
def test_cohorts_of_the_last_three_months(db: Session) -> None:
    # when
    january, february = cohorts(db, NOW, months=3)
    # then: March has no new customer, so no cohort
    assert (january.month.isoformat(), january.customers) == ("2026-01-01", 3)
    assert january.buyers == (3, 1, 2)
    assert january.revenue == (Decimal("400.00"), Decimal("50.00"), Decimal("110.00"))
    assert (february.month.isoformat(), february.customers) == ("2026-02-01", 1)
    assert february.buyers == (1, 1)
    assert february.revenue == (Decimal("300.00"), Decimal("100.00"))


@pytest.mark.usefixtures("shop")
def test_the_three_measures(db: Session) -> None:
    january, february = cohorts(db, NOW, months=3)
    # retention: 3/3, 1/3, 2/3 of the cohort bought in the month
    assert january.retention() == [100.0, pytest.approx(100 / 3), pytest.approx(200 / 3)]
    # revenue per customer: 400/3, 50/3, 110/3
    assert january.revenue_per_customer() == [
        Decimal("133.33"),
        Decimal("16.67"),
        Decimal("36.67"),
    ]
    # cumulative LTV: 400/3, 450/3, 560/3
    assert january.cumulative_ltv() == [Decimal("133.33"), Decimal("150.00"), Decimal("186.67")]
    assert february.values("ltv") == [300.0, 400.0]
    assert february.values("retention") == [100.0, 100.0]


@pytest.mark.usefixtures("shop")
def test_an_older_cohort_comes_with_more_months(db: Session) -> None:
    # when: four months back, December 2025 is in
    december, january, _february = cohorts(db, NOW, months=4)
    # then: E's January purchase is December's month 1, not a January first purchase
    assert (december.month.isoformat(), december.customers) == ("2025-12-01", 1)
    assert december.buyers == (1, 1, 0, 0)
    assert december.revenue[1] == Decimal("500.00")
    assert january.customers == 3


def test_no_orders_no_cohorts(db: Session) -> None:
    assert cohorts(db, NOW) == []
