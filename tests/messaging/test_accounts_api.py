"""The JSON API of sending accounts: each kind's settings checked and stored, credentials
write-only, "Check connection" against real servers, DKIM keys, archiving and permissions."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from retentio.auth.models import Role
from retentio.messaging import service
from retentio.messaging.dkim import load_key
from retentio.messaging.hooks import sms_report_url
from retentio.messaging.models import SendingAccount
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.messaging.conftest import Inbox, Provider, free_port

URL = "/api/v1/messaging/accounts"
PASSWORD = "s3cret-Pa55word"
USER = "news@shop.example"


class Login:
    """Accepts one user and password, and remembers every attempt."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str]] = []

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        self.attempts.append((login, password))
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=(login, password) == (USER, PASSWORD), handled=False)


@pytest.fixture
def smtp_login() -> Iterator[tuple[Login, int]]:
    """A real SMTP server that wants a login (over plain text, as a local relay may)."""
    login, port = Login(), free_port()
    controller = Controller(
        Inbox(),
        hostname="127.0.0.1",
        port=port,
        authenticator=login,
        auth_require_tls=False,
        ident="Test relay",
    )
    controller.start()
    try:
        yield login, port
    finally:
        controller.stop()


def smtp_body(port: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Main relay",
        "kind": "smtp",
        "from_address": "news@shop.example",
        "from_name": "Чайная лавка",
        "settings": {
            "host": "127.0.0.1",
            "port": port,
            "tls": "none",
            "user": USER,
            "password": PASSWORD,
        },
    }
    return {**body, **overrides}


def _stored(db: DbSession, account_id: int) -> SendingAccount:
    db.expire_all()
    return db.scalars(select(SendingAccount).where(SendingAccount.id == account_id)).one()


def test_an_smtp_account_is_created_and_read_back_without_its_password(
    admin_client: TestClient, db: DbSession
) -> None:
    # when
    created = admin_client.post(URL, json=smtp_body(2525))
    # then: stored with the password, answered without it
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["kind"], body["channel"]) == ("Main relay", "smtp", "email")
    assert body["settings"] == {"host": "127.0.0.1", "port": 2525, "tls": "none", "user": USER}
    assert body["secrets"] == {"password": True, "dkim_private_key": False}
    assert (body["archived"], body["report_url"], body["dkim_record"]) == (False, None, None)
    assert _stored(db, body["id"]).settings["password"] == PASSWORD
    listed, one = admin_client.get(URL), admin_client.get(f"{URL}/{body['id']}")
    assert [a["name"] for a in listed.json()] == ["Main relay"]
    assert one.json() == body
    for response in (created, listed, one):
        assert PASSWORD not in response.text


SECRET_KINDS = [
    (
        "sms_http",
        "sms",
        {
            "url": "https://sms.example/send",
            "headers": {"Authorization": "Bearer sms-api-key-42"},
            "body": {"to": "{to}", "text": "{text}"},
        },
        "sms-api-key-42",
        {"headers": True},
    ),
    ("telegram", "messenger", {"token": "123:bot-token-42"}, "bot-token-42", {"token": True}),
    (
        "webhook",
        "sms",
        {"url": "https://hooks.example/in", "secret": "hook-secret-42"},
        "hook-secret-42",
        {"secret": True},
    ),
]


@pytest.mark.parametrize(("kind", "channel", "settings_", "secret", "flags"), SECRET_KINDS)
def test_text_accounts_keep_their_credentials_to_themselves(
    admin_client: TestClient,
    kind: str,
    channel: str,
    settings_: dict[str, Any],
    secret: str,
    flags: dict[str, bool],
) -> None:
    # when
    body = {"name": kind, "kind": kind, "channel": channel, "settings": settings_}
    created = admin_client.post(URL, json=body)
    # then
    assert created.status_code == 201, created.text
    assert created.json()["secrets"] == {**flags, "dkim_private_key": False}
    assert created.json()["channel"] == channel
    for response in (
        created,
        admin_client.get(URL),
        admin_client.get(f"{URL}/{created.json()['id']}"),
    ):
        assert secret not in response.text


def test_an_sms_account_shows_its_delivery_report_url_and_the_defaults(
    admin_client: TestClient, settings: Settings
) -> None:
    body = {
        "name": "SMS",
        "kind": "sms_http",
        "channel": "sms",
        "settings": {"url": "https://sms.example/send", "body": '{"to": "{to}", "msg": "{text}"}'},
    }
    created = admin_client.post(URL, json=body).json()
    assert created["report_url"] == sms_report_url(
        settings.base_url, settings.resolved_secret_key(), created["id"]
    )
    assert created["settings"] == {
        "url": "https://sms.example/send",
        "method": "POST",
        "body": {"to": "{to}", "msg": "{text}"},
        "sender": "",
        "id_path": "",
        "error_path": "",
        "status_id_path": "id",
        "status_path": "status",
        "delivered_values": ["delivered"],
        "failed_values": ["failed", "undelivered", "expired", "rejected"],
        "permanent_values": [],
        "invalid_values": [],
    }
    assert created["secrets"] == {"headers": False, "dkim_private_key": False}


@pytest.mark.parametrize(
    ("kind", "channel", "settings_", "field"),
    [
        ("smtp", "email", {"host": "127.0.0.1", "port": "abc"}, "settings.port"),
        ("smtp", "email", {"host": "127.0.0.1", "port": 70000}, "settings.port"),
        ("smtp", "email", {"host": "127.0.0.1", "tls": "ssl"}, "settings.tls"),
        ("smtp", "email", {"host": " "}, "settings.host"),
        ("file", "email", {}, "settings.directory"),
        ("sms_http", "sms", {"url": "https://x.example", "body": {"to": "{to}"}}, "settings.body"),
        ("sms_http", "sms", {"url": "ftp://x.example", "body": {}}, "settings.url"),
        ("telegram", "messenger", {}, "settings.token"),
        ("webhook", "email", {"url": "https://x.example"}, "settings.secret"),
        ("smtp", "sms", {"host": "127.0.0.1"}, "channel"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    admin_client: TestClient, kind: str, channel: str, settings_: dict[str, Any], field: str
) -> None:
    body = {
        "name": "x",
        "kind": kind,
        "channel": channel,
        "from_address": "news@shop.example",
        "settings": settings_,
    }
    response = admin_client.post(URL, json=body)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert admin_client.get(URL).json() == []


def test_a_second_account_with_the_same_name_is_a_conflict(admin_client: TestClient) -> None:
    assert admin_client.post(URL, json=smtp_body(25)).status_code == 201
    again = admin_client.post(URL, json=smtp_body(26))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "account_name_taken"
    assert [a["settings"]["port"] for a in admin_client.get(URL).json()] == [25]


def test_check_logs_in_and_an_update_with_an_empty_password_keeps_it(
    admin_client: TestClient, smtp_login: tuple[Login, int], db: DbSession
) -> None:
    # given
    login, port = smtp_login
    account_id = admin_client.post(URL, json=smtp_body(port)).json()["id"]
    first = admin_client.post(f"{URL}/{account_id}/check")
    # when: renamed and moved, the password left empty as a form sends it
    patch = {
        "name": "Relay",
        "settings": {"host": "127.0.0.1", "port": port, "user": USER, "password": ""},
    }
    updated = admin_client.patch(f"{URL}/{account_id}", json=patch)
    second = admin_client.post(f"{URL}/{account_id}/check")
    # then: the server greeted twice and took the stored password both times
    assert updated.status_code == 200, updated.text
    assert (updated.json()["name"], updated.json()["secrets"]["password"]) == ("Relay", True)
    assert first.status_code == second.status_code == 200
    assert first.json()["detail"].startswith("220 ")
    assert "Test relay" in first.json()["detail"]
    assert login.attempts == [(USER, PASSWORD), (USER, PASSWORD)]
    assert _stored(db, account_id).settings["password"] == PASSWORD


def test_a_refused_login_is_reported_without_the_password(
    admin_client: TestClient, smtp_login: tuple[Login, int]
) -> None:
    _login, port = smtp_login
    body = smtp_body(port)
    body["settings"]["password"] = "wrong-Pa55word"
    account_id = admin_client.post(URL, json=body).json()["id"]
    response = admin_client.post(f"{URL}/{account_id}/check")
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert message == "The server refused the login: 535 5.7.8 Authentication credentials invalid"
    assert "wrong-Pa55word" not in response.text


def test_check_against_a_closed_port_says_why(admin_client: TestClient) -> None:
    port = free_port()  # nothing listens there
    body = smtp_body(port)
    account_id = admin_client.post(URL, json=body).json()["id"]
    response = admin_client.post(f"{URL}/{account_id}/check")
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        f"Cannot connect to 127.0.0.1:{port}: [Errno 111] Connection refused"
    )
    assert PASSWORD not in response.text


def test_check_of_a_file_sink_tries_its_directory(admin_client: TestClient, tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    body = {"name": "dev", "kind": "file", "from_address": "dev@localhost"}
    account_id = admin_client.post(
        URL, json={**body, "settings": {"directory": str(folder)}}
    ).json()["id"]
    response = admin_client.post(f"{URL}/{account_id}/check")
    assert response.json() == {"detail": f"The directory {folder} is writable."}
    assert list(folder.iterdir()) == []  # the probe file is gone


def test_check_of_a_telegram_bot_asks_who_it_is(
    admin_client: TestClient, provider: Provider
) -> None:
    provider.answer = lambda _hit: (200, {"ok": True, "result": {"username": "tea_bot"}})
    settings_ = {"token": "123:bot-token-42", "api_base": provider.url}
    body = {"name": "bot", "kind": "telegram", "channel": "messenger", "settings": settings_}
    account_id = admin_client.post(URL, json=body).json()["id"]
    response = admin_client.post(f"{URL}/{account_id}/check")
    assert response.json() == {"detail": "The bot @tea_bot is ready to send."}
    assert [hit.path for hit in provider.hits] == ["/bot123:bot-token-42/getMe"]
    # when the token is wrong
    provider.answer = lambda _hit: (401, {"ok": False, "description": "Unauthorized"})
    refused = admin_client.post(f"{URL}/{account_id}/check")
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == "Telegram answered 401: Unauthorized"
    assert "bot-token-42" not in refused.text


def test_an_sms_account_cannot_be_checked_without_sending(admin_client: TestClient) -> None:
    body = {
        "name": "SMS",
        "kind": "sms_http",
        "channel": "sms",
        "settings": {"url": "https://sms.example/send", "body": {"to": "{to}", "text": "{text}"}},
    }
    account_id = admin_client.post(URL, json=body).json()["id"]
    response = admin_client.post(f"{URL}/{account_id}/check")
    assert response.json() == {
        "detail": "This kind of account cannot be checked without sending: send a test message."
    }


def _public_key_of_record(record: str) -> bytes:
    tags = dict(part.strip().split("=", 1) for part in record.split(";"))
    assert (tags["v"], tags["k"]) == ("DKIM1", "rsa")
    return base64.b64decode(tags["p"])


def _public_der(private_pem: str) -> bytes:
    key = load_key("shop.example", "rt2", private_pem).key
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_generated_dkim_key_loads_and_its_record_holds_its_public_key() -> None:
    private_pem, record = service.generate_dkim_key("shop.example", "rt2")
    assert load_key("shop.example", "rt2", private_pem).key.key_size == 2048
    assert _public_key_of_record(record) == _public_der(private_pem)


def test_a_new_dkim_key_is_stored_and_only_its_record_is_returned(
    admin_client: TestClient, db: DbSession
) -> None:
    account_id = admin_client.post(URL, json=smtp_body(25)).json()["id"]
    response = admin_client.post(
        f"{URL}/{account_id}/dkim-key", json={"domain": "shop.example", "selector": "rt2"}
    )
    body = response.json()
    assert response.status_code == 200, response.text
    assert "PRIVATE KEY" not in response.text
    assert (body["dkim_domain"], body["dkim_selector"]) == ("shop.example", "rt2")
    assert body["dkim_record_name"] == "rt2._domainkey.shop.example"
    assert body["secrets"]["dkim_private_key"] is True
    stored = _stored(db, account_id).dkim_private_key
    assert _public_key_of_record(body["dkim_record"]) == _public_der(stored)
    # an update without a key keeps it; clearing the domain and selector turns signing off
    kept = admin_client.patch(
        f"{URL}/{account_id}", json={"from_name": "Tea", "dkim_private_key": ""}
    )
    assert kept.json()["dkim_record"] == body["dkim_record"]
    off = admin_client.patch(f"{URL}/{account_id}", json={"dkim_domain": "", "dkim_selector": ""})
    assert (off.json()["dkim_record"], off.json()["secrets"]["dkim_private_key"]) == (None, False)
    assert _stored(db, account_id).dkim_private_key == ""


def test_a_dkim_key_needs_a_domain_name(admin_client: TestClient) -> None:
    account_id = admin_client.post(URL, json=smtp_body(25)).json()["id"]
    response = admin_client.post(
        f"{URL}/{account_id}/dkim-key", json={"domain": "not a domain", "selector": "rt2"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "dkim_domain"


def test_archived_accounts_are_listed_last_and_can_come_back(admin_client: TestClient) -> None:
    first = admin_client.post(URL, json=smtp_body(25, name="A relay")).json()["id"]
    admin_client.post(URL, json=smtp_body(26, name="B relay"))
    archived = admin_client.post(f"{URL}/{first}/archive")
    assert archived.json()["archived"] is True
    assert archived.json()["archived_at"] is not None
    assert [(a["name"], a["archived"]) for a in admin_client.get(URL).json()] == [
        ("B relay", False),
        ("A relay", True),
    ]
    restored = admin_client.post(f"{URL}/{first}/restore")
    assert (restored.json()["archived"], restored.json()["archived_at"]) == (False, None)


def test_an_unknown_account_is_404(admin_client: TestClient) -> None:
    assert admin_client.get(f"{URL}/999").status_code == 404
    assert admin_client.patch(f"{URL}/999", json={"name": "x"}).status_code == 404


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ANALYST, Role.SALES])
def test_only_settings_managers_reach_the_accounts(
    client: TestClient, make_user: UserFactory, role: Role
) -> None:
    with_admin = make_user(Role.ADMIN)
    with TestClient(client.app) as admin:
        admin.headers["X-CSRF-Token"] = log_in(admin, with_admin.email)
        account_id = admin.post(URL, json=smtp_body(25)).json()["id"]
    client.headers["X-CSRF-Token"] = log_in(client, make_user(role).email)
    responses = [
        client.get(URL),
        client.post(URL, json=smtp_body(26, name="other")),
        client.get(f"{URL}/{account_id}"),
        client.patch(f"{URL}/{account_id}", json={"name": "x"}),
        client.post(f"{URL}/{account_id}/archive"),
        client.post(f"{URL}/{account_id}/check"),
    ]
    assert [r.status_code for r in responses] == [403] * 6


def test_without_a_login_the_api_answers_401(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
