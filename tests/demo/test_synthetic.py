"""The synthetic shop: deterministic, well-formed, and drawn from the truth it claims."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from retentio.demo.synthetic import (
    CATEGORY_NAMES,
    Customer,
    DemoShop,
    Order,
    OrderItem,
    TruthParams,
    catalogue,
    generate,
    summary_rfm,
)

START = date(2022, 1, 1)
END = date(2024, 12, 31)
HORIZON = datetime(2025, 1, 1, tzinfo=UTC)  # observation stops at midnight after END
E164_RUSSIAN_MOBILE = re.compile(r"^\+79\d{9}$")
EMAIL = re.compile(r"^[a-z0-9.]+@example\.(ru|com)$")


@pytest.fixture(scope="module")
def shop() -> DemoShop:
    return generate(20_000, seed=7, start=START, end=END)


@pytest.fixture(scope="module")
def repeats(shop: DemoShop) -> np.ndarray:
    """Repeat orders per customer, in the order of `shop.customers`."""
    orders = Counter(o.customer_key for o in shop.orders)
    return np.array([orders[c.key] - 1 for c in shop.customers])


@pytest.fixture(scope="module")
def ages(shop: DemoShop) -> np.ndarray:
    """Days from each customer's first purchase to the end of observation."""
    return np.array([(HORIZON - c.first_purchase_at) / timedelta(days=1) for c in shop.customers])


def test_the_same_seed_gives_the_same_shop() -> None:
    # given two shops drawn with the same seed
    first = generate(300, seed=11, start=START, end=END)
    second = generate(300, seed=11, start=START, end=END)

    # then they are equal to the last order line
    assert first == second


def test_a_different_seed_gives_a_different_shop() -> None:
    # given shops drawn with different seeds
    first = generate(300, seed=11, start=START, end=END)
    second = generate(300, seed=12, start=START, end=END)

    # then customers and orders differ
    assert first.customers != second.customers
    assert first.orders != second.orders


def test_no_customers_gives_an_empty_shop() -> None:
    empty = generate(0, seed=1, start=START, end=END)

    assert (empty.customers, empty.orders) == ((), ())
    assert empty.products == catalogue()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="end must not be before start"):
        generate(10, seed=1, start=END, end=START)
    with pytest.raises(ValueError, match="negative"):
        generate(-1, seed=1, start=START, end=END)
    with pytest.raises(ValueError, match="q must exceed 1"):
        TruthParams(q=0.9)


def test_the_catalogue_is_fixed_and_priced_in_kopecks() -> None:
    products = catalogue()

    assert len(products) == 61
    assert {p.category for p in products} == set(CATEGORY_NAMES)
    assert len({p.sku for p in products}) == 61
    assert products[0].name == "Кроссовки беговые"
    assert products[0].price == Decimal("6990.00")
    assert all(p.price.as_tuple().exponent == -2 for p in products)


def test_emails_phones_and_order_ids_are_unique(shop: DemoShop) -> None:
    emails = [c.email for c in shop.customers]
    phones = [c.phone for c in shop.customers]
    order_ids = [o.external_id for o in shop.orders]

    assert len(set(emails)) == len(emails) == 20_000
    assert len(set(phones)) == len(phones) == 20_000
    assert len(set(order_ids)) == len(order_ids)
    assert len({c.key for c in shop.customers}) == 20_000


def test_phones_are_e164_and_emails_use_example_domains(shop: DemoShop) -> None:
    assert all(E164_RUSSIAN_MOBILE.match(c.phone) for c in shop.customers)
    assert all(EMAIL.match(c.email) for c in shop.customers)


def test_surnames_agree_with_gender(shop: DemoShop) -> None:
    women = [c.last_name for c in shop.customers if c.gender == "f"]
    men = [c.last_name for c in shop.customers if c.gender == "m"]

    assert not [name for name in women if name.endswith(("ов", "ев", "ёв", "ин", "ий"))]
    assert not [name for name in men if name.endswith(("ова", "ева", "ёва", "ина", "ая"))]
    assert "Иванова" in women
    assert "Иванов" in men


def test_every_total_is_the_sum_of_its_lines(shop: DemoShop) -> None:
    skus = {p.sku for p in shop.products}

    for order in shop.orders:
        assert order.items
        assert order.total == sum(i.quantity * i.unit_price for i in order.items)
        assert len({i.sku for i in order.items}) == len(order.items)
        assert {i.sku for i in order.items} <= skus
        assert all(i.quantity >= 1 and i.unit_price > 0 for i in order.items)


def test_orders_lie_within_each_customers_life_and_the_window(shop: DemoShop) -> None:
    customers = {c.key: c for c in shop.customers}

    for order in shop.orders:
        customer = customers[order.customer_key]
        assert customer.first_purchase_at <= order.placed_at < HORIZON
        assert order.placed_at.date() <= END
        assert order.placed_at.tzinfo is UTC
        if customer.alive_until is not None:
            assert order.placed_at <= customer.alive_until


def test_each_customer_starts_with_the_first_purchase_and_drops_out_after_a_repeat_one(
    shop: DemoShop,
) -> None:
    # given every customer's orders, in time order
    placed: dict[str, list[datetime]] = {}
    for order in shop.orders:
        placed.setdefault(order.customer_key, []).append(order.placed_at)

    for customer in shop.customers:
        moments = placed[customer.key]
        # then the first order is the first purchase, and a drop-out is a repeat purchase's moment
        assert moments[0] == customer.first_purchase_at
        if customer.alive_until is not None:
            assert len(moments) >= 2
            assert moments[-1] == customer.alive_until


def test_orders_are_numbered_in_time_and_customers_in_acquisition_order(shop: DemoShop) -> None:
    placed = [o.placed_at for o in shop.orders]
    acquired = [c.first_purchase_at for c in shop.customers]

    assert placed == sorted(placed)
    assert [o.external_id for o in shop.orders[:2]] == ["SO-00000001", "SO-00000002"]
    assert acquired == sorted(acquired)
    assert shop.customers[0].key == "C0000001"


def test_first_purchases_fall_in_the_first_two_years_with_a_december_peak(shop: DemoShop) -> None:
    months = Counter(c.first_purchase_at.month for c in shop.customers)

    assert max(c.first_purchase_at for c in shop.customers) < datetime(2024, 1, 1, tzinfo=UTC)
    assert months[12] > 1.5 * months[6]


def test_latent_rates_and_drop_out_chances_follow_the_truth(shop: DemoShop) -> None:
    truth = shop.truth
    lam = np.array([c.lam for c in shop.customers])
    p_drop = np.array([c.p_drop for c in shop.customers])

    assert lam.mean() == pytest.approx(truth.r / truth.alpha, rel=0.05)
    assert p_drop.mean() == pytest.approx(truth.a / (truth.a + truth.b), rel=0.05)


def test_share_without_repeat_purchases_matches_the_bgnbd_formula(
    shop: DemoShop, repeats: np.ndarray, ages: np.ndarray
) -> None:
    # given P(X(t)=0) = (alpha / (alpha + t))^r (Fader, Hardie & Lee 2005, eq. 8 with x = 0),
    # averaged over every customer's own observed age t
    truth = shop.truth
    expected = np.mean((truth.alpha / (truth.alpha + ages)) ** truth.r)

    # then the simulated share agrees; were the first purchase allowed to end a life, it would
    # be about 0.24 * (1 - 0.45), i.e. ~13 points higher
    assert np.mean(repeats == 0) == pytest.approx(expected, abs=0.015)


def test_share_with_one_repeat_purchase_matches_the_bgnbd_formula(
    shop: DemoShop, repeats: np.ndarray, ages: np.ndarray
) -> None:
    # given P(X(t)=1) = b/(a+b) * r * (alpha/(alpha+t))^r * t/(alpha+t)
    #                   + a/(a+b) * (1 - (alpha/(alpha+t))^r)   (eq. 8 with x = 1)
    tp = shop.truth
    stay = (tp.alpha / (tp.alpha + ages)) ** tp.r
    once_and_alive = tp.b / (tp.a + tp.b) * tp.r * stay * ages / (tp.alpha + ages)
    once_and_gone = tp.a / (tp.a + tp.b) * (1.0 - stay)
    expected = np.mean(once_and_alive + once_and_gone)

    # then the simulated share agrees; without drop-outs the second term would vanish
    assert np.mean(repeats == 1) == pytest.approx(expected, abs=0.01)


def test_order_values_follow_the_gamma_gamma_truth(shop: DemoShop) -> None:
    truth = shop.truth
    mean_spend = {c.key: c.mean_spend for c in shop.customers}
    totals = np.array([float(o.total) for o in shop.orders])
    means = np.array([mean_spend[o.customer_key] for o in shop.orders])

    population_mean = np.mean(list(mean_spend.values()))
    assert population_mean == pytest.approx(truth.p * truth.gamma / (truth.q - 1), rel=0.05)
    assert totals.sum() / means.sum() == pytest.approx(1.0, rel=0.02)


def test_line_prices_stay_near_the_list_price(shop: DemoShop) -> None:
    list_price = {p.sku: p.price for p in shop.products}
    factors = np.array(
        [float(i.unit_price / list_price[i.sku]) for o in shop.orders for i in o.items]
    )

    low, high = np.percentile(factors, [5, 95])
    assert 0.6 < low < 1.0 < high < 1.45


def test_summary_rfm_counts_purchase_days_up_to_the_calibration_end() -> None:
    # given a customer with two purchases on 1 January, two on 5 January and one after the
    # calibration end; another with a single late-night purchase; a third acquired too late
    def at(day: int, hour: int, month: int = 1) -> datetime:
        return datetime(2024, month, day, hour, tzinfo=UTC)

    shop = DemoShop(
        products=catalogue(),
        customers=(_customer("A", at(1, 10)), _customer("B", at(3, 23)), _customer("C", at(20, 9))),
        orders=(
            _order("1", "A", at(1, 10)),
            _order("2", "A", at(1, 18)),
            _order("3", "B", at(3, 23)),
            _order("4", "A", at(5, 9)),
            _order("5", "A", at(5, 12)),
            _order("6", "C", at(20, 9)),
            _order("7", "A", at(1, 8, month=2)),
        ),
        truth=TruthParams(),
    )

    # when summarised at midnight on 11 January
    x, t_x, age = summary_rfm(shop, calibration_end=at(11, 0))

    # then A has one repeat day four days in and is ten days old; B has none and is eight
    assert x.tolist() == [1.0, 0.0]
    assert t_x.tolist() == [4.0, 0.0]
    assert age.tolist() == [10.0, 8.0]


def test_summary_rfm_of_a_generated_shop_covers_the_acquired_prefix(shop: DemoShop) -> None:
    calibration_end = datetime(2023, 7, 1, tzinfo=UTC)
    acquired = sum(c.first_purchase_at < calibration_end for c in shop.customers)

    x, t_x, age = summary_rfm(shop, calibration_end=calibration_end)

    assert len(x) == len(t_x) == len(age) == acquired
    assert np.all((x >= 0) & (t_x >= 0) & (t_x < age))
    assert np.all((x == 0) == (t_x == 0))


def test_summary_rfm_refuses_a_naive_calibration_end(shop: DemoShop) -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        summary_rfm(shop, calibration_end=datetime(2023, 7, 1))


def _customer(key: str, first_purchase_at: datetime) -> Customer:
    return Customer(
        key=key,
        first_name="Иван",
        last_name="Петров",
        gender="m",
        birthday=date(1990, 5, 17),
        city="Казань",
        email=f"{key.lower()}@example.ru",
        phone="+79000000000",
        first_purchase_at=first_purchase_at,
        lam=0.01,
        p_drop=0.2,
        mean_spend=3000.0,
        alive_until=None,
    )


def _order(external_id: str, customer_key: str, placed_at: datetime) -> Order:
    item = OrderItem(sku="COF-001", quantity=1, unit_price=Decimal("1590.00"))
    return Order(external_id, customer_key, placed_at, (item,), item.unit_price)
