"""The segments JSON API: invalid rules are refused naming the node, preview counts by channel,
CRUD with a refresh after commit, members paged, export, permissions and sales visibility."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from retentio.contacts.models import Contact
from retentio.db import session_scope, utcnow
from retentio.settings import Settings
from retentio.worker import huey
from tests.conftest import UserFactory, log_in


@pytest.fixture
def immediate() -> Iterator[None]:
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = False


def _login(client: TestClient, make_user: UserFactory, role: Role) -> int:
    user = make_user(role)
    client.headers["X-CSRF-Token"] = log_in(client, user.email)
    return user.id


def _shop(url: str, owner_id: int | None = None) -> list[int]:
    with session_scope(url) as session:
        people = [
            Contact(first_name="Anna", city="Kazan", email="a@example.com", owner_id=owner_id),
            Contact(first_name="=cmd|' /C calc'!A0", city="Kazan", email="b@example.com"),
            Contact(first_name="Oleg", city="Perm", phone="+79161234567"),
        ]
        session.add_all(people)
        session.flush()
        record_consent(
            session,
            people[0].id,
            channel=Channel.EMAIL,
            purpose=Purpose.MARKETING,
            granted=True,
            source="test",
            occurred_at=utcnow(),
        )
        return [p.id for p in people]


@pytest.mark.parametrize(
    ("rule", "field", "message"),
    [
        (
            {"all": [{"tags": ["x"]}, {"tags": ["y"]}, {"any": [{"field": "foo", "op": "eq"}]}]},
            "rule.all[2].any[0].field",
            'unknown field "foo"',
        ),
        (
            {"all": [{"field": "profile.p_alive", "op": "contains", "value": "x"}]},
            "rule.all[0].op",
            'operator "contains" does not apply',
        ),
        ({"any": [{"event": "x", "within_days": 0}]}, "rule.any[0].within_days", "greater than"),
        (
            {"event": "x", "between": ["2025-02-01", "2025-01-01"]},
            "rule.between",
            "must not be after",
        ),
        ({"not": {"wat": 1}}, "rule.not", "unknown condition"),
        ({"field": "contact.birthday", "op": "within_last", "value": -1}, "rule.value", "days"),
        ({"segment": 999}, "rule.segment", "unknown segment 999"),
    ],
)
def test_invalid_rules_are_refused_naming_the_node(
    admin_client: TestClient, rule: dict[str, Any], field: str, message: str
) -> None:
    response = admin_client.post("/api/v1/segments/preview", json={"rule": rule})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_rule"
    assert error["details"][0]["field"] == field
    assert message in error["details"][0]["message"]


def test_preview_counts_reachable_per_channel(admin_client: TestClient, settings: Settings) -> None:
    a, b, _c = _shop(settings.database_url)
    rule = {"field": "contact.city", "op": "eq", "value": "Kazan"}
    response = admin_client.post("/api/v1/segments/preview", json={"rule": rule})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["count"], body["reachable"]) == (2, {"email": 1, "sms": 0, "telegram": 0})
    assert {s["id"] for s in body["sample"]} == {a, b}


def test_crud_refreshes_after_commit_and_pages_members(
    admin_client: TestClient, settings: Settings, immediate: None
) -> None:
    _shop(settings.database_url)
    rule = {"field": "contact.city", "op": "eq", "value": "Kazan"}
    created = admin_client.post("/api/v1/segments", json={"name": "Kazan", "rule": rule})
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    segment = admin_client.get(f"/api/v1/segments/{sid}").json()
    assert segment["size"] == 2
    page = admin_client.get(f"/api/v1/segments/{sid}/members?per_page=1").json()
    assert (page["total"], page["pages"], len(page["items"])) == (2, 2, 1)
    patched = admin_client.patch(
        f"/api/v1/segments/{sid}",
        json={"rule": {"field": "contact.city", "op": "eq", "value": "Perm"}},
    )
    assert patched.status_code == 200
    assert admin_client.get(f"/api/v1/segments/{sid}").json()["size"] == 1
    history = admin_client.get(f"/api/v1/segments/{sid}/history").json()
    assert [p["size"] for p in history] == [1]
    assert admin_client.delete(f"/api/v1/segments/{sid}").status_code == 204
    assert admin_client.get(f"/api/v1/segments/{sid}").status_code == 404


def test_export_neutralises_formula_cells(admin_client: TestClient, settings: Settings) -> None:
    _shop(settings.database_url)
    rule = {"field": "contact.city", "op": "eq", "value": "Kazan"}
    sid = admin_client.post("/api/v1/segments", json={"name": "K", "rule": rule}).json()["id"]
    assert admin_client.post(f"/api/v1/segments/{sid}/refresh").json()["size"] == 2
    csv_response = admin_client.get(f"/api/v1/segments/{sid}/export?columns=first_name,email")
    assert csv_response.status_code == 200
    lines = csv_response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "first_name;email"
    assert "'=cmd|' /C calc'!A0;b@example.com" in lines
    xlsx = admin_client.get(f"/api/v1/segments/{sid}/export?format=xlsx")
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"


def test_static_segment_by_ids_and_list(admin_client: TestClient, settings: Settings) -> None:
    a, b, _c = _shop(settings.database_url)
    sid = admin_client.post("/api/v1/segments", json={"name": "L", "kind": "static"}).json()["id"]
    added = admin_client.post(f"/api/v1/segments/{sid}/contacts", json={"contact_ids": [a, b]})
    assert added.json() == {"changed": 2}
    listed = admin_client.post(f"/api/v1/segments/{sid}/list", json={"values": ["nobody@x.ru"]})
    assert listed.json() == {"matched": 0, "added": 0, "unmatched": ["nobody@x.ru"]}
    assert admin_client.get(f"/api/v1/segments/{sid}").json()["size"] == 2


def test_roles_analysts_read_and_sales_see_only_their_contacts(
    client: TestClient, make_user: UserFactory, settings: Settings
) -> None:
    sales_id = _login(client, make_user, Role.SALES)
    mine, _other, _third = _shop(settings.database_url, owner_id=sales_id)
    rule = {"field": "contact.city", "op": "eq", "value": "Kazan"}
    refused = client.post("/api/v1/segments", json={"name": "K", "rule": rule})
    assert refused.status_code == 403
    seen = client.post("/api/v1/segments/preview", json={"rule": rule}).json()
    assert (seen["count"], [s["id"] for s in seen["sample"]]) == (1, [mine])
    _login(client, make_user, Role.ANALYST)
    assert client.post("/api/v1/segments/preview", json={"rule": rule}).json()["count"] == 2
    assert client.get("/api/v1/segments").status_code == 200
