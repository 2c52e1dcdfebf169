"""Sales users reach only contacts they own or watch, or that are available to all — through
every API route, with no way to probe other ids."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role, User
from tests.conftest import UserFactory, log_in


@pytest.fixture
def world(app_client_pair: tuple[TestClient, TestClient], make_user: UserFactory) -> dict[str, Any]:
    """An admin creates four contacts: owned by the sales user, watched by them, shared, other."""
    admin_client, sales_client = app_client_pair
    admin_client.headers["X-CSRF-Token"] = log_in(admin_client, make_user(Role.ADMIN).email)
    sales: User = make_user(Role.SALES)
    other: User = make_user(Role.SALES)
    sales_client.headers["X-CSRF-Token"] = log_in(sales_client, sales.email)

    def create(**fields: Any) -> int:
        response = admin_client.post("/api/v1/contacts", json=fields)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    ids = {
        "owned": create(first_name="Own", owner_id=sales.id),
        "watched": create(first_name="Watch", owner_id=other.id, watcher_ids=[sales.id]),
        "shared": create(first_name="Shared", owner_id=other.id, available_to_all=True),
        "hidden": create(first_name="Hidden", owner_id=other.id, email="hidden@example.ru"),
    }
    return {"admin": admin_client, "sales": sales_client, "ids": ids}


def test_list_shows_only_visible_contacts(world: dict[str, Any]) -> None:
    names = {c["first_name"] for c in world["sales"].get("/api/v1/contacts").json()["items"]}
    assert names == {"Own", "Watch", "Shared"}
    assert world["admin"].get("/api/v1/contacts").json()["total"] == 4


def test_search_cannot_reveal_a_hidden_contact(world: dict[str, Any]) -> None:
    found = world["sales"].get("/api/v1/contacts", params={"q": "hidden@example.ru"}).json()
    assert found["total"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/contacts/{id}", None),
        ("PATCH", "/api/v1/contacts/{id}", {"city": "Тула"}),
        ("DELETE", "/api/v1/contacts/{id}", None),
        ("GET", "/api/v1/contacts/{id}/export", None),
        ("GET", "/api/v1/contacts/{id}/orders", None),
        ("POST", "/api/v1/contacts/{id}/consent", {"channel": "email", "granted": True}),
        ("POST", "/api/v1/contacts/{own}/merge", {"merge_id": "{id}"}),
    ],
)
def test_hidden_contact_is_not_found_on_every_route(
    world: dict[str, Any], method: str, path: str, body: dict[str, Any] | None
) -> None:
    ids = world["ids"]
    url = path.format(id=ids["hidden"], own=ids["owned"])
    payload = {k: (ids["hidden"] if v == "{id}" else v) for k, v in (body or {}).items()}
    response = world["sales"].request(method, url, json=payload if body else None)
    assert response.status_code == 404
    still = world["admin"].get(f"/api/v1/contacts/{ids['hidden']}").json()
    assert (still["first_name"], still["city"]) == ("Hidden", None)


def test_bulk_tag_ignores_contacts_the_user_cannot_see(world: dict[str, Any]) -> None:
    ids = world["ids"]
    response = world["sales"].post(
        "/api/v1/contacts/bulk/tag", json={"contact_ids": list(ids.values()), "tag": "call"}
    )
    assert response.json() == {"tagged": 3, "matched": 3}
    assert world["admin"].get(f"/api/v1/contacts/{ids['hidden']}").json()["tags"] == []


@pytest.mark.parametrize("kind", ["owned", "watched", "shared"])
def test_visible_contacts_can_be_edited(world: dict[str, Any], kind: str) -> None:
    response = world["sales"].patch(f"/api/v1/contacts/{world['ids'][kind]}", json={"city": "Тула"})
    assert response.status_code == 200
    assert response.json()["city"] == "Тула"


def test_sales_users_own_the_contacts_they_create(world: dict[str, Any]) -> None:
    created = world["sales"].post("/api/v1/contacts", json={"first_name": "Mine"}).json()
    assert world["sales"].get(f"/api/v1/contacts/{created['id']}").status_code == 200


def test_hidden_contacts_orders_are_not_found(world: dict[str, Any]) -> None:
    order = (
        world["admin"]
        .post(
            "/api/v1/orders",
            json={
                "external_id": "SO-H",
                "placed_at": "2026-01-01T00:00:00+00:00",
                "customer": {"contact_id": world["ids"]["hidden"]},
                "items": [{"sku": "X", "quantity": 1, "unit_price": "1"}],
            },
        )
        .json()
    )
    assert world["sales"].get(f"/api/v1/orders/{order['id']}").status_code == 404
    assert world["admin"].get(f"/api/v1/orders/{order['id']}").status_code == 200


def test_analyst_reads_but_cannot_write(
    app_client_pair: tuple[TestClient, TestClient], make_user: UserFactory
) -> None:
    _, analyst = app_client_pair
    analyst.headers["X-CSRF-Token"] = log_in(analyst, make_user(Role.ANALYST).email)
    assert analyst.get("/api/v1/contacts").status_code == 200
    assert analyst.post("/api/v1/contacts", json={"first_name": "X"}).status_code == 403
