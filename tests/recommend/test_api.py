"""The recommendations API: who may read, and contacts the user may not see."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from tests.conftest import UserFactory, log_in
from tests.recommend.conftest import Baskets


@pytest.fixture
def shop(baskets: Baskets) -> dict[str, int]:
    ids = baskets.products("A", "B")
    for contact_id in baskets.contacts(3):
        baskets.order(contact_id, "A", "B")
    baskets.recompute()
    return ids


def test_an_analyst_reads_a_contacts_recommendations(
    client: TestClient, make_user: UserFactory, baskets: Baskets, shop: dict[str, int]
) -> None:
    # given
    (contact_id,) = baskets.contacts(1)
    baskets.order(contact_id, "A", day=1)
    log_in(client, make_user(Role.ANALYST).email)
    # when
    response = client.get(f"/api/v1/contacts/{contact_id}/recommendations?n=1")
    # then
    assert response.status_code == 200
    assert [(o["sku"], o["score"], o["source"]) for o in response.json()] == [
        ("B", 1.0, "together")
    ]


def test_a_seller_gets_404_for_a_contact_they_may_not_see(
    client: TestClient, make_user: UserFactory, baskets: Baskets, shop: dict[str, int]
) -> None:
    # given: a contact owned by another seller, and one owned by this one
    seller, other = make_user(Role.SALES), make_user(Role.SALES)
    (hidden,) = baskets.contacts(1, owner_id=other.id)
    (own,) = baskets.contacts(1, owner_id=seller.id)
    log_in(client, seller.email)
    # when
    hidden_response = client.get(f"/api/v1/contacts/{hidden}/recommendations")
    own_response = client.get(f"/api/v1/contacts/{own}/recommendations")
    # then
    assert hidden_response.status_code == 404
    assert own_response.status_code == 200


def test_reading_needs_a_login(client: TestClient, shop: dict[str, int]) -> None:
    # when
    response = client.get(f"/api/v1/products/{shop['A']}/bought-together")
    # then
    assert response.status_code == 401


def test_products_bought_together(
    client: TestClient, make_user: UserFactory, shop: dict[str, int]
) -> None:
    # given
    log_in(client, make_user(Role.ANALYST).email)
    # when
    found = client.get(f"/api/v1/products/{shop['A']}/bought-together")
    missing = client.get("/api/v1/products/999999/bought-together")
    # then: 3 of 3 customers bought both, so confidence and lift are 1
    assert found.status_code == 200
    assert [(r["sku"], r["together"], r["confidence"], r["lift"]) for r in found.json()] == [
        ("B", 3, 1.0, 1.0)
    ]
    assert missing.status_code == 404
