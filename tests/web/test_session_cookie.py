"""Over https the session cookie is Secure and __Host- prefixed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from retentio.app import create_app
from retentio.settings import Settings
from tests.conftest import CSRF_META, TEST_PASSWORD, UserFactory


def test_https_deployment_sets_a_secure_host_cookie(
    settings: Settings, make_user: UserFactory
) -> None:
    # given
    user = make_user()
    app = create_app(settings.model_copy(update={"base_url": "https://crm.example.com"}))
    client = TestClient(app, base_url="https://crm.example.com")
    match = CSRF_META.search(client.get("/login").text)
    assert match
    # when
    response = client.post(
        "/login",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": match.group(1)},
        follow_redirects=False,
    )
    # then
    cookie = response.headers["set-cookie"].lower()
    assert response.status_code == 303
    assert cookie.startswith("__host-retentio_session=")
    assert "; secure" in cookie
    assert "path=/" in cookie
    assert "domain=" not in cookie
