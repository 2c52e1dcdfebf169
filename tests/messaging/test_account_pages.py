"""The settings pages of sending accounts: list, the form of each kind, credentials that never
come back, "Check connection" against a real SMTP server, DKIM keys made on the page,
archiving and who may see any of it."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.messaging.dkim import load_key
from retentio.messaging.hooks import sms_report_url
from retentio.messaging.models import SendingAccount
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.messaging.conftest import Inbox, free_port

PASSWORD = "s3cret-Pa55word"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, ident="Test relay")
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def smtp_form(port: int, **overrides: str) -> dict[str, str]:
    """What the SMTP form posts."""
    data = {
        "kind": "smtp",
        "name": "Main relay",
        "from_address": "news@shop.example",
        "from_name": "Чайная лавка",
        "unsubscribe_mailto": "",
        "rate_per_second": "5",
        "settings.host": "127.0.0.1",
        "settings.port": str(port),
        "settings.tls": "none",
        "settings.user": "",
        "settings.password": PASSWORD,
        "dkim_domain": "",
        "dkim_selector": "",
        "dkim_private_key": "",
    }
    return {**data, **overrides}


def _account(db: Session) -> SendingAccount:
    db.expire_all()
    return db.scalars(select(SendingAccount)).one()


def _created(client: TestClient, form: dict[str, str]) -> int:
    response = client.post("/settings/accounts/new", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_creating_an_smtp_account_leads_to_its_form_without_the_password(
    admin_client: TestClient, db: Session
) -> None:
    # given
    blank = admin_client.get("/settings/accounts/new?kind=smtp")
    assert blank.status_code == 200
    assert 'name="settings.host"' in blank.text
    assert 'name="settings.password"' in blank.text
    # when
    response = admin_client.post("/settings/accounts/new", data=smtp_form(2525))
    # then
    account = _account(db)
    assert response.status_code == 200
    assert str(response.url).endswith(f"/settings/accounts/{account.id}")
    assert account.settings == {
        "host": "127.0.0.1",
        "port": 2525,
        "tls": "none",
        "user": "",
        "password": PASSWORD,
    }
    assert (account.name, account.from_name, account.rate_per_second) == (
        "Main relay",
        "Чайная лавка",
        5.0,
    )
    assert PASSWORD not in response.text
    assert "Set: leave empty to keep it." in response.text
    assert 'value="2525"' in response.text


def test_the_list_shows_each_account_and_the_settings_hub_links_to_it(
    admin_client: TestClient,
) -> None:
    _created(admin_client, smtp_form(2525))
    sms = {
        "kind": "sms_http",
        "name": "SMS gate",
        "rate_per_second": "0",
        "settings.url": "https://sms.example/send",
        "settings.method": "POST",
        "settings.headers": "Authorization: Bearer sms-api-key-42",
        "settings.body": '{"to": "{to}", "text": "{text}"}',
    }
    _created(admin_client, sms)
    page = admin_client.get("/settings/accounts")
    rows = re.findall(r'<tr data-account-id="\d+">(.*?)</tr>', page.text, re.S)
    cells = [
        [
            html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        ]
        for r in rows
    ]
    assert cells == [
        ["Main relay", "E-mail", "SMTP server", "Чайная лавка <news@shop.example>", "5", "—"],
        ["SMS gate", "SMS", "SMS provider (HTTP API)", "—", "no limit", "—"],
    ]
    assert 'href="/settings/accounts"' in admin_client.get("/settings").text
    assert "sms-api-key-42" not in page.text


@pytest.mark.parametrize(
    ("kind", "inputs"),
    [
        (
            "smtp",
            [
                "settings.host",
                "settings.port",
                "settings.tls",
                "settings.user",
                "settings.password",
                "dkim_domain",
            ],
        ),
        ("file", ["settings.directory", "channel", "from_address", "dkim_private_key"]),
        ("sms_http", ["settings.url", "settings.headers", "settings.body", "settings.status_path"]),
        ("telegram", ["settings.token", "settings.api_base"]),
        ("webhook", ["settings.url", "settings.secret", "channel"]),
    ],
)
def test_each_kind_has_its_own_form(admin_client: TestClient, kind: str, inputs: list[str]) -> None:
    page = admin_client.get(f"/settings/accounts/new?kind={kind}")
    assert page.status_code == 200
    names = set(re.findall(r'name="([^"]+)"', page.text))
    assert set(inputs) <= names
    other = {"smtp": "settings.host", "telegram": "settings.token"}
    assert all(name not in names for k, name in other.items() if k != kind)


def test_a_rejected_form_marks_the_field_and_keeps_the_values_but_not_the_password(
    admin_client: TestClient, db: Session
) -> None:
    response = admin_client.post(
        "/settings/accounts/new", data=smtp_form(2525, **{"settings.port": "smtp"})
    )
    assert response.status_code == 422
    assert 'data-field-error="settings.port"' in response.text
    assert "The port is a number from 1 to 65535." in response.text
    assert 'value="Main relay"' in response.text
    assert 'value="smtp"' in response.text
    assert PASSWORD not in response.text
    assert db.scalars(select(SendingAccount)).all() == []


def test_a_bad_sender_address_is_marked_on_its_field(admin_client: TestClient) -> None:
    response = admin_client.post(
        "/settings/accounts/new", data=smtp_form(2525, from_address="news")
    )
    assert response.status_code == 422
    assert 'data-field-error="from_address"' in response.text


def test_saving_with_an_empty_password_keeps_the_stored_one(
    admin_client: TestClient, db: Session
) -> None:
    account_id = _created(admin_client, smtp_form(2525))
    response = admin_client.post(
        f"/settings/accounts/{account_id}",
        data=smtp_form(2526, name="Relay", **{"settings.password": "", "settings.user": "news"}),
    )
    assert response.status_code == 200
    account = _account(db)
    assert (account.name, account.settings["port"], account.settings["user"]) == (
        "Relay",
        2526,
        "news",
    )
    assert account.settings["password"] == PASSWORD
    assert PASSWORD not in response.text


def test_check_connection_shows_the_greeting_or_the_reason(
    admin_client: TestClient, smtp_port: int
) -> None:
    account_id = _created(admin_client, smtp_form(smtp_port))
    ok = admin_client.post(f"/settings/accounts/{account_id}/check")
    result = re.search(
        r'class="flash flash-success" role="status" data-testid="check-result">(.*?)</div>', ok.text
    )
    assert result is not None
    assert result.group(1).startswith("220 ")
    assert "Test relay" in result.group(1)
    # when the server is gone
    closed = free_port()
    admin_client.post(
        f"/settings/accounts/{account_id}", data=smtp_form(closed, **{"settings.password": ""})
    )
    failed = admin_client.post(f"/settings/accounts/{account_id}/check")
    assert f"Cannot connect to 127.0.0.1:{closed}: [Errno 111] Connection refused" in failed.text
    assert 'class="flash flash-error" role="status"' in failed.text
    assert PASSWORD not in ok.text + failed.text


def _record_key(page: str) -> bytes:
    found = re.search(r'data-testid="dkim-record">v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]+)<', page)
    assert found is not None
    return base64.b64decode(found.group(1))


def _public_der(private_pem: str) -> bytes:
    key = load_key("shop.example", "rt2", private_pem).key
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_a_dkim_key_generated_on_the_page_is_saved_with_its_record(
    admin_client: TestClient, db: Session
) -> None:
    # given the form filled in, then "Generate a key"
    form = smtp_form(2525, dkim_domain="shop.example", dkim_selector="rt2", action="dkim")
    generated = admin_client.post("/settings/accounts/new", data=form)
    assert generated.status_code == 200
    assert 'data-testid="dkim-record-name">rt2._domainkey.shop.example<' in generated.text
    key = re.search(
        r'<textarea name="dkim_private_key"[^>]*>(.*?)</textarea>', generated.text, re.S
    )
    assert key is not None
    private_pem = html.unescape(key.group(1))
    assert _record_key(generated.text) == _public_der(private_pem)
    assert PASSWORD not in generated.text
    # when saved with the key
    del form["action"]
    card = admin_client.post(
        "/settings/accounts/new", data={**form, "dkim_private_key": private_pem}
    )
    # then the card shows the same record, and not the key
    assert _account(db).dkim_private_key == private_pem.strip()
    assert _record_key(card.text) == _public_der(private_pem)
    assert "PRIVATE KEY" not in card.text


def test_a_telegram_account_keeps_its_token_off_the_page(
    admin_client: TestClient, db: Session
) -> None:
    form = {
        "kind": "telegram",
        "name": "Bot",
        "rate_per_second": "0",
        "settings.token": "123:bot-token-42",
        "settings.api_base": "",
    }
    account_id = _created(admin_client, form)
    page = admin_client.get(f"/settings/accounts/{account_id}")
    assert _account(db).channel.value == "messenger"
    assert _account(db).settings["token"] == "123:bot-token-42"
    assert "bot-token-42" not in page.text
    # an empty token on save keeps it
    admin_client.post(
        f"/settings/accounts/{account_id}", data={**form, "settings.token": "", "name": "Tea bot"}
    )
    assert (_account(db).name, _account(db).settings["token"]) == ("Tea bot", "123:bot-token-42")


def test_an_sms_card_shows_the_delivery_report_address(
    admin_client: TestClient, settings: Settings
) -> None:
    form = {
        "kind": "sms_http",
        "name": "SMS gate",
        "rate_per_second": "0",
        "settings.url": "https://sms.example/send",
        "settings.method": "POST",
        "settings.headers": "Authorization: Bearer sms-api-key-42",
        "settings.body": '{"to": "{to}", "text": "{text}"}',
        "settings.delivered_values": "DELIVRD, delivered",
    }
    account_id = _created(admin_client, form)
    page = admin_client.get(f"/settings/accounts/{account_id}")
    url = sms_report_url(settings.base_url, settings.resolved_secret_key(), account_id)
    assert f'data-testid="report-url">{url}<' in page.text
    assert 'value="DELIVRD, delivered"' in page.text
    assert "sms-api-key-42" not in page.text
    bad = admin_client.post(
        "/settings/accounts/new", data={**form, "name": "x", "settings.headers": "no colon"}
    )
    assert bad.status_code == 422
    assert 'data-field-error="settings.headers"' in bad.text


def test_archiving_and_restoring_from_the_card(admin_client: TestClient, db: Session) -> None:
    account_id = _created(admin_client, smtp_form(2525))
    archived = admin_client.post(f"/settings/accounts/{account_id}/archive")
    assert _account(db).archived_at is not None
    assert 'data-testid="restore-account"' in archived.text
    admin_client.post(f"/settings/accounts/{account_id}/restore")
    assert _account(db).archived_at is None


@pytest.mark.parametrize("role", [Role.MARKETER, Role.ANALYST])
def test_only_settings_managers_see_the_pages(
    client: TestClient, make_user: UserFactory, role: Role, db: Session
) -> None:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(role).email)
    responses = [
        client.get("/settings/accounts"),
        client.get("/settings/accounts/new?kind=smtp"),
        client.post("/settings/accounts/new", data=smtp_form(2525)),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert db.scalars(select(SendingAccount)).all() == []
