"""Login, logout, throttling and password storage, through the real pages."""

from __future__ import annotations

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth import passwords, service
from retentio.auth.models import Role, User
from retentio.db import session_scope
from retentio.settings import Settings
from tests.conftest import TEST_PASSWORD, UserFactory, csrf_from, log_in


def _attempt(client: TestClient, email: str, password: str) -> int:
    token = csrf_from(client)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def test_login_success_sets_a_protected_session_cookie(
    client: TestClient, make_user: UserFactory
) -> None:
    # given
    user = make_user(Role.MARKETER)
    token = csrf_from(client)
    # when
    response = client.post(
        "/login",
        data={
            "email": user.email.upper(),
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": "/settings/users",
        },
        follow_redirects=False,
    )
    # then
    assert response.status_code == 303
    assert response.headers["location"] == "/settings/users"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("retentio_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert client.get("/").status_code == 200


def test_login_never_redirects_off_site(client: TestClient, make_user: UserFactory) -> None:
    user = make_user()
    token = csrf_from(client)
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_wrong_password_and_unknown_account_look_the_same(
    client: TestClient, make_user: UserFactory
) -> None:
    # given
    user = make_user()
    token = csrf_from(client)
    # when
    wrong = client.post(
        "/login", data={"email": user.email, "password": "nope-nope-nope", "csrf_token": token}
    )
    unknown = client.post(
        "/login",
        data={"email": "ghost@example.com", "password": "nope-nope-nope", "csrf_token": token},
    )
    # then
    assert wrong.status_code == unknown.status_code == 401
    assert "Invalid e-mail or password." in wrong.text
    assert "Invalid e-mail or password." in unknown.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_is_throttled_after_repeated_failures(
    client: TestClient, make_user: UserFactory, settings: Settings
) -> None:
    # given: the test settings lock an e-mail after 3 failures
    user = make_user()
    statuses = [_attempt(client, user.email, "wrong-password!") for _ in range(3)]
    # when: even the right password is tried now
    locked = _attempt(client, user.email, TEST_PASSWORD)
    # then
    assert statuses == [401, 401, 401]
    assert locked == 429
    assert settings.login_max_failures == 3


def test_throttle_treats_unknown_accounts_like_real_ones(client: TestClient) -> None:
    statuses = [_attempt(client, "nobody@example.com", "wrong-password!") for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_successful_login_resets_the_failure_count(
    client: TestClient, make_user: UserFactory
) -> None:
    user = make_user()
    first = [_attempt(client, user.email, "wrong-password!") for _ in range(2)]
    ok = _attempt(client, user.email, TEST_PASSWORD)
    client.cookies.clear()
    later = [_attempt(client, user.email, "wrong-password!") for _ in range(2)]
    assert (first, ok, later) == ([401, 401], 303, [401, 401])


def test_disabled_user_cannot_log_in(
    client: TestClient, make_user: UserFactory, db: Session
) -> None:
    user = make_user(Role.SALES)
    admin = make_user(Role.ADMIN)
    service.update_user(db, db.get(User, user.id), is_active=False)  # type: ignore[arg-type]
    db.commit()
    assert admin.id != user.id
    assert _attempt(client, user.email, TEST_PASSWORD) == 401


def test_logout_ends_the_session(client: TestClient, make_user: UserFactory) -> None:
    # given
    user = make_user()
    token = log_in(client, user.email)
    # when
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    # then
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_password_change_invalidates_existing_sessions(
    client: TestClient, make_user: UserFactory, settings: Settings
) -> None:
    user = make_user()
    log_in(client, user.email)
    with session_scope(settings.database_url) as session:
        service.set_password(session, session.get(User, user.id), "a-brand-new-password")  # type: ignore[arg-type]
    assert client.get("/", follow_redirects=False).status_code == 303


def test_passwords_are_stored_as_argon2id(make_user: UserFactory, db: Session) -> None:
    user = make_user()
    stored = db.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert TEST_PASSWORD not in stored


def test_login_rehashes_when_parameters_change(
    client: TestClient, make_user: UserFactory, settings: Settings
) -> None:
    # given: a hash made with weaker parameters than the current defaults
    user = make_user()
    weak = PasswordHasher(time_cost=1, memory_cost=32, parallelism=1).hash(TEST_PASSWORD)
    with session_scope(settings.database_url) as session:
        session.get(User, user.id).password_hash = weak  # type: ignore[union-attr]
    # when
    assert _attempt(client, user.email, TEST_PASSWORD) == 303
    # then
    with session_scope(settings.database_url) as session:
        rehashed = session.get(User, user.id).password_hash  # type: ignore[union-attr]
    assert rehashed != weak
    assert "m=32," in weak
    assert f"m={passwords._hasher.memory_cost}," in rehashed
