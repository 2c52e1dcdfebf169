"""Every state-changing request made with the session cookie must carry the CSRF token."""

from __future__ import annotations

from fastapi.testclient import TestClient

from retentio.auth.models import Role
from tests.conftest import TEST_PASSWORD, UserFactory, csrf_from, log_in


def test_forged_login_post_without_token_is_rejected(
    client: TestClient, make_user: UserFactory
) -> None:
    user = make_user()
    csrf_from(client)  # the victim has a session, but the forged form cannot know its token
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 403
    assert "expired" in response.text


def test_forged_post_with_a_wrong_token_is_rejected(
    client: TestClient, make_user: UserFactory
) -> None:
    # given: a logged-in admin
    admin = make_user(Role.ADMIN)
    log_in(client, admin.email)
    # when: another site posts a form creating a user, guessing the token
    response = client.post(
        "/settings/users/new",
        data={
            "email": "mallory@example.com",
            "name": "Mallory",
            "role": "admin",
            "password": "mallory-password",
            "csrf_token": "guessed",
        },
    )
    # then
    assert response.status_code == 403
    users = client.get("/api/v1/users").json()
    assert [u["email"] for u in users] == [admin.email]


def test_forged_logout_is_rejected(client: TestClient, make_user: UserFactory) -> None:
    user = make_user()
    log_in(client, user.email)
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200


def test_json_api_with_session_cookie_needs_the_header(
    client: TestClient, make_user: UserFactory
) -> None:
    user = make_user()
    token = log_in(client, user.email)
    body = {"name": "integration"}
    without = client.post("/api/v1/tokens", json=body)
    with_header = client.post("/api/v1/tokens", json=body, headers={"X-CSRF-Token": token})
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "csrf_failed"
    assert with_header.status_code == 201
