"""`analytics.queries` on a small hand-made shop, on both engines.

Two periods of a quarter each, P1 = [2026-01-01, 2026-04-01) (90 days) and
P2 = [2026-04-01, 2026-07-01) (91 days), with a 90-day activity window, so a customer is
active at 2026-01-01 with a purchase in [2025-10-03, 2026-01-01), at 2026-04-01 with one in
[2026-01-01, 2026-04-01) and at 2026-07-01 with one in [2026-04-02, 2026-07-01).

    contact  city    created     purchases (non-cancelled)                       notes
    A        Moscow  2025-11-01  2025-11-10 100, 2026-02-10 200, 2026-05-10 300  CLV 500
    B        Moscow  2025-11-20  2025-12-01 150                                   lost in P1
    C        Moscow  2025-12-01  2025-12-15 80, 2026-03-01 120,                  CLV 300
                                 2026-03-20 100 refunded 40 (earns 60)
    D        Omsk    2026-01-20  2026-02-01 500, 2026-06-01 250                   + a cancelled
                                                                                  999 on 02-01
    E        Omsk    2025-05-20  2025-06-01 70, 2026-03-10 90                     reactivated
    F        Omsk    2025-12-10  2025-12-20 60, 2026-02-20 60, 2026-05-20 60
    G        Moscow  2026-02-15  none                                             a lead in P1
    H        Omsk    2026-03-01  none                                             anonymous
    I        Moscow  2026-01-05  2026-02-05 1000                                  deleted
    J        Moscow  2026-04-05  2026-04-10 400, 2026-04-20 100                   new in P2
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from retentio.analytics.formulas import Levers, weakest_lever
from retentio.analytics.queries import GroupBy, metrics, period_counts, periods_counts
from retentio.commerce.models import OrderStatus
from tests.analytics.helpers import contact, day, order, profile

P1 = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
P2 = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
WINDOW = 90


def _contact(db: Session, name: str, city: str, created: str, **fields: object) -> int:
    return contact(db, name, city=city, source=f"src-{city}", created_at=day(created), **fields)


def _profile(db: Session, contact_id: int, clv: str) -> None:
    profile(db, contact_id, clv_12m=Decimal(clv), computed_at=day("2026-07-01"))


@pytest.fixture
def shop(db: Session) -> None:
    a = _contact(db, "A", "Moscow", "2025-11-01")
    order(db, a, "2025-11-10", "100.00")
    order(db, a, "2026-02-10", "200.00")
    order(db, a, "2026-05-10", "300.00")
    _profile(db, a, "500.00")
    b = _contact(db, "B", "Moscow", "2025-11-20")
    order(db, b, "2025-12-01", "150.00")
    c = _contact(db, "C", "Moscow", "2025-12-01")
    order(db, c, "2025-12-15", "80.00")
    order(db, c, "2026-03-01", "120.00")
    order(db, c, "2026-03-20", "100.00", refunded="40.00", status=OrderStatus.REFUNDED)
    _profile(db, c, "300.00")
    d = _contact(db, "D", "Omsk", "2026-01-20")
    order(db, d, "2026-02-01", "500.00")
    order(db, d, "2026-02-01", "999.00", status=OrderStatus.CANCELLED)
    order(db, d, "2026-06-01", "250.00")
    e = _contact(db, "E", "Omsk", "2025-05-20")
    order(db, e, "2025-06-01", "70.00")
    order(db, e, "2026-03-10", "90.00")
    f = _contact(db, "F", "Omsk", "2025-12-10")
    order(db, f, "2025-12-20", "60.00")
    order(db, f, "2026-02-20", "60.00")
    order(db, f, "2026-05-20", "60.00")
    _contact(db, "G", "Moscow", "2026-02-15")
    _contact(db, "H", "Omsk", "2026-03-01", is_anonymous=True)
    i = _contact(db, "I", "Moscow", "2026-01-05", deleted_at=day("2026-06-01"))
    order(db, i, "2026-02-05", "1000.00")
    j = _contact(db, "J", "Moscow", "2026-04-05")
    order(db, j, "2026-04-10", "400.00")
    order(db, j, "2026-04-20", "100.00")


@pytest.mark.usefixtures("shop")
def test_first_quarter_overall(db: Session) -> None:
    # when
    [row] = metrics(db, *P1, activity_days=WINDOW)
    # then: active at the start A B C F; at the end A C D E F; new D (first purchase 02-01);
    # lost B; retained A C F; reactivated E (bought in June 2025, came back in March)
    counts = row.counts
    assert row.group is None
    assert (counts.active_at_start, counts.active_at_end, counts.new) == (4, 5, 1)
    assert (counts.lost, counts.retained, counts.reactivated) == (1, 3, 1)
    # CRR (5 - 1) / 4 = 1.0 counts E's return as retention; churn 1 / 4: they do not add to 1
    assert row.retention_rate == 1.0
    assert row.churn_rate == 0.25
    assert row.active_base == 5
    # leads D G (H is anonymous, I deleted); buyers A C D E F, C twice; the cancelled 999 and
    # deleted I's 1000 do not count; C's refunded order earns 100 - 40
    assert (counts.leads, counts.buyers, counts.repeat_buyers, counts.orders) == (2, 5, 1, 6)
    assert counts.revenue == Decimal("1030.00")  # 200 + (120 + 60) + 500 + 90 + 60
    assert row.repeat_purchase_rate == 0.2  # 1 / 5
    assert row.purchase_frequency == 1.2  # 6 / 5
    assert row.average_check == Decimal("171.67")  # 1030 / 6
    # customers A-F; days first to last purchase: A 92, B 0, C 95, D 0, E 282, F 62 = 531
    assert counts.customers == 6
    assert counts.lifetime_days == 531.0
    assert row.average_lifetime_days == 88.5  # 531 / 6
    # 171.67 x 1.2 x (88.5 / 90 periods) = 202.57
    assert row.simple_ltv == Decimal("202.57")
    assert row.predicted_clv_12m == Decimal("400.00")  # mean of A's 500 and C's 300
    # leads 2 x conversion 5/2 x check 1030/6 x 6/5 purchases per buyer = 1030.00
    assert row.levers.leads == 2
    assert row.levers.conversion == 2.5
    assert row.levers.purchases_per_customer == 1.2
    assert row.levers.revenue == Decimal("1030.00")


@pytest.mark.usefixtures("shop")
def test_second_quarter_overall(db: Session) -> None:
    # when
    [row] = metrics(db, *P2, activity_days=WINDOW)
    # then: active at 04-01 A C D E F (P1's end); at 07-01 A D F J; new J; lost C E
    counts = row.counts
    assert (counts.active_at_start, counts.active_at_end, counts.new) == (5, 4, 1)
    assert (counts.lost, counts.retained, counts.reactivated) == (2, 3, 0)
    assert row.retention_rate == 0.6  # (4 - 1) / 5
    assert row.churn_rate == 0.4  # 2 / 5
    # leads J; buyers A D F J, J twice; 300 + 250 + 60 + 400 + 100
    assert (counts.leads, counts.buyers, counts.repeat_buyers, counts.orders) == (1, 4, 1, 5)
    assert counts.revenue == Decimal("1110.00")
    assert row.repeat_purchase_rate == 0.25
    assert row.purchase_frequency == 1.25
    assert row.average_check == Decimal("222.00")
    # A 181, B 0, C 95, D 120, E 282, F 151, J 10 days = 839 over 7 customers
    assert (counts.customers, counts.lifetime_days) == (7, 839.0)
    # 222 x 1.25 x (839 / 7 / 91) = 365.50
    assert row.simple_ltv == Decimal("365.50")
    assert row.levers == Levers(1, 4.0, Decimal("222"), 1.25)
    assert row.levers.revenue == Decimal("1110.00")


@pytest.mark.usefixtures("shop")
def test_the_weakest_lever_between_the_quarters_is_leads(db: Session) -> None:
    # given
    [first] = metrics(db, *P1, activity_days=WINDOW)
    [second] = metrics(db, *P2, activity_days=WINDOW)
    # then: leads 2 -> 1 is -50 %; conversion 2.5 -> 4 is +60 %; check 171.67 -> 222 and
    # purchases per buyer 1.2 -> 1.25 grew too
    assert weakest_lever(first.levers, second.levers) == "leads"


@pytest.mark.usefixtures("shop")
def test_first_quarter_by_city(db: Session) -> None:
    # when
    rows = metrics(db, *P1, activity_days=WINDOW, group_by="city")
    # then
    assert [row.group for row in rows] == ["Moscow", "Omsk"]
    moscow, omsk = rows
    # Moscow: active at the start A B C, at the end A C; B lost; lead G; buyers A C
    assert (moscow.counts.active_at_start, moscow.counts.active_at_end) == (3, 2)
    assert (moscow.counts.new, moscow.counts.lost, moscow.counts.leads) == (0, 1, 1)
    assert moscow.retention_rate == 2 / 3
    assert moscow.churn_rate == 1 / 3
    assert (moscow.counts.buyers, moscow.counts.orders) == (2, 3)
    assert moscow.counts.revenue == Decimal("380.00")  # 200 + 120 + 60
    assert moscow.average_check == Decimal("126.67")  # 380 / 3
    assert moscow.average_lifetime_days == 187 / 3  # A 92 + B 0 + C 95 over 3
    assert moscow.predicted_clv_12m == Decimal("400.00")
    # Omsk: active at the start F, at the end D E F; D new, E back: CRR (3 - 1) / 1 = 2.0
    assert (omsk.counts.active_at_start, omsk.counts.active_at_end) == (1, 3)
    assert (omsk.counts.new, omsk.counts.lost, omsk.counts.reactivated) == (1, 0, 1)
    assert omsk.retention_rate == 2.0
    assert omsk.churn_rate == 0.0
    assert (omsk.counts.leads, omsk.counts.buyers, omsk.counts.repeat_buyers) == (1, 3, 0)
    assert omsk.counts.revenue == Decimal("650.00")  # 500 + 90 + 60
    assert omsk.repeat_purchase_rate == 0.0
    assert omsk.counts.lifetime_days == 344.0  # D 0 + E 282 + F 62
    assert omsk.predicted_clv_12m is None


@pytest.mark.usefixtures("shop")
def test_groups_by_source_match_the_cities_here(db: Session) -> None:
    # when
    rows = period_counts(db, *P1, activity_days=WINDOW, group_by="source")
    # then: every contact's source is "src-" + city
    assert [(row.group, row.buyers, row.revenue) for row in rows] == [
        ("src-Moscow", 2, Decimal("380.00")),
        ("src-Omsk", 3, Decimal("650.00")),
    ]


def test_an_empty_shop_has_no_defined_rates(db: Session) -> None:
    # when
    [row] = metrics(db, *P1)
    # then
    assert row.counts.active_at_start == 0
    assert row.counts.revenue == Decimal("0.00")
    assert row.retention_rate is None
    assert row.churn_rate is None
    assert row.average_check is None
    assert row.simple_ltv is None
    assert row.predicted_clv_12m is None
    assert row.levers.revenue is None


def test_a_period_must_end_after_it_starts(db: Session) -> None:
    with pytest.raises(ValueError, match="must end after"):
        period_counts(db, P1[1], P1[0])


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("group_by", [None, "city"])
def test_several_periods_in_one_statement_count_as_each_alone(
    db: Session, group_by: GroupBy | None
) -> None:
    # given: the two quarters, and a period overlapping both
    periods = [P1, P2, (datetime(2026, 2, 15, tzinfo=UTC), datetime(2026, 5, 15, tzinfo=UTC))]
    # when
    together = periods_counts(db, periods, activity_days=WINDOW, group_by=group_by)
    # then
    assert together == [
        period_counts(db, *period, activity_days=WINDOW, group_by=group_by) for period in periods
    ]
