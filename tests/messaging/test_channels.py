"""The text channels' transports against a real HTTP server on loopback: what the SMS provider,
Telegram and a webhook receiver get, how each answer is classified (accepted, permanent with or
without a bounce, transient for the message or for the whole account), the webhook's signature,
the checks on account settings, and reading delivery reports."""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Any

import httpx
import pytest

from retentio.consent.models import Channel
from retentio.errors import InvalidInput
from retentio.messaging import channels
from retentio.messaging.channels import (
    DeliveryReport,
    ReportStatus,
    SmsHttpTransport,
    TelegramTransport,
    TextMessage,
    WebhookTransport,
    checked_settings,
    read_reports,
    text_transport,
)
from retentio.messaging.models import AccountKind, SendingAccount
from retentio.messaging.transports import PermanentFailure, TransientFailure, UncertainDelivery
from tests.messaging.conftest import Hit, Provider, free_port

SMS_BODY = {
    "messages": [{"to": "{to}", "body": "{text}", "from": "{sender}", "ref": "{reference}"}]
}
MESSAGE = TextMessage(
    message_id=41,
    contact_id=7,
    channel=Channel.SMS,
    to="+79161234567",
    text='Скидка 20% "ЧАЙ20" {to}',
)


def _sms(provider: Provider, **settings: Any) -> SmsHttpTransport:
    given = {
        "url": f"{provider.url}/v1/sms",
        "headers": {"Authorization": "Bearer k-123"},
        "body": SMS_BODY,
        "id_path": "messages.0.id",
        "error_path": "error.code",
        "invalid_values": ["INVALID_NUMBER"],
        **settings,
    }
    return SmsHttpTransport(checked_settings(AccountKind.SMS_HTTP, given), sender="TeaShop")


def test_sms_fills_the_body_template_and_keeps_the_providers_id(provider: Provider) -> None:
    # given
    provider.answer = lambda _hit: (200, {"messages": [{"id": "p-900", "status": "queued"}]})
    transport = _sms(provider)
    # when
    provider_id = transport.send(MESSAGE)
    transport.close()
    # then
    assert provider_id == "p-900"
    [hit] = provider.hits
    assert (hit.method, hit.path) == ("POST", "/v1/sms")
    assert hit.headers["Authorization"] == "Bearer k-123"
    assert hit.headers["Content-Type"] == "application/json"
    # The text's own "{to}" and quotes stay as written: filled once, then JSON-encoded.
    assert hit.json() == {
        "messages": [
            {
                "to": "+79161234567",
                "body": 'Скидка 20% "ЧАЙ20" {to}',
                "from": "TeaShop",
                "ref": "41",
            }
        ]
    }


def test_sms_without_an_id_in_the_reply_is_accepted_without_one(provider: Provider) -> None:
    provider.answer = lambda _hit: (202, "accepted")
    assert _sms(provider, method="put").send(MESSAGE) is None
    assert provider.hits[0].method == "PUT"


@pytest.mark.parametrize(
    ("status", "reply", "kind", "code", "bounce"),
    [
        (400, {"error": {"code": "INVALID_NUMBER"}}, PermanentFailure, 400, True),
        (400, {"error": {"code": "TEXT_TOO_LONG"}}, PermanentFailure, 400, False),
        (403, "forbidden", PermanentFailure, 403, False),
        (408, "", TransientFailure, 408, None),
        (500, "oops", TransientFailure, 500, None),
        (503, "", TransientFailure, 503, None),
        # Wrong key, or "slow down": the whole account waits (no code).
        (401, "", TransientFailure, None, None),
        (429, "", TransientFailure, None, None),
    ],
)
def test_sms_answers_are_classified(
    provider: Provider,
    status: int,
    reply: Any,
    kind: type[Exception],
    code: int | None,
    bounce: bool | None,
) -> None:
    provider.answer = lambda _hit: (status, reply)
    with pytest.raises(kind) as caught:
        _sms(provider).send(MESSAGE)
    assert isinstance(caught.value, PermanentFailure | TransientFailure)
    assert caught.value.code == code
    assert str(caught.value).startswith(f"The SMS provider answered {status}")
    if isinstance(caught.value, PermanentFailure):
        assert caught.value.bounce is bounce


def test_an_unreachable_provider_is_transient_for_the_account() -> None:
    settings = {"url": f"http://127.0.0.1:{free_port()}/sms", "body": SMS_BODY}
    transport = SmsHttpTransport(checked_settings(AccountKind.SMS_HTTP, settings), sender="")
    with pytest.raises(TransientFailure) as caught:
        transport.send(MESSAGE)
    assert caught.value.code is None
    assert str(caught.value).startswith("The SMS provider is unreachable:")


def test_a_provider_that_took_the_request_and_never_answered_is_an_uncertain_delivery(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a provider that reads the request and then stalls past the timeout
    release = threading.Event()

    def stall(_hit: Hit) -> tuple[int, Any]:
        release.wait(5)
        return 200, {}

    provider.answer = stall
    monkeypatch.setattr(channels, "HTTP_TIMEOUT", httpx.Timeout(0.2))
    transport = _sms(provider)
    # when
    try:
        with pytest.raises(UncertainDelivery) as caught:
            transport.send(MESSAGE)
    finally:
        release.set()
        transport.close()
    # then: it had the whole request, so the message may be out: not a failure to retry
    assert len(provider.hits) == 1
    assert str(caught.value).startswith("The SMS provider got the request and did not answer")


def _telegram(provider: Provider) -> TelegramTransport:
    return TelegramTransport(token="123:abc", api_base=provider.url)


def test_telegram_sends_to_the_chat_and_names_the_message(provider: Provider) -> None:
    provider.answer = lambda _hit: (200, {"ok": True, "result": {"message_id": 77}})
    transport = _telegram(provider)
    chat = TextMessage(
        message_id=1, contact_id=2, channel=Channel.MESSENGER, to="5550001", text="Привет"
    )
    assert transport.send(chat) == "5550001/77"
    [hit] = provider.hits
    assert hit.path == "/bot123:abc/sendMessage"
    assert hit.json() == {"chat_id": "5550001", "text": "Привет"}


def test_telegram_addresses_a_username_with_an_at_sign(provider: Provider) -> None:
    provider.answer = lambda _hit: (200, {"ok": True, "result": {"message_id": 3}})
    chat = TextMessage(
        message_id=1, contact_id=2, channel=Channel.MESSENGER, to="teashop", text="x"
    )
    assert _telegram(provider).send(chat) == "@teashop/3"
    assert provider.hits[0].json()["chat_id"] == "@teashop"


def _telegram_error(code: int, description: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description, **extra}


@pytest.mark.parametrize(
    ("status", "description", "kind", "code", "bounce"),
    [
        (400, "Bad Request: chat not found", PermanentFailure, 400, True),
        (403, "Forbidden: bot was blocked by the user", PermanentFailure, 403, True),
        (400, "Bad Request: message is too long", PermanentFailure, 400, False),
        (429, "Too Many Requests: retry after 5", TransientFailure, None, None),
        (502, "Bad Gateway", TransientFailure, 502, None),
        (401, "Unauthorized", TransientFailure, None, None),
        (404, "Not Found", TransientFailure, None, None),
    ],
)
def test_telegram_errors_are_classified(
    provider: Provider,
    status: int,
    description: str,
    kind: type[Exception],
    code: int | None,
    bounce: bool | None,
) -> None:
    provider.answer = lambda _hit: (status, _telegram_error(status, description))
    chat = TextMessage(message_id=1, contact_id=2, channel=Channel.MESSENGER, to="42", text="x")
    with pytest.raises(kind) as caught:
        _telegram(provider).send(chat)
    assert isinstance(caught.value, PermanentFailure | TransientFailure)
    assert str(caught.value) == f"Telegram answered {status}: {description}"
    assert caught.value.code == code
    if isinstance(caught.value, PermanentFailure):
        assert caught.value.bounce is bounce


def test_the_webhook_posts_the_message_signed_with_the_accounts_secret(
    provider: Provider,
) -> None:
    # given
    transport = WebhookTransport(url=f"{provider.url}/in", secret="s3cret-s3cret")
    message = TextMessage(
        message_id=5,
        contact_id=9,
        channel=Channel.EMAIL,
        to="anna@example.org",
        text="Привет",
        subject="Скидка",
        html="<p>Привет</p>",
        variables={"promo": "ЧАЙ20"},
        unsubscribe_url="https://crm.shop.example/u/t",
    )
    # when
    assert transport.send(message) is None
    # then
    [hit] = provider.hits
    assert hit.json() == {
        "message_id": 5,
        "contact_id": 9,
        "channel": "email",
        "to": "anna@example.org",
        "subject": "Скидка",
        "text": "Привет",
        "html": "<p>Привет</p>",
        "variables": {"promo": "ЧАЙ20"},
        "unsubscribe_url": "https://crm.shop.example/u/t",
    }
    expected = hmac.new(b"s3cret-s3cret", hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["X-Retentio-Signature"] == f"sha256={expected}"
    # and a receiver holding another secret would refuse it
    forged = hmac.new(b"other", hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["X-Retentio-Signature"] != f"sha256={forged}"


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [(404, PermanentFailure, 404), (422, PermanentFailure, 422), (500, TransientFailure, 500)],
)
def test_webhook_answers_are_classified_and_never_bounce(
    provider: Provider, status: int, kind: type[Exception], code: int
) -> None:
    provider.answer = lambda _hit: (status, {"error": "no"})
    message = TextMessage(message_id=1, contact_id=2, channel=Channel.SMS, to="+7", text="x")
    with pytest.raises(kind) as caught:
        WebhookTransport(url=provider.url, secret="s").send(message)
    assert isinstance(caught.value, PermanentFailure | TransientFailure)
    assert caught.value.code == code
    assert not isinstance(caught.value, PermanentFailure) or caught.value.bounce is False


@pytest.mark.parametrize(
    ("kind", "settings", "field", "message"),
    [
        (
            AccountKind.SMS_HTTP,
            {"url": "file:///etc/passwd", "body": SMS_BODY},
            "settings.url",
            "The URL must start with https:// or http://.",
        ),
        (
            AccountKind.SMS_HTTP,
            {"url": "https://sms.example", "body": {"to": "{to}"}},
            "settings.body",
            "The body template needs the {to} and {text} placeholders.",
        ),
        (
            AccountKind.SMS_HTTP,
            {"url": "https://sms.example", "body": "{not json"},
            "settings.body",
            None,
        ),
        (
            AccountKind.SMS_HTTP,
            {"url": "https://sms.example", "body": SMS_BODY, "method": "GET"},
            "settings.method",
            "The method must be POST or PUT.",
        ),
        (
            AccountKind.SMS_HTTP,
            {"url": "https://sms.example", "body": SMS_BODY, "delivered_values": "ok"},
            "settings.delivered_values",
            "Give a list of values.",
        ),
        (
            AccountKind.WEBHOOK,
            {"url": "gopher://hooks.example", "secret": "s"},
            "settings.url",
            "The URL must start with https:// or http://.",
        ),
        (
            AccountKind.WEBHOOK,
            {"url": "https://hooks.example"},
            "settings.secret",
            "The signing secret is required.",
        ),
        (AccountKind.TELEGRAM, {}, "settings.token", "The bot token is required."),
        (
            AccountKind.TELEGRAM,
            {"token": "1:a", "api_base": "javascript:alert(1)"},
            "settings.api_base",
            "The URL must start with https:// or http://.",
        ),
    ],
)
def test_account_settings_are_checked_naming_the_field(
    kind: AccountKind, settings: dict[str, Any], field: str, message: str | None
) -> None:
    with pytest.raises(InvalidInput) as caught:
        checked_settings(kind, settings)
    assert caught.value.details == {"field": field}
    if message is not None:
        assert caught.value.message == message


def test_checked_settings_parse_a_body_given_as_text_and_fill_in_defaults() -> None:
    checked = checked_settings(
        AccountKind.SMS_HTTP,
        {"url": "https://sms.example/send", "body": '{"phone": "{to}", "msg": "{text}"}'},
    )
    assert checked["body"] == {"phone": "{to}", "msg": "{text}"}
    assert (checked["method"], checked["id_path"], checked["status_path"]) == ("POST", "", "status")
    telegram = checked_settings(AccountKind.TELEGRAM, {"token": " 1:a "})
    assert telegram == {"token": "1:a", "api_base": "https://api.telegram.org"}


def test_an_account_whose_stored_settings_fail_the_checks_waits_instead_of_sending() -> None:
    account = SendingAccount(
        id=1,
        kind=AccountKind.WEBHOOK,
        channel=Channel.SMS,
        from_name="",
        settings={"url": "ftp://x.example", "secret": "s"},
    )
    transport = text_transport(account)
    with pytest.raises(TransientFailure) as caught:
        transport.send(MESSAGE)
    assert caught.value.code is None
    assert str(caught.value) == (
        "The account's settings are invalid: settings.url: "
        "The URL must start with https:// or http://."
    )


def test_delivery_reports_are_read_with_the_accounts_paths() -> None:
    settings = {
        "status_id_path": "data.msg_id",
        "status_path": "data.state",
        "delivered_values": ["DELIVRD"],
        "failed_values": ["UNDELIV", "EXPIRED"],
        "permanent_values": ["UNDELIV"],
    }
    payload = [
        {"data": {"msg_id": 11, "state": "delivrd"}},
        {"data": {"msg_id": "12", "state": "UNDELIV"}},
        {"data": {"msg_id": "13", "state": "EXPIRED"}},
        {"data": {"msg_id": "14", "state": "ENROUTE"}},  # not final yet
        {"data": {"state": "DELIVRD"}},  # no id
        "garbage",
    ]
    assert read_reports(settings, payload) == [
        DeliveryReport("11", ReportStatus.DELIVERED, "status: delivrd"),
        DeliveryReport("12", ReportStatus.FAILED_PERMANENT, "status: UNDELIV"),
        DeliveryReport("13", ReportStatus.FAILED, "status: EXPIRED"),
    ]
    assert read_reports({}, {"id": "9", "status": "Delivered"}) == [
        DeliveryReport("9", ReportStatus.DELIVERED, "status: Delivered")
    ]
