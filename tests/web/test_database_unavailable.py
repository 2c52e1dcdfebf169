"""A database that cannot be reached: every request is a 503 with Retry-After, never a 500.

The app is pointed at a database it cannot open (PostgreSQL: a closed port; SQLite: a folder),
so the driver raises its real connection error. The outage with a real server that goes away
and comes back is tests/ops/test_database_outage.py.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.db import is_sqlite, session_scope
from retentio.events import sources
from tests.conftest import UserFactory, log_in

UNAVAILABLE = {
    "error": {
        "code": "database_unavailable",
        "message": "The database is unavailable; send the request again shortly.",
        "details": None,
    }
}


def _cut_off(app: FastAPI, folder: Path) -> None:
    """Point the app at a database of the same engine that refuses every connection."""
    settings = app.state.settings
    unreachable = (
        f"sqlite:///{folder}"  # a folder: "unable to open database file"
        if is_sqlite(settings.database_url)
        else "postgresql+psycopg://retentio:retentio@127.0.0.1:1/retentio"
    )
    app.state.settings = settings.model_copy(update={"database_url": unreachable})


def test_ingest_answers_503_with_retry_after(app: FastAPI, tmp_path: Path) -> None:
    # Given a tracking source, and then the database gone
    with session_scope(app.state.settings.database_url) as session:
        write_key = sources.create_source(
            session, name="Shop", allowed_origins=[], actor_id=None
        ).write_key
    _cut_off(app, tmp_path)
    # When a batch of events is posted
    response = TestClient(app).post(
        "/api/v1/events/batch",
        json={"events": [{"message_id": "m-1", "type": "page_view", "anonymous_id": "a1"}]},
        headers={"X-Write-Key": write_key},
    )
    # Then the client is told to send it again later
    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert response.headers["Retry-After"] == "5"


def test_a_page_is_a_plain_503_page(app: FastAPI, make_user: UserFactory, tmp_path: Path) -> None:
    # Given a signed-in user, and then the database gone
    client = TestClient(app)
    log_in(client, make_user(Role.ADMIN).email)
    _cut_off(app, tmp_path)
    # When they open a page
    response = client.get("/contacts")
    # Then they read a short page saying so, with no trace of the error
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Retentio is unavailable for a moment</h1>" in response.text
    assert "Error" not in response.text


def test_readyz_reports_the_database(app: FastAPI, tmp_path: Path) -> None:
    # Given the database gone
    _cut_off(app, tmp_path)
    # When a load balancer asks whether to send traffic
    response = TestClient(app).get("/readyz")
    # Then it is told not to
    assert response.status_code == 503
    assert response.json() == {"status": "error", "failing": "database"}
