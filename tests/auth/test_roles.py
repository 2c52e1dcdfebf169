"""Each role allowed or denied on a sample of pages and API routes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from tests.conftest import UserFactory, log_in

ALL = {Role.ADMIN, Role.MARKETER, Role.SALES, Role.ANALYST}

PAGES = [
    ("/", ALL),
    ("/contacts", ALL),
    ("/analytics", ALL),
    ("/imports", {Role.ADMIN, Role.MARKETER}),
    ("/settings", {Role.ADMIN}),
    ("/settings/users", {Role.ADMIN}),
    ("/settings/users/new", {Role.ADMIN}),
    ("/account/tokens", ALL),
]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize(("path", "allowed"), PAGES)
def test_page_access_by_role(
    client: TestClient, make_user: UserFactory, role: Role, path: str, allowed: set[Role]
) -> None:
    log_in(client, make_user(role).email)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == (200 if role in allowed else 403)


@pytest.mark.parametrize("role", list(Role))
def test_only_admins_list_users_through_the_api(
    client: TestClient, make_user: UserFactory, role: Role
) -> None:
    log_in(client, make_user(role).email)
    response = client.get("/api/v1/users")
    assert response.status_code == (200 if role == Role.ADMIN else 403)


@pytest.mark.parametrize("role", [Role.ANALYST, Role.SALES, Role.MARKETER])
def test_non_admins_cannot_create_users(
    client: TestClient, make_user: UserFactory, role: Role
) -> None:
    # given
    token = log_in(client, make_user(role).email)
    body = {
        "email": "new@example.com",
        "name": "New",
        "role": "admin",
        "password": "long-enough-password",
    }
    # when
    api = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": token})
    page = client.post("/settings/users/new", data={**body, "csrf_token": token})
    # then
    assert api.status_code == 403
    assert api.json()["error"]["code"] == "permission_denied"
    assert page.status_code == 403


def test_admin_creates_and_edits_a_user_through_the_pages(
    client: TestClient, make_user: UserFactory
) -> None:
    token = log_in(client, make_user(Role.ADMIN).email)
    created = client.post(
        "/settings/users/new",
        data={
            "email": "Olga@Example.com",
            "name": "Olga",
            "role": "analyst",
            "password": "long-enough-password",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    users = {u["email"]: u for u in client.get("/api/v1/users").json()}
    olga = users["olga@example.com"]
    edited = client.post(
        f"/settings/users/{olga['id']}",
        data={"name": "Olga P.", "role": "marketer", "is_active": "true", "csrf_token": token},
        follow_redirects=False,
    )
    after = {u["email"]: u for u in client.get("/api/v1/users").json()}["olga@example.com"]
    assert created.status_code == edited.status_code == 303
    assert (olga["role"], after["role"], after["name"]) == ("analyst", "marketer", "Olga P.")


def test_the_last_admin_cannot_be_demoted(client: TestClient, make_user: UserFactory) -> None:
    admin = make_user(Role.ADMIN)
    token = log_in(client, admin.email)
    response = client.patch(
        f"/api/v1/users/{admin.id}", json={"role": "analyst"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "last_admin"


def test_duplicate_email_is_a_conflict_naming_the_field(
    client: TestClient, make_user: UserFactory
) -> None:
    admin = make_user(Role.ADMIN)
    token = log_in(client, admin.email)
    body = {
        "email": admin.email,
        "name": "Again",
        "role": "sales",
        "password": "long-enough-password",
    }
    response = client.post("/api/v1/users", json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {"field": "email"}
