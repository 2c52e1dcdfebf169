"""The contacts API: CRUD, validation, custom fields, merge, consent, export and erasure."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.contacts.merge import count_history
from retentio.contacts.models import Contact, ContactIdentity
from tests.conftest import UserFactory, log_in


@pytest.fixture
def api(client: TestClient, make_user: UserFactory) -> TestClient:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(Role.ADMIN).email)
    return client


def _create(api: TestClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/contacts", json=fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_create_normalises_addresses_and_records_identities(api: TestClient) -> None:
    body = _create(
        api,
        first_name="Анна",
        last_name="Иванова",
        email="  Anna.Ivanova@Example.RU ",
        phone="8 (912) 345-67-89",
        extra_emails=["anna@work.example.ru"],
        tags=["vip", "vip"],
        external_ids={"shop": "1042"},
        timezone="Europe/Moscow",
    )
    assert body["email"] == "anna.ivanova@example.ru"
    assert body["phone"] == "+79123456789"
    assert body["emails"] == ["anna.ivanova@example.ru", "anna@work.example.ru"]
    assert body["tags"] == ["vip"]
    assert body["external_ids"] == {"shop": "1042"}
    assert body["reachable"]["email"] is False  # no consent yet


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"gender": "x"}, "gender"),
        ({"birthday": "31.02.1990"}, "birthday"),
        ({"custom": {"nope": 1}}, "custom.nope"),
        ({"shoe_size": 42}, "shoe_size"),
    ],
)
def test_invalid_input_is_422_naming_the_field_and_stores_nothing(
    api: TestClient, db: Session, fields: dict[str, Any], field: str
) -> None:
    response = api.post("/api/v1/contacts", json={"first_name": "Иван", **fields})
    error = response.json()["error"]
    assert response.status_code == 422
    assert [d["field"] for d in error["details"]] == [field]
    assert _count(db, Contact) == 0
    assert _count(db, ContactIdentity) == 0


def test_an_email_held_by_another_contact_is_a_conflict(api: TestClient, db: Session) -> None:
    _create(api, email="olga@example.ru")
    response = api.post("/api/v1/contacts", json={"first_name": "Dup", "email": "OLGA@example.ru"})
    assert response.status_code == 409
    assert response.json()["error"]["details"]["field"] == "email"
    assert _count(db, Contact) == 1


def test_custom_fields_are_validated_and_survive_a_relabel(api: TestClient) -> None:
    # given
    defined = api.post(
        "/api/v1/custom-fields",
        json={"entity": "contact", "key": "shoe_size", "label": "Shoe size", "type": "number"},
    )
    api.post(
        "/api/v1/custom-fields",
        json={
            "entity": "contact",
            "key": "pet",
            "label": "Pet",
            "type": "choice",
            "choices": ["cat", "dog"],
        },
    )
    contact = _create(api, first_name="Пётр", custom={"shoe_size": "42,5", "pet": "cat"})
    # when
    bad = api.patch(f"/api/v1/contacts/{contact['id']}", json={"custom": {"pet": "fish"}})
    relabel = api.patch(
        f"/api/v1/custom-fields/{defined.json()['id']}", json={"label": "Размер обуви"}
    )
    after = api.get(f"/api/v1/contacts/{contact['id']}").json()
    # then
    assert contact["custom"] == {"shoe_size": 42.5, "pet": "cat"}
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "custom.pet"
    assert relabel.json()["label"] == "Размер обуви"
    assert after["custom"] == {"shoe_size": 42.5, "pet": "cat"}


def test_update_is_partial_and_audited(api: TestClient, db: Session) -> None:
    contact = _create(api, first_name="Olga", city="Казань")
    api.patch(f"/api/v1/contacts/{contact['id']}", json={"city": "Самара"})
    after = api.get(f"/api/v1/contacts/{contact['id']}").json()
    exported = api.get(f"/api/v1/contacts/{contact['id']}/export").json()
    assert (after["first_name"], after["city"]) == ("Olga", "Самара")
    updates = [c for c in exported["changes"] if c["action"] == "update"]
    assert updates[0]["changes"] == {"city": ["Казань", "Самара"]}


def test_merge_keeps_the_union_of_both_histories(api: TestClient, db: Session) -> None:
    # given: two records of one person, each with orders, events, tags and consent
    a = _create(api, first_name="Анна", email="anna@example.ru", tags=["vip"])
    b = _create(api, last_name="Иванова", phone="+79123456789", tags=["vip", "sms"])
    for n, cid in ((1, a["id"]), (2, b["id"]), (3, b["id"])):
        api.post(
            "/api/v1/orders",
            json={
                "external_id": f"SO-{n}",
                "placed_at": f"2026-01-0{n}T10:00:00+03:00",
                "customer": {"contact_id": cid},
                "items": [{"sku": "X", "quantity": 1, "unit_price": "10"}],
            },
        )
    api.post(f"/api/v1/contacts/{b['id']}/consent", json={"channel": "sms", "granted": True})
    before_a, before_b = count_history(db, a["id"]), count_history(db, b["id"])
    # when
    merged = api.post(f"/api/v1/contacts/{a['id']}/merge", json={"merge_id": b["id"]})
    # then
    db.expire_all()
    after = count_history(db, a["id"])
    assert merged.status_code == 200
    assert after["orders"] == before_a["orders"] + before_b["orders"] == 3
    assert after["consent_events"] == before_a["consent_events"] + before_b["consent_events"] == 1
    assert after["contact_identities"] == 2
    assert merged.json()["tags"] == ["sms", "vip"]
    assert (merged.json()["first_name"], merged.json()["last_name"]) == ("Анна", "Иванова")
    assert merged.json()["reachable"]["sms"] is True
    assert api.get(f"/api/v1/contacts/{b['id']}").status_code == 404
    assert count_history(db, b["id"])["orders"] == 0


def test_export_and_erase(api: TestClient, db: Session) -> None:
    contact = _create(api, first_name="Erase", email="erase.me@example.ru", phone="+79001234567")
    api.post(
        "/api/v1/orders",
        json={
            "external_id": "SO-E",
            "placed_at": "2026-02-01T10:00:00+00:00",
            "customer": {"contact_id": contact["id"]},
            "items": [{"sku": "X", "quantity": 2, "unit_price": "100.50"}],
        },
    )
    exported = api.get(f"/api/v1/contacts/{contact['id']}/export").json()
    erased = api.post(f"/api/v1/contacts/{contact['id']}/erase")
    after = api.get(f"/api/v1/contacts/{contact['id']}").json()
    orders = api.get(f"/api/v1/contacts/{contact['id']}/orders").json()
    assert exported["contact"]["email"] == "erase.me@example.ru"
    assert exported["orders"][0]["items"][0]["unit_price"] == "100.50"
    assert erased.status_code == 204
    assert (after["first_name"], after["email"], after["phone"], after["emails"]) == (
        None,
        None,
        None,
        [],
    )
    assert [o["revenue"] for o in orders] == ["201.00"]
    assert _count(db, ContactIdentity) == 0
