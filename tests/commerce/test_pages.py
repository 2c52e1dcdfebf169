"""The order list with totals, the order card and the product catalogue."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.commerce.models import OrderChannel, OrderStatus
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.page_factories import T0, Shop

ORDER = re.compile(r'<tr data-order-id="(\d+)"')
PRODUCT = re.compile(r'<tr data-product-id="(\d+)"')


@pytest.fixture
def shop(settings: Settings) -> Shop:
    return Shop(settings.database_url)


def _orders(page: str) -> list[int]:
    return [int(i) for i in ORDER.findall(page)]


def _kpi(page: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}">([^<]+)<', page)
    assert match
    return html.unescape(match.group(1))


@pytest.fixture
def orders(shop: Shop) -> dict[str, int]:
    anna = shop.contact(first_name="Анна")
    boris = shop.contact(first_name="Борис")
    day = timedelta(days=1)
    return {
        "anna": anna,
        "paid": shop.order(anna, "1000.00", placed_at=T0),
        "refunded": shop.order(
            anna,
            "500.00",
            status=OrderStatus.REFUNDED,
            refunded="200.00",
            channel=OrderChannel.OFFLINE,
            placed_at=T0 + day,
        ),
        "cancelled": shop.order(
            boris, "300.00", status=OrderStatus.CANCELLED, placed_at=T0 + 2 * day
        ),
        "boris": shop.order(boris, "50.00", placed_at=T0 + 3 * day),
    }


def test_totals_count_revenue_after_refunds_and_cancellations(
    client: TestClient, make_user: UserFactory, orders: dict[str, int]
) -> None:
    log_in(client, make_user(Role.ANALYST).email)
    page = client.get("/orders").text
    assert _orders(page) == [
        orders["boris"],
        orders["cancelled"],
        orders["refunded"],
        orders["paid"],
    ]
    assert _kpi(page, "sum-total") == "RUB1,850.00"
    assert _kpi(page, "sum-revenue") == "RUB1,350.00"
    assert "1–4 of 4" in page


def test_filters_and_sorts(
    client: TestClient, make_user: UserFactory, orders: dict[str, int]
) -> None:
    log_in(client, make_user(Role.ADMIN).email)

    def found(**params: Any) -> list[int]:
        return _orders(client.get("/orders", params=params).text)

    assert found(status="cancelled") == [orders["cancelled"]]
    assert found(channel="offline") == [orders["refunded"]]
    assert found(**{"from": "2026-03-02", "to": "2026-03-03"}) == [
        orders["cancelled"],
        orders["refunded"],
    ]
    assert found(contact=orders["anna"]) == [orders["refunded"], orders["paid"]]
    assert found(sort="total") == [
        orders["boris"],
        orders["cancelled"],
        orders["refunded"],
        orders["paid"],
    ]
    assert found(sort="placed") == [
        orders["paid"],
        orders["refunded"],
        orders["cancelled"],
        orders["boris"],
    ]
    assert found(q="SO-2") == [orders["refunded"]]
    assert found(status="nonsense") == found()
    filtered = client.get("/orders", params={"status": "refunded"}).text
    assert _kpi(filtered, "sum-revenue") == "RUB300.00"


def test_orders_page_by_fifty(client: TestClient, make_user: UserFactory, shop: Shop) -> None:
    contact = shop.contact(first_name="A")
    ids = [shop.order(contact, "10.00", placed_at=T0 + timedelta(hours=n)) for n in range(51)]
    log_in(client, make_user(Role.ADMIN).email)
    assert _orders(client.get("/orders", params={"page": 2}).text) == [ids[0]]
    assert len(_orders(client.get("/orders").text)) == 50


def test_order_card_shows_items_customer_and_status(
    client: TestClient, make_user: UserFactory, orders: dict[str, int]
) -> None:
    log_in(client, make_user(Role.ADMIN).email)
    page = html.unescape(client.get(f"/orders/{orders['refunded']}").text)
    assert f'<a href="/contacts/{orders["anna"]}">Анна</a>' in page
    assert 'data-testid="status">Refunded<' in page
    assert 'data-testid="revenue">RUB300.00<' in page
    assert "<td>Чай</td>" in page


def test_sales_users_see_only_orders_of_their_contacts(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given
    seller = make_user(Role.SALES)
    mine = shop.order(shop.contact(first_name="Mine", owner_id=seller.id), "10.00")
    theirs = shop.order(shop.contact(first_name="Theirs"), "20.00")
    log_in(client, seller.email)
    # when
    page = client.get("/orders").text
    # then
    assert _orders(page) == [mine]
    assert _kpi(page, "sum-total") == "RUB10.00"
    assert client.get(f"/orders/{theirs}").status_code == 404
    assert client.get(f"/orders/{mine}").status_code == 200


def test_products_search_and_category_filter(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    shop.product("TEA-1", "Чай улун", "350.00", category="tea")
    shop.product("CUP-1", "Чашка", "500.00", category="dishes")
    shop.product("TEA-2", "Чай пуэр", "450.00", category="tea")
    log_in(client, make_user(Role.ANALYST).email)

    def names(**params: Any) -> list[str]:
        page = client.get("/products", params=params).text
        return re.findall(r"</code></td><td>([^<]+)</td>", page)

    assert names() == ["Чай пуэр", "Чай улун", "Чашка"]
    assert names(q="чай") == ["Чай пуэр", "Чай улун"]
    assert names(q="cup") == ["Чашка"]
    assert names(category="tea", sort="-price") == ["Чай пуэр", "Чай улун"]
