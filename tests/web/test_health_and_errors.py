"""Health check and the one error shape of the API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from tests.conftest import UserFactory, log_in


def test_healthz_reports_the_database(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_healthz_says_503_when_the_database_is_unreachable(app: FastAPI) -> None:
    broken = app.state.settings.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )
    app.state.settings = broken
    response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "unreachable",
        "detail": "OperationalError",
    }


def test_unknown_api_route_uses_the_error_shape(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "Not Found", "details": None}
    }


def test_validation_errors_name_the_fields(client: TestClient, make_user: UserFactory) -> None:
    token = log_in(client, make_user(Role.ADMIN).email)
    response = client.post(
        "/api/v1/users",
        json={"email": "not-an-email", "name": "", "role": "king", "password": "short"},
        headers={"X-CSRF-Token": token},
    )
    body = response.json()["error"]
    assert response.status_code == 422
    assert body["code"] == "invalid_input"
    assert sorted(d["field"] for d in body["details"]) == ["email", "name", "password", "role"]


def test_unknown_page_is_a_404_page(client: TestClient, make_user: UserFactory) -> None:
    log_in(client, make_user().email)
    response = client.get("/no-such-area")
    assert response.status_code == 404
    assert 'data-testid="error-message"' in response.text


def test_openapi_is_served(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/me" in schema["paths"]
    assert client.get("/api/docs").status_code == 200
