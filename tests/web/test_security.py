"""Secure headers on every response, rate limits on login and public endpoints, and the
outbound URL policy where operators type URLs (docs/security.md)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from retentio import worker
from retentio.audit.models import AuditEntry
from retentio.auth.models import Role, User
from retentio.db import utcnow
from retentio.journeys import webhooks
from retentio.journeys.models import WebhookCall
from retentio.settings import Settings
from retentio.web.security import PublicRateLimit, TokenBuckets, client_address
from tests.conftest import TEST_PASSWORD, UserFactory, csrf_from, log_in

NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)'")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_page_gets_the_csp_with_a_fresh_nonce_and_the_other_headers(client: TestClient) -> None:
    # given two requests for the same page
    first, second = client.get("/login"), client.get("/login")
    # then each carries a strict policy with a nonce of its own
    policy = first.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-eval'" not in policy
    nonces = {NONCE.search(r.headers["Content-Security-Policy"]).group(1) for r in (first, second)}  # type: ignore[union-attr]
    assert len(nonces) == 2
    assert first.headers["X-Frame-Options"] == "DENY"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert first.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in first.headers


def test_the_survey_answer_page_may_be_framed_and_sends_no_referrer(client: TestClient) -> None:
    # when the survey page of a (here unknown) token is asked for
    response = client.get("/s/some-token")
    # then any site may frame it, and the token does not leak through the Referer
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/u/some-token", "/p/some-token", "/c/some-token"])
def test_token_pages_send_no_referrer_and_cannot_be_framed(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_hsts_is_sent_when_the_base_url_is_https(app: FastAPI, settings: Settings) -> None:
    # given the app behind https
    app.state.settings = settings.model_copy(update={"base_url": "https://crm.example.com"})
    with TestClient(app, base_url="https://testserver") as client:
        response = client.get("/healthz")
    # then browsers are told to keep to https
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_tracker_script_still_loads_cross_origin(client: TestClient) -> None:
    response = client.get("/t.js")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "javascript" in response.headers["content-type"]


def test_a_token_bucket_allows_a_burst_then_refills_with_time() -> None:
    # given a bucket of 3 a minute
    clock = FakeClock()
    buckets = TokenBuckets(clock)
    # when 4 requests come at once, then the 4th waits 20 s (one token every 60/3 s)
    assert [buckets.take("ip", rate_per_minute=3) for _ in range(4)] == [0, 0, 0, 20.0]
    # when 20 s have passed, then one more goes through, and the next waits again
    clock.now += 20
    assert buckets.take("ip", rate_per_minute=3) == 0
    assert buckets.take("ip", rate_per_minute=3) == 20.0
    # and another client has a bucket of its own
    assert buckets.take("other", rate_per_minute=3) == 0


def _limited_app(settings: Settings, clock: FakeClock) -> Starlette:
    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/{path:path}", ok, methods=["GET", "POST"])])
    inner.state.settings = settings
    inner.add_middleware(PublicRateLimit, clock=clock)
    return inner


def test_public_posts_get_429_with_retry_after_per_ip_and_endpoint(settings: Settings) -> None:
    # given a limit of 2 a minute
    clock = FakeClock()
    limited = _limited_app(settings.model_copy(update={"public_rate_per_minute": 2}), clock)
    with TestClient(limited) as client:
        # when one client posts three times to the collect endpoint
        codes = [client.post("/collect").status_code for _ in range(3)]
        refused = client.post("/collect")
        # then the third is refused, saying when to come back
        assert codes == [200, 200, 429]
        assert refused.headers["Retry-After"] == "30"
        assert refused.json()["error"]["code"] == "too_many_requests"
        # and other endpoints, pages and reads are counted apart or not at all
        assert client.post("/f/abc/submit").status_code == 200
        assert client.get("/collect").status_code == 200
        assert client.post("/contacts").status_code == 200
        # when 30 s pass, then the client may post again
        clock.now += 30
        assert client.post("/collect").status_code == 200


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    settings: Settings,
) -> None:
    # given a proxy the settings trust, and a limit of 1 a minute
    clock = FakeClock()
    trusted = settings.model_copy(
        update={"public_rate_per_minute": 1, "trusted_proxies": ["testclient"]}
    )
    with TestClient(_limited_app(trusted, clock)) as client:
        # when two visitors post through the proxy
        first = client.post("/u/x", headers={"X-Forwarded-For": "198.51.100.1"})
        second = client.post("/u/x", headers={"X-Forwarded-For": "198.51.100.2"})
        again = client.post("/u/x", headers={"X-Forwarded-For": "198.51.100.1"})
    # then each has a bucket of their own
    assert [first.status_code, second.status_code, again.status_code] == [200, 200, 429]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.5", "198.51.100.1", [], "203.0.113.5"),  # not a proxy: header ignored
        ("10.0.0.2", "198.51.100.1", ["10.0.0.2"], "198.51.100.1"),
        # the left-most entry is whatever the client wrote: the nearest untrusted hop counts
        ("10.0.0.2", "1.2.3.4, 198.51.100.1", ["10.0.0.2"], "198.51.100.1"),
        ("10.0.0.2", "198.51.100.1, 10.0.0.3", ["10.0.0.2", "10.0.0.3"], "198.51.100.1"),
        ("10.0.0.2", "not-an-ip", ["10.0.0.2"], "10.0.0.2"),
        ("10.0.0.2", "", ["10.0.0.2"], "10.0.0.2"),
    ],
)
def test_the_client_address(peer: str, forwarded: str, trusted: list[str], expected: str) -> None:
    scope = {
        "type": "http",
        "client": (peer, 5000),
        "headers": [(b"x-forwarded-for", forwarded.encode())],
    }
    assert client_address(scope, trusted) == expected


def test_login_failures_end_in_429_with_retry_after(
    client: TestClient, make_user: UserFactory, settings: Settings
) -> None:
    # given an account (the test settings lock it after 3 failures, for 600 s)
    user = make_user(Role.ADMIN)
    token = csrf_from(client)
    form = {"email": user.email, "password": "wrong", "csrf_token": token}
    # when someone guesses 3 times and then tries the right password
    codes = [client.post("/login", data=form).status_code for _ in range(3)]
    locked = client.post("/login", data={**form, "password": TEST_PASSWORD})
    # then the account is locked, saying for how long
    assert codes == [401, 401, 401]
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == str(settings.login_lockout_seconds)


@pytest.fixture
def private_targets_refused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        worker, "_bound", settings.model_copy(update={"allow_private_targets": False})
    )


@pytest.mark.usefixtures("private_targets_refused")
def test_a_sending_account_may_not_point_at_the_servers_own_network(
    admin_client: TestClient,
) -> None:
    # given private targets are not allowed (production)
    body = {
        "name": "SMS",
        "kind": "sms_http",
        "channel": "sms",
        "settings": {
            "url": "http://169.254.169.254/latest/meta-data",
            "body": '{"to": "{to}", "msg": "{text}"}',
        },
    }
    # when an SMS account is pointed at the cloud metadata address
    response = admin_client.post("/api/v1/messaging/accounts", json=body)
    # then it is refused, naming the field
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "settings.url"


@pytest.mark.usefixtures("private_targets_refused")
def test_a_journey_webhook_may_not_point_at_loopback(admin_client: TestClient) -> None:
    # when a journey is saved with a webhook step calling this machine
    body = {
        "name": "Hook",
        "trigger": {"kind": "api"},
        "steps": [{"key": "crm", "kind": "webhook", "url": "http://127.0.0.1:9/hook"}],
    }
    response = admin_client.post("/api/v1/journeys", json=body)
    # then it is refused, naming the step's URL
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "steps.0.url"


@pytest.mark.usefixtures("private_targets_refused")
def test_a_stored_webhook_call_to_a_private_address_fails_without_being_sent() -> None:
    # given a call stored before the policy (or before its name resolved to a private address)
    sent: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    client = httpx.Client(transport=httpx.MockTransport(receive))
    call = WebhookCall(url="http://10.0.0.7/hook", payload={}, attempts=1, state="sending")
    # when the sender gets to it
    delivered = webhooks._post(client, call, utcnow())
    # then nothing leaves, and the call fails for good with the reason
    assert (delivered, sent, call.state) == (0, [], "failed")
    assert str(call.error).startswith("10.0.0.7 is a private")


def test_journey_moves_are_recorded_in_the_audit_log_and_failed_ones_are_not(
    admin_client: TestClient, db: Session
) -> None:
    # given a journey
    body = {
        "name": "Hook",
        "trigger": {"kind": "api"},
        "steps": [{"key": "crm", "kind": "webhook", "url": "https://hooks.example.com/in"}],
    }
    journey = admin_client.post("/api/v1/journeys", json=body).json()["id"]
    # when an admin activates and pauses it through the API and archives it on its page
    moves = [
        admin_client.post(f"/api/v1/journeys/{journey}/activate").status_code,
        admin_client.post(f"/api/v1/journeys/{journey}/pause").status_code,
        admin_client.post(f"/journeys/{journey}/archive", follow_redirects=False).status_code,
        # and then tries to activate the archived journey, which fails
        admin_client.post(f"/journeys/{journey}/activate", follow_redirects=False).status_code,
    ]
    # then the three moves that happened are in the log, with who did them
    assert moves == [200, 200, 303, 303]
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.entity == "journey").order_by(AuditEntry.id)
    ).all()
    assert [(e.entity_id, e.action) for e in entries] == [
        (journey, "activate"),
        (journey, "pause"),
        (journey, "archive"),
    ]
    assert {e.actor_id for e in entries} == {db.scalars(select(User.id)).one()}


def test_user_and_sending_account_changes_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # when an admin adds a user, and adds and archives a webhook account, through the API
    user = admin_client.post(
        "/api/v1/users",
        json={"email": "new@example.com", "name": "New", "role": "analyst", "password": "x" * 12},
    )
    account = admin_client.post(
        "/api/v1/messaging/accounts",
        json={
            "name": "Hook",
            "kind": "webhook",
            "channel": "email",
            "settings": {"url": "https://hooks.example.com/in", "secret": "s3cret"},
        },
    )
    archived = admin_client.post(f"/api/v1/messaging/accounts/{account.json()['id']}/archive")
    # then each is in the audit log, and no secret is
    assert (user.status_code, account.status_code, archived.status_code) == (201, 201, 200)
    entries = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.entity, e.entity_id, e.action) for e in entries] == [
        ("user", user.json()["id"], "create"),
        ("account", account.json()["id"], "create"),
        ("account", account.json()["id"], "archive"),
    ]
    assert all(e.changes == {} for e in entries)


def test_the_audit_log_page_is_for_admins_and_pages_its_entries(
    admin_client: TestClient, db: Session
) -> None:
    # given 51 entries, one more than a page
    admin = db.scalars(select(User)).one()
    db.add_all(
        AuditEntry(entity="journey", entity_id=n, action="pause", actor_id=admin.id)
        for n in range(1, 52)
    )
    db.commit()
    # when the admin opens the log and its second page
    first = admin_client.get("/settings/audit")
    second = admin_client.get("/settings/audit?page=2")
    # then the newest 50 are on the first page with who did them, the oldest on the second
    assert first.status_code == 200
    assert first.text.count("journey #") == 50
    assert "journey #51" in first.text
    assert admin.name in first.text
    assert second.text.count("journey #") == 1
    assert "journey #1<" in second.text


def test_the_audit_log_page_is_closed_to_other_roles(
    client: TestClient, make_user: UserFactory
) -> None:
    log_in(client, make_user(Role.MARKETER).email)
    assert client.get("/settings/audit").status_code == 403
