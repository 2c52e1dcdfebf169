"""Operations endpoints: liveness, readiness, request ids in headers and JSON logs, /metrics."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from retentio.consent.models import Purpose
from retentio.db import session_scope
from retentio.logs import JsonFormatter, RequestIdFilter
from retentio.messaging import service
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.settings import Settings
from retentio.web.ops import metrics_allowed
from tests.conftest import fresh_database_url
from tests.messaging.conftest import World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
LOOPBACK = ("127.0.0.1", 50000)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The access log as the production handler writes it, into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("retentio.access")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


def _sample(app: FastAPI, name: str, labels: dict[str, str]) -> float:
    with TestClient(app, client=LOOPBACK) as scraper:
        text = scraper.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_livez_answers_without_the_database(app: FastAPI, settings: Settings) -> None:
    # given
    app.state.settings = settings.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )
    # when
    response = TestClient(app).get("/livez")
    # then
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_ok_with_a_current_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_names_the_database_when_it_is_unreachable(app: FastAPI, settings: Settings) -> None:
    # given
    app.state.settings = settings.model_copy(
        update={"database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    )
    # when
    response = TestClient(app).get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json() == {"status": "error", "failing": "database"}


def test_readyz_names_the_schema_when_it_is_behind(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    # given: a reachable database that was never migrated
    with fresh_database_url(tmp_path) as empty_url:
        app.state.settings = settings.model_copy(update={"database_url": empty_url})
        # when
        response = TestClient(app).get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json() == {"status": "error", "failing": "schema"}


def test_readyz_names_redis_when_it_does_not_answer(app: FastAPI, settings: Settings) -> None:
    app.state.settings = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    response = TestClient(app).get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "failing": "redis"}


def test_a_sane_request_id_is_echoed_and_logged(client: TestClient, json_log: io.StringIO) -> None:
    # when
    response = client.get("/livez", headers={"X-Request-ID": "edge-42.a:b"})
    # then
    assert response.headers["X-Request-ID"] == "edge-42.a:b"
    line = json.loads(json_log.getvalue().splitlines()[-1])
    assert {k: line[k] for k in ("logger", "request_id", "method", "path", "status")} == {
        "logger": "retentio.access",
        "request_id": "edge-42.a:b",
        "method": "GET",
        "path": "/livez",
        "status": 200,
    }
    assert isinstance(line["duration_ms"], float)


def test_an_insane_request_id_is_replaced(client: TestClient, json_log: io.StringIO) -> None:
    response = client.get("/livez", headers={"X-Request-ID": "bad id\twith <html>"})
    generated = response.headers["X-Request-ID"]
    assert len(generated) == 32
    assert generated.isalnum()
    assert json.loads(json_log.getvalue().splitlines()[-1])["request_id"] == generated


def test_the_access_log_names_the_route_not_the_token_or_query(
    client: TestClient, json_log: io.StringIO
) -> None:
    client.get("/c/secret-token-value?u=https://shop.example", follow_redirects=False)
    logged = json_log.getvalue()
    assert '"path": "/c/{token}"' in logged
    assert "secret-token-value" not in logged
    assert "shop.example" not in logged


def test_metrics_count_requests_by_route_template(app: FastAPI) -> None:
    # given
    labels = {"method": "GET", "route": "/livez", "status": "200"}
    before = _sample(app, "retentio_http_requests_total", labels)
    # when
    TestClient(app).get("/livez")
    # then
    assert _sample(app, "retentio_http_requests_total", labels) == before + 1


def test_metrics_show_outbox_messages_by_state(app: FastAPI, settings: Settings) -> None:
    # given: two queued messages
    world = World(settings.database_url)
    account_id, content_id = world.smtp_account(25), world.content()
    contact_ids = [world.contact(email=f"m{n}@example.org") for n in range(2)]
    with session_scope(settings.database_url) as session:
        for contact_id in contact_ids:
            key = OutboxKey("journey", 1, "welcome", contact_id)
            service.enqueue(
                session, NewMessage(key, account_id, content_id, Purpose.MARKETING), now=NOW
            )
    # then
    assert _sample(app, "retentio_outbox_messages", {"state": "queued"}) == 2
    assert _sample(app, "retentio_outbox_messages", {"state": "sent"}) == 0
    assert _sample(app, "retentio_journey_lag_seconds", {}) == 0
    assert _sample(app, "retentio_journey_enrollments_active", {}) == 0


def test_metrics_are_refused_to_a_remote_client_without_the_token(
    app: FastAPI, settings: Settings
) -> None:
    # given
    app.state.settings = settings.model_copy(update={"metrics_token": "scrape-me"})
    remote = TestClient(app, client=("203.0.113.7", 40000))
    # when / then
    assert remote.get("/metrics").status_code == 403
    assert remote.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    response = remote.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert response.status_code == 200
    assert "retentio_outbox_messages" in response.text


@pytest.mark.parametrize(
    ("host", "authorization", "token", "allowed"),
    [
        ("127.0.0.1", "", "", True),
        ("::1", "", "", True),
        ("10.0.0.5", "", "", False),
        ("10.0.0.5", "Bearer ", "", False),
        ("10.0.0.5", "Bearer t0k", "t0k", True),
        ("testclient", "", "", False),
    ],
)
def test_the_metrics_guard(host: str, authorization: str, token: str, allowed: bool) -> None:
    assert metrics_allowed(host, authorization, token=token) is allowed
