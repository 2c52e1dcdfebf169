"""Companies through the API: INN checksum, uniqueness, custom fields."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.companies.inn import is_valid_inn
from tests.conftest import UserFactory, log_in


@pytest.fixture
def api(client: TestClient, make_user: UserFactory) -> TestClient:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(Role.ADMIN).email)
    return client


@pytest.mark.parametrize(
    ("inn", "valid"),
    [
        ("7707083893", True),  # Sberbank
        ("7736207543", True),  # Yandex
        ("7707083894", False),
        ("500100732259", True),  # a valid individual's INN (published example)
        ("500100732258", False),
        ("12345", False),
        ("77070838931", False),
    ],
)
def test_inn_checksum(inn: str, valid: bool) -> None:
    assert is_valid_inn(inn) is valid


def test_create_company_with_inn_and_reject_a_duplicate(api: TestClient) -> None:
    created = api.post("/api/v1/companies", json={"name": "ПАО Сбербанк", "inn": "7707083893"})
    dup = api.post("/api/v1/companies", json={"name": "Другая", "inn": "7707083893"})
    bad = api.post("/api/v1/companies", json={"name": "Плохая", "inn": "7707083894"})
    assert created.status_code == 201
    assert dup.status_code == 409
    assert dup.json()["error"]["details"]["field"] == "inn"
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "inn"


def test_contact_can_belong_to_a_company(api: TestClient) -> None:
    company = api.post("/api/v1/companies", json={"name": "ООО Ромашка"}).json()
    contact = api.post(
        "/api/v1/contacts", json={"first_name": "Ольга", "company_id": company["id"]}
    )
    missing = api.post("/api/v1/contacts", json={"first_name": "Олег", "company_id": 999})
    assert contact.json()["company_id"] == company["id"]
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "company_id"


def test_a_company_for_an_unknown_owner_is_refused_by_its_field(api: TestClient) -> None:
    # given a company
    company = api.post("/api/v1/companies", json={"name": "Гранит"}).json()
    # when it is given an owner id that names no user
    response = api.patch(f"/api/v1/companies/{company['id']}", json={"owner_id": 999})
    # then it is refused by its field
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "owner_id", "message": "owner_id: user 999 does not exist."}
    ]
