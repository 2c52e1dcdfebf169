"""Orders and products through the API: upserts by external id, revenue, bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.commerce.models import Order, OrderItem
from retentio.contacts.models import Contact
from tests.conftest import UserFactory, log_in


@pytest.fixture
def api(client: TestClient, make_user: UserFactory) -> TestClient:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(Role.MARKETER).email)
    return client


def _order(**overrides: Any) -> dict[str, Any]:
    return {
        "external_id": "SO-1",
        "status": "paid",
        "placed_at": "2026-03-01T10:00:00+03:00",
        "customer": {"external_id": "C-7", "email": "ivan@example.ru", "first_name": "Иван"},
        "items": [
            {"sku": "TEA", "quantity": 2, "unit_price": "350.00"},
            {"sku": "CUP", "quantity": 1, "unit_price": "500.00"},
        ],
        **overrides,
    }


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_reposting_an_order_updates_it_instead_of_duplicating(api: TestClient, db: Session) -> None:
    # given
    api.put(
        "/api/v1/products/TEA",
        json={"sku": "ignored", "name": "Чай улун", "category": "tea", "price": "350.00"},
    )
    first = api.post("/api/v1/orders", json=_order())
    # when: the shop re-sends it, now refunded in part, with one item fewer
    second = api.post(
        "/api/v1/orders",
        json=_order(
            status="refunded",
            refunded_total="200.00",
            items=[{"sku": "TEA", "quantity": 2, "unit_price": "350.00"}],
        ),
    )
    # then
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert (first.json()["total"], first.json()["revenue"]) == ("1200.00", "1200.00")
    assert (second.json()["total"], second.json()["revenue"]) == ("700.00", "500.00")
    assert second.json()["items"][0]["name"] == "Чай улун"
    assert (_count(db, Order), _count(db, OrderItem), _count(db, Contact)) == (1, 1, 1)


def test_cancelled_order_brings_no_revenue(api: TestClient) -> None:
    body = api.post("/api/v1/orders", json=_order(status="cancelled")).json()
    assert (body["total"], body["revenue"]) == ("1200.00", "0.00")


def test_full_refund_without_an_amount_refunds_everything(api: TestClient) -> None:
    body = api.post("/api/v1/orders", json=_order(status="refunded")).json()
    assert (body["refunded_total"], body["revenue"]) == ("1200.00", "0.00")


def test_the_same_customer_is_found_by_any_identity(api: TestClient, db: Session) -> None:
    api.post("/api/v1/orders", json=_order())
    api.post(
        "/api/v1/orders", json=_order(external_id="SO-2", customer={"email": "IVAN@example.ru"})
    )
    api.post("/api/v1/orders", json=_order(external_id="SO-3", customer={"external_id": "C-7"}))
    assert _count(db, Contact) == 1
    assert _count(db, Order) == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "lost"}, "status"),
        ({"items": [{"sku": "TEA", "quantity": -1, "unit_price": "1"}]}, "items.0.quantity"),
        ({"items": [{"sku": "TEA", "quantity": 1, "unit_price": "-5"}]}, "items.0.unit_price"),
        ({"items": []}, "items"),
        ({"placed_at": "2026-03-01T10:00:00"}, "placed_at"),
        ({"customer": {"email": "nope"}}, "email"),
        ({"refunded_total": "99999"}, "refunded_total"),
        ({"customer": {}}, "customer"),
    ],
)
def test_bad_orders_are_rejected_naming_the_field(
    api: TestClient, db: Session, change: dict[str, Any], field: str
) -> None:
    response = api.post("/api/v1/orders", json=_order(**change))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field
    assert (_count(db, Order), _count(db, Contact)) == (0, 0)


def test_concurrent_posts_of_one_new_order_store_one(api: TestClient, db: Session) -> None:
    # given: a customer who exists already, so only the order races
    api.post("/api/v1/orders", json=_order(external_id="SO-0"))
    # when
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda _: api.post("/api/v1/orders", json=_order()).status_code, range(16))
        )
    # then
    assert sorted(set(statuses)) <= [200, 201]
    assert statuses.count(201) == 1
    assert _count(db, Order) == 2


def test_the_schema_declares_both_answers_of_an_order_upsert(client: TestClient) -> None:
    # given the API's schema
    schema = client.get("/api/openapi.json").json()
    # when the order upsert is looked up
    responses = schema["paths"]["/api/v1/orders"]["post"]["responses"]
    # then a new order (201) and an updated one (200) are both documented as an order
    assert {"200", "201"} <= set(responses)
    assert responses["201"]["content"] == responses["200"]["content"]
