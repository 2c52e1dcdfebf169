"""Personal API tokens: shown once, stored hashed, usable as Bearer, revocable."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import ApiToken, Role
from tests.conftest import UserFactory, log_in


def _new_token(client: TestClient, csrf: str, name: str = "shop") -> dict[str, object]:
    response = client.post("/api/v1/tokens", json={"name": name}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201
    body: dict[str, object] = response.json()
    return body


def test_bearer_token_authenticates_without_a_session(
    app_client_pair: tuple[TestClient, TestClient], make_user: UserFactory
) -> None:
    # given: a token created in one browser session
    browser, script = app_client_pair
    user = make_user(Role.MARKETER)
    created = _new_token(browser, log_in(browser, user.email))
    # when: a script with no cookies uses it
    response = script.get("/api/v1/me", headers={"Authorization": f"Bearer {created['token']}"})
    # then
    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_token_is_stored_hashed_and_listed_without_secret(
    client: TestClient, make_user: UserFactory, db: Session
) -> None:
    csrf = log_in(client, make_user().email)
    created = _new_token(client, csrf)
    secret = str(created["token"])
    stored = db.scalars(select(ApiToken.token_hash)).all()
    listed = client.get("/api/v1/tokens").json()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]
    assert secret.startswith("rt_")
    assert "token" not in listed[0]
    assert listed[0]["prefix"] == secret[:10]


def test_revoked_and_unknown_tokens_are_refused(
    app_client_pair: tuple[TestClient, TestClient], make_user: UserFactory
) -> None:
    browser, script = app_client_pair
    csrf = log_in(browser, make_user().email)
    created = _new_token(browser, csrf)
    header = {"Authorization": f"Bearer {created['token']}"}
    before = script.get("/api/v1/me", headers=header).status_code
    browser.delete(f"/api/v1/tokens/{created['id']}", headers={"X-CSRF-Token": csrf})
    after = script.get("/api/v1/me", headers=header)
    forged = script.get("/api/v1/me", headers={"Authorization": "Bearer rt_forged"})
    assert (before, after.status_code, forged.status_code) == (200, 401, 401)
    assert after.json()["error"]["code"] == "not_authenticated"


def test_token_acts_with_its_owners_role_and_needs_no_csrf(
    app_client_pair: tuple[TestClient, TestClient], make_user: UserFactory
) -> None:
    browser, script = app_client_pair
    analyst_token = _new_token(browser, log_in(browser, make_user(Role.ANALYST).email))["token"]
    body = {"email": "x@example.com", "name": "X", "role": "sales", "password": "long-enough-pw"}
    response = script.post(
        "/api/v1/users", json=body, headers={"Authorization": f"Bearer {analyst_token}"}
    )
    assert response.status_code == 403


def test_admin_token_can_write_without_csrf(
    app_client_pair: tuple[TestClient, TestClient], make_user: UserFactory
) -> None:
    browser, script = app_client_pair
    admin_token = _new_token(browser, log_in(browser, make_user(Role.ADMIN).email))["token"]
    body = {"email": "x@example.com", "name": "X", "role": "sales", "password": "long-enough-pw"}
    response = script.post(
        "/api/v1/users", json=body, headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert response.status_code == 201
    assert response.json()["role"] == "sales"


def test_token_page_shows_the_secret_once(client: TestClient, make_user: UserFactory) -> None:
    csrf = log_in(client, make_user(Role.SALES).email)
    created = client.post("/account/tokens", data={"name": "POS", "csrf_token": csrf})
    again = client.get("/account/tokens")
    assert created.status_code == 201
    assert 'data-testid="new-token"' in created.text
    assert "POS" in again.text
    assert 'data-testid="new-token"' not in again.text
