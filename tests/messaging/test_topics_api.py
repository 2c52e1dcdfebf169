"""The topics JSON API under `/api/v1/messaging/topics`: marketers create, rename and archive
topics; keys are validated and unique; every role may list them, only marketing may write."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from tests.conftest import UserFactory, log_in

URL = "/api/v1/messaging/topics"


def _login(client: TestClient, make_user: UserFactory, role: Role) -> None:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(role).email)


def test_a_marketer_creates_renames_archives_and_restores_a_topic(
    client: TestClient, make_user: UserFactory
) -> None:
    # given
    _login(client, make_user, Role.MARKETER)
    # when
    created = client.post(URL, json={"key": "sales", "name": " Sales ", "description": "Deals"})
    # then
    assert created.status_code == 201, created.text
    topic = created.json()
    assert (topic["key"], topic["name"], topic["description"]) == ("sales", "Sales", "Deals")
    assert (topic["archived"], topic["archived_at"]) == (False, None)
    client.post(URL, json={"key": "news", "name": "News"})
    assert [t["key"] for t in client.get(URL).json()] == ["news", "sales"]
    # when renamed and archived
    patched = client.patch(f"{URL}/{topic['id']}", json={"name": "Offers", "archived": True})
    # then
    assert patched.status_code == 200, patched.text
    assert (patched.json()["name"], patched.json()["archived"]) == ("Offers", True)
    assert patched.json()["archived_at"] is not None
    assert [t["key"] for t in client.get(URL).json()] == ["news"]
    assert [t["key"] for t in client.get(f"{URL}?archived=true").json()] == ["news", "sales"]
    # and restored, the key unchanged
    restored = client.patch(f"{URL}/{topic['id']}", json={"archived": False})
    assert restored.json()["archived"] is False
    assert (restored.json()["key"], restored.json()["name"]) == ("sales", "Offers")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "Sales", "name": "Sales"}, "key"),
        ({"key": "1sales", "name": "Sales"}, "key"),
        ({"key": "sales offers", "name": "Sales"}, "key"),
        ({"key": "sales", "name": "   "}, "name"),
    ],
)
def test_invalid_topics_are_refused_naming_the_field(
    admin_client: TestClient, body: dict[str, str], field: str
) -> None:
    response = admin_client.post(URL, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == [field]


def test_a_taken_key_is_a_conflict(admin_client: TestClient) -> None:
    assert admin_client.post(URL, json={"key": "sales", "name": "Sales"}).status_code == 201
    response = admin_client.post(URL, json={"key": "sales", "name": "Other"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "topic_key_taken"
    assert response.json()["error"]["details"] == {"field": "key"}
    assert len(admin_client.get(URL).json()) == 1


def test_patching_an_unknown_topic_is_404(admin_client: TestClient) -> None:
    response = admin_client.patch(f"{URL}/999999", json={"name": "X"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_field_is_refused(admin_client: TestClient) -> None:
    topic = admin_client.post(URL, json={"key": "sales", "name": "Sales"}).json()
    response = admin_client.patch(f"{URL}/{topic['id']}", json={"key": "other"})
    assert response.status_code == 422
    assert admin_client.get(URL).json()[0]["key"] == "sales"


@pytest.mark.parametrize("role", [Role.ANALYST, Role.SALES])
def test_readers_list_topics_but_may_not_write(
    app_client_pair: tuple[TestClient, TestClient], make_user: UserFactory, role: Role
) -> None:
    # given a topic made by an admin
    admin, reader = app_client_pair
    _login(admin, make_user, Role.ADMIN)
    topic = admin.post(URL, json={"key": "sales", "name": "Sales"}).json()
    # when a reader tries
    _login(reader, make_user, role)
    # then
    assert [t["key"] for t in reader.get(URL).json()] == ["sales"]
    assert reader.post(URL, json={"key": "news", "name": "News"}).status_code == 403
    assert reader.patch(f"{URL}/{topic['id']}", json={"archived": True}).status_code == 403
    assert [t["archived"] for t in admin.get(URL).json()] == [False]


def test_anonymous_callers_get_401(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
