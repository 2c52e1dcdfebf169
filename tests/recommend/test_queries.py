"""Reading recommendations: next best offers, popularity fallback, replenishment due dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from retentio.recommend import queries
from tests.recommend.conftest import T0, Baskets

NOW = T0 + timedelta(days=60)


@pytest.fixture
def shop(baskets: Baskets) -> dict[str, int]:
    """Three customers bought A with B and E; one of them also F. X is popular alone: five
    other customers bought it (and nothing else)."""
    ids = baskets.products("A", "B", "E", "F", "X")
    for n, contact_id in enumerate(baskets.contacts(3)):
        baskets.order(contact_id, "A", "B", day=n)
        baskets.order(contact_id, "E", day=n + 1)
        if n == 0:
            baskets.order(contact_id, "F", day=5)
    for contact_id in baskets.contacts(5):
        baskets.order(contact_id, "X", day=10)
    baskets.recompute(day=59)
    return ids


def test_offers_exclude_what_the_contact_bought_and_rank_by_summed_confidence(
    baskets: Baskets, shop: dict[str, int], db: Session
) -> None:
    # given: a new customer who bought A and E
    (contact_id,) = baskets.contacts(1)
    baskets.order(contact_id, "A", "E", day=20)
    # when
    offers = queries.next_best_offers(db, contact_id, 2, now=NOW)
    # then: B scores P(B|A) + P(B|E) = 1 + 1 (F, bought by one customer, is no rule); the
    # second slot is the popular X
    assert [(o.sku, o.score, o.source) for o in offers] == [
        ("B", 2.0, "together"),
        ("X", 5.0, "popular"),
    ]


def test_a_contact_with_nothing_scoring_gets_the_popular_products_not_yet_bought(
    baskets: Baskets, shop: dict[str, int], db: Session
) -> None:
    # given: a customer who only bought X, which has no rules
    (contact_id,) = baskets.contacts(1)
    baskets.order(contact_id, "X", day=20)
    # when
    offers = queries.next_best_offers(db, contact_id, 3, now=NOW)
    # then: the most buyers in the last 90 days first (A, B and E three each, by id), X left out
    assert [(o.sku, o.score, o.source) for o in offers] == [
        ("A", 3.0, "popular"),
        ("B", 3.0, "popular"),
        ("E", 3.0, "popular"),
    ]


def test_popularity_counts_only_the_last_90_days(
    baskets: Baskets, shop: dict[str, int], db: Session
) -> None:
    # given: the purchases of days 0-10
    # when: asked on day 99, the window starts on day 9
    offers = queries.popular(db, 5, now=T0 + timedelta(days=99))
    # then: only X, bought on day 10, is within the window
    assert [(o.sku, o.score) for o in offers] == [("X", 5.0)]


def test_bought_together_lists_partners_by_lift(shop: dict[str, int], db: Session) -> None:
    # when
    related = queries.bought_together(db, shop["A"])
    # then
    assert [(r.sku, r.together, r.confidence) for r in related] == [("B", 3, 1.0), ("E", 3, 1.0)]
    assert [r.lift for r in related] == [pytest.approx(8 / 3), pytest.approx(8 / 3)]


def test_replenishment_is_due_a_median_interval_after_the_last_purchase(
    baskets: Baskets, db: Session
) -> None:
    # given: coffee bought every 20 days by others; our contact last bought it on day 50
    baskets.products("BEANS", category="coffee")
    baskets.products("MUG", category="home")
    for contact_id in baskets.contacts(2):
        for day in (0, 20, 40):
            baskets.order(contact_id, "BEANS", day=day)
    (contact_id,) = baskets.contacts(1)
    baskets.order(contact_id, "BEANS", "MUG", day=30)
    baskets.order(contact_id, "BEANS", day=50)
    baskets.recompute(day=55)
    # when
    later = queries.replenishment_due(db, contact_id, now=T0 + timedelta(days=60))
    due = queries.replenishment_due(db, contact_id, now=T0 + timedelta(days=70))
    # then: home has no interval (one purchase each); coffee is due on day 70
    assert [(r.category, r.last_purchase_at, r.median_days) for r in later] == [
        ("coffee", T0 + timedelta(days=50), 20.0)
    ]
    assert (later[0].due_on, later[0].is_due) == (date(2026, 3, 16), False)
    assert (due[0].due_on, due[0].is_due) == (date(2026, 3, 16), True)


def test_template_variables_are_plain_json(
    baskets: Baskets, shop: dict[str, int], db: Session
) -> None:
    # given
    (contact_id,) = baskets.contacts(1)
    baskets.order(contact_id, "A", day=20)
    # when
    variables = queries.recommendation_variables(db, contact_id, 1)
    # then
    assert variables == [{"name": "Product B", "sku": "B", "price": "100.00", "currency": "RUB"}]
