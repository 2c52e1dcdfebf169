"""SMS delivery reports at `POST /hooks/sms/{token}` through the real app: delivered, failed for
good (bounce and suppression), failed for now (soft bounce), a report repeated, a message we do
not know (200, nothing recorded), and tokens that are not the account's (404)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose, Suppression, SuppressionReason
from retentio.db import session_scope
from retentio.messaging import queries, service
from retentio.messaging.hooks import HookSigner, sms_report_url
from retentio.messaging.models import AccountKind, EventKind, MessageState
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Signer, Token
from retentio.settings import Settings
from tests.messaging.conftest import BASE_URL, World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
REPORTS = {
    "url": "https://sms.example/send",
    "body": {"to": "{to}", "text": "{text}"},
    "status_id_path": "sms.id",
    "status_path": "sms.status",
    "delivered_values": ["DELIVRD"],
    "failed_values": ["UNDELIV", "EXPIRED"],
    "permanent_values": ["UNKNOWN_NUMBER"],
}


@pytest.fixture
def hook_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _account(world: World, name: str = "sms") -> int:
    return world.text_account(AccountKind.SMS_HTTP, REPORTS, channel=Channel.SMS, name=name)


def _sent_sms(settings: Settings, world: World, account_id: int, provider_id: str) -> int:
    contact_id = world.contact(channel=Channel.SMS, phone="+79161234567", email=None)
    content_id = world.content(text="Hi")
    with session_scope(settings.database_url) as session:
        key = OutboxKey("campaign", 1, provider_id, contact_id)
        new = NewMessage(key, account_id, content_id, Purpose.MARKETING, channel=Channel.SMS)
        message, _ = service.enqueue(session, new, now=NOW)
        message.state, message.address = MessageState.SENT, "+79161234567"
        message.provider_message_id = provider_id
        return message.id


def _path(settings: Settings, account_id: int) -> str:
    url = sms_report_url(BASE_URL, settings.resolved_secret_key(), account_id)
    return url.removeprefix(BASE_URL)


def _report(provider_id: str, status: str) -> dict[str, Any]:
    return {"sms": {"id": provider_id, "status": status}}


def test_the_url_shown_to_the_user_carries_a_signed_account_id(settings: Settings) -> None:
    token = HookSigner(settings.resolved_secret_key()).sign(12)
    assert sms_report_url(BASE_URL + "/", settings.resolved_secret_key(), 12) == (
        f"{BASE_URL}/hooks/sms/{token}"
    )
    assert token.startswith("12.")
    assert HookSigner(settings.resolved_secret_key()).verify(token) == 12
    assert HookSigner("another-secret-key-of-another-install-0000").verify(token) is None


def test_delivered_is_recorded_once_however_often_it_is_reported(
    hook_client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    # given
    account_id = _account(world)
    message_id = _sent_sms(settings, world, account_id, "p-1")
    # when the provider reports it twice
    answers = [
        hook_client.post(_path(settings, account_id), json=_report("p-1", "DELIVRD"))
        for _ in range(2)
    ]
    # then
    assert [(a.status_code, a.json()) for a in answers] == [
        (200, {"recorded": 1}),
        (200, {"recorded": 0}),
    ]
    assert queries.events_of(db, message_id) == [(EventKind.DELIVERED, None)]


def test_a_permanent_failure_bounces_and_suppresses_the_number(
    hook_client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    account_id = _account(world)
    message_id = _sent_sms(settings, world, account_id, "p-2")
    response = hook_client.post(_path(settings, account_id), json=_report("p-2", "unknown_number"))
    assert response.json() == {"recorded": 1}
    assert queries.events_of(db, message_id) == [(EventKind.BOUNCE_HARD, None)]
    suppressed = db.execute(select(Suppression.channel, Suppression.address, Suppression.reason))
    assert [tuple(r) for r in suppressed] == [
        (Channel.SMS, "+79161234567", SuppressionReason.HARD_BOUNCE)
    ]


def test_another_failure_is_a_soft_bounce_without_suppression(
    hook_client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    account_id = _account(world)
    message_id = _sent_sms(settings, world, account_id, "p-3")
    # A batch: the final status, and a later "still on its way" that changes nothing.
    batch = [_report("p-3", "EXPIRED"), _report("p-3", "ENROUTE")]
    assert hook_client.post(_path(settings, account_id), json=batch).json() == {"recorded": 1}
    assert queries.events_of(db, message_id) == [(EventKind.BOUNCE_SOFT, None)]
    assert db.scalars(select(Suppression)).all() == []


def test_a_form_encoded_report_is_read_too(
    hook_client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    settings_ = {**REPORTS, "status_id_path": "id", "status_path": "state"}
    account_id = world.text_account(AccountKind.SMS_HTTP, settings_, channel=Channel.SMS)
    message_id = _sent_sms(settings, world, account_id, "p-4")
    response = hook_client.post(_path(settings, account_id), data={"id": "p-4", "state": "DELIVRD"})
    assert (response.status_code, response.json()) == (200, {"recorded": 1})
    assert queries.events_of(db, message_id) == [(EventKind.DELIVERED, None)]


def test_a_report_of_a_message_we_do_not_know_is_accepted_and_ignored(
    hook_client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    # given a message of another account with the same provider id
    account_id, other_id = _account(world), _account(world, name="other")
    message_id = _sent_sms(settings, world, other_id, "p-5")
    # when
    unknown = hook_client.post(_path(settings, account_id), json=_report("p-404", "DELIVRD"))
    foreign = hook_client.post(_path(settings, account_id), json=_report("p-5", "DELIVRD"))
    # then
    assert [(r.status_code, r.json()) for r in (unknown, foreign)] == [
        (200, {"recorded": 0}),
        (200, {"recorded": 0}),
    ]
    assert queries.events_of(db, message_id) == []


def test_bad_tokens_and_bodies_are_refused(
    hook_client: TestClient, settings: Settings, world: World
) -> None:
    account_id = _account(world)
    webhook_id = world.text_account(
        AccountKind.WEBHOOK,
        {"url": "https://hooks.example", "secret": "s"},
        channel=Channel.SMS,
    )
    good = _path(settings, account_id)
    tracking = Signer(settings.resolved_secret_key()).sign(Token("o", account_id))
    report = _report("p-1", "DELIVRD")
    statuses = [
        hook_client.post(f"/hooks/sms/{account_id}.AAAAAAAAAAAAAAAAAAAAAA", json=report),
        hook_client.post(f"/hooks/sms/{account_id + 1}.{good.rpartition('.')[2]}", json=report),
        hook_client.post(f"/hooks/sms/{tracking}", json=report),
        hook_client.post("/hooks/sms/²³.x", json=report),
        # A signed id of an account that is not an SMS provider's.
        hook_client.post(_path(settings, webhook_id), json=report),
        hook_client.post(good, content=b"{not json", headers={"Content-Type": "text/plain"}),
    ]
    assert [r.status_code for r in statuses] == [404, 404, 404, 404, 404, 400]
