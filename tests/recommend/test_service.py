"""Recomputing associations and category intervals from orders, on a hand-counted shop."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.commerce.models import OrderStatus
from retentio.recommend.models import Association, CategoryInterval
from tests.recommend.conftest import Baskets


def _rules(db: Session) -> dict[tuple[int, int], tuple[int, float, float]]:
    rows = db.scalars(select(Association))
    return {(r.product_a_id, r.product_b_id): (r.together, r.confidence, r.lift) for r in rows}


@pytest.fixture
def ten_customers(baskets: Baskets) -> dict[str, int]:
    """10 customers: 4 bought A, 3 of them also B; every one bought C; 2 of A's buyers D.

    A→B: together 3, confidence 3/4, lift (3/4) / (3/10) = 2.5; B→A: confidence 1, lift 2.5;
    A→C: confidence 1, lift 1; A→D: together 2, under the minimum of 3.
    """
    ids = baskets.products("A", "B", "C", "D")
    people = baskets.contacts(10)
    for n, contact_id in enumerate(people):
        skus = ["C"] + (["A"] if n < 4 else []) + (["D"] if n < 2 else [])
        baskets.order(contact_id, *skus, day=n)
        if n < 3:  # B in a later order: co-occurrence is per customer, not per basket
            baskets.order(contact_id, "B", day=n + 30)
    # A cancelled order counts nowhere.
    baskets.order(people[9], "B", "A", day=40, status=OrderStatus.CANCELLED)
    return ids


def test_lift_and_confidence_match_the_hand_count(
    baskets: Baskets, ten_customers: dict[str, int], db: Session
) -> None:
    # given: the ten customers above
    a, b, c, d = (ten_customers[s] for s in "ABCD")
    # when
    result = baskets.recompute()
    # then
    rules = _rules(db)
    assert rules[(a, b)] == (3, 0.75, pytest.approx(2.5))
    assert rules[(b, a)] == (3, 1.0, pytest.approx(2.5))
    assert rules[(a, c)] == (4, 1.0, pytest.approx(1.0))
    assert rules[(c, a)] == (4, 0.4, pytest.approx(1.0))
    assert (a, d) not in rules
    assert result.pairs == len(rules) == 6  # A↔B, A↔C, B↔C


def test_recomputing_replaces_every_row_with_the_same_ones(
    baskets: Baskets, ten_customers: dict[str, int], db: Session
) -> None:
    # given
    baskets.recompute()
    first = _rules(db)
    # when
    baskets.recompute()
    # then
    assert _rules(db) == first


def test_only_orders_before_now_count(
    baskets: Baskets, ten_customers: dict[str, int], db: Session
) -> None:
    # given: B was bought from day 30 on
    # when: computed as of day 20
    result = baskets.recompute(day=20)
    # then: only A↔C remain
    a, c = ten_customers["A"], ten_customers["C"]
    assert result.pairs == 2
    assert set(_rules(db)) == {(a, c), (c, a)}


def test_category_interval_is_the_median_of_every_gap(baskets: Baskets, db: Session) -> None:
    # given: gaps of 10 and 30 days for one customer, 20 for another (a second coffee on the
    # same day is no gap), a single purchase for a third
    baskets.products("BEANS", "GROUND", category="coffee")
    first, second, third = baskets.contacts(3)
    for day in (0, 10, 40):
        baskets.order(first, "BEANS", day=day)
    baskets.order(second, "GROUND", day=5)
    baskets.order(second, "BEANS", day=25)
    baskets.order(second, "GROUND", day=25)
    baskets.order(third, "BEANS", day=3)
    # when
    result = baskets.recompute()
    # then
    row = db.scalars(select(CategoryInterval)).one()
    assert (row.category, row.median_days, row.customers) == ("coffee", 20.0, 2)
    assert result.categories == 1
