"""`POST /api/v1/messaging/bounces` through the real app: an API token with the marketing
permission is required; items are matched by Message-ID or by address, unknown ones listed back
by index; a retried batch records nothing twice; invalid items are refused whole with 422
naming the item and the field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth import service as auth_service
from retentio.auth.models import Role, User
from retentio.consent.models import Channel, Purpose, Suppression, SuppressionReason
from retentio.consent.service import current_consent
from retentio.db import session_scope
from retentio.messaging import queries, service
from retentio.messaging.models import EventKind, MessageEvent, MessageState
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.settings import Settings
from tests.conftest import UserFactory
from tests.messaging.conftest import World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
PATH = "/api/v1/messaging/bounces"


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _token(settings: Settings, make_user: UserFactory, role: Role) -> dict[str, str]:
    user = make_user(role)
    with session_scope(settings.database_url) as session:
        owner = session.get(User, user.id)
        assert owner is not None
        _, secret = auth_service.create_token(session, owner, name="esp relay")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def marketer(settings: Settings, make_user: UserFactory) -> dict[str, str]:
    return _token(settings, make_user, Role.MARKETER)


class Mail:
    """E-mails as the sender leaves them: sent, with their address and Message-ID."""

    def __init__(self, settings: Settings, world: World) -> None:
        self.url = settings.database_url
        self.account_id, self.content_id = world.smtp_account(2525), world.content()

    def __call__(self, contact_id: int, address: str, step: str, at: datetime = NOW) -> int:
        with session_scope(self.url) as session:
            key = OutboxKey("campaign", 1, step, contact_id)
            new = NewMessage(key, self.account_id, self.content_id, Purpose.MARKETING)
            message, _ = service.enqueue(session, new, now=at)
            message.state, message.address, message.claimed_at = MessageState.SENT, address, at
            message.provider_message_id = f"<m{message.id}.ab12@shop.example>"
            return message.id


@pytest.fixture
def mail(settings: Settings, world: World) -> Mail:
    return Mail(settings, world)


def test_a_token_with_the_marketing_permission_is_required(
    api: TestClient, settings: Settings, make_user: UserFactory
) -> None:
    body = {"bounces": [{"email": "a@example.org", "type": "hard"}]}
    analyst = _token(settings, make_user, Role.ANALYST)
    responses = [
        api.post(PATH, json=body),
        api.post(PATH, json=body, headers={"Authorization": "Bearer rt_forged"}),
        api.post(PATH, json=body, headers=analyst),
    ]
    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
        # Neither token nor cookie: the app-wide CSRF check refuses it before anything else.
        (403, "csrf_failed"),
        (401, "not_authenticated"),
        (403, "permission_denied"),
    ]


def test_items_are_matched_by_message_id_or_address_and_unknown_ones_listed(
    api: TestClient,
    db: Session,
    world: World,
    mail: Mail,
    marketer: dict[str, str],
) -> None:
    # given
    anna = world.contact(email="anna@example.org")
    boris = world.contact(email="boris@example.org")
    first = mail(anna, "anna@example.org", "first", NOW)
    latest = mail(anna, "anna@example.org", "latest", NOW.replace(hour=13))
    to_boris = mail(boris, "boris@example.org", "first")
    body: dict[str, Any] = {
        "bounces": [
            {"message_id": f"<m{first}.ab12@shop.example>", "type": "soft", "detail": "452"},
            {"message_id": f"m{to_boris}.ab12@shop.example", "type": "hard", "detail": "550"},
            {"email": " Anna@Example.org ", "type": "complaint"},
            {"message_id": "<nobody@elsewhere>", "type": "hard"},
            {"email": "nobody@example.org", "type": "hard"},
            {
                "message_id": "<m999999.x@shop.example>",
                "email": "anna@example.org",
                "type": "soft",
                "occurred_at": "2026-03-02T15:00:00+03:00",
            },
        ]
    }
    # when
    response = api.post(PATH, json=body, headers=marketer)
    # then
    assert response.status_code == 200, response.text
    assert response.json() == {
        "recorded": 4,
        "duplicates": 0,
        "unknown": 2,
        "unknown_items": [
            {"index": 3, "reason": "unknown_message_id"},
            {"index": 4, "reason": "unknown_address"},
        ],
    }
    assert queries.events_of(db, first) == [(EventKind.BOUNCE_SOFT, None)]
    assert queries.events_of(db, latest) == [
        (EventKind.COMPLAINT, None),
        (EventKind.BOUNCE_SOFT, None),
    ]
    assert queries.events_of(db, to_boris) == [(EventKind.BOUNCE_HARD, None)]
    soft = db.scalar(
        select(MessageEvent.occurred_at).where(
            MessageEvent.message_id == latest, MessageEvent.kind == EventKind.BOUNCE_SOFT
        )
    )
    assert soft == NOW
    reasons = db.execute(select(Suppression.address, Suppression.reason).order_by(Suppression.id))
    assert [tuple(r) for r in reasons] == [
        ("boris@example.org", SuppressionReason.HARD_BOUNCE),
        ("anna@example.org", SuppressionReason.COMPLAINT),
    ]
    assert current_consent(db, anna)[(Channel.EMAIL, Purpose.MARKETING)] is False
    # and the same batch again changes nothing
    again = api.post(PATH, json=body, headers=marketer).json()
    assert (again["recorded"], again["duplicates"], again["unknown"]) == (0, 4, 2)
    assert len(db.scalars(select(MessageEvent.id)).all()) == 4


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"email": "a@example.org", "type": "bounced"}, "bounces.1.type"),
        ({"type": "hard"}, "bounces.1.email"),
        ({"email": "not-an-address", "type": "hard"}, "bounces.1.email"),
        (
            {"email": "a@example.org", "type": "hard", "occurred_at": "2026-03-02T12:00:00"},
            "bounces.1.occurred_at",
        ),
        ({"email": "a@example.org", "type": "hard", "extra": 1}, "bounces.1.extra"),
    ],
)
def test_an_invalid_item_refuses_the_batch_naming_its_index_and_field(
    api: TestClient,
    db: Session,
    world: World,
    mail: Mail,
    marketer: dict[str, str],
    item: dict[str, Any],
    field: str,
) -> None:
    message_id = mail(world.contact(email="anna@example.org"), "anna@example.org", "s")
    valid = {"message_id": f"<m{message_id}.ab12@shop.example>", "type": "hard"}
    response = api.post(PATH, json={"bounces": [valid, item]}, headers=marketer)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert queries.events_of(db, message_id) == []


def test_an_empty_batch_is_refused(api: TestClient, marketer: dict[str, str]) -> None:
    response = api.post(PATH, json={"bounces": []}, headers=marketer)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["bounces"]
