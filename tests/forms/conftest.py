"""Fixtures of the web-form tests: a shop's tracking source and a newsletter form on it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from retentio.db import session_scope
from retentio.events import sources
from retentio.forms import service
from retentio.forms.schemas import FormIn
from retentio.settings import Settings

SHOP = "https://shop.example"
CONSENT_TEXT = "I agree to receive news and offers by e-mail."


@dataclass(frozen=True)
class FormRef:
    id: int
    public_id: str
    source_id: int | None


def newsletter(source_id: int | None, **overrides: Any) -> dict[str, Any]:
    """A typical definition: e-mail (required), first name, phone, one e-mail consent."""
    definition: dict[str, Any] = {
        "name": "Newsletter",
        "fields": [
            {
                "name": "email",
                "label": "E-mail",
                "maps_to": "email",
                "kind": "email",
                "required": True,
            },
            {"name": "name", "label": "Your name", "maps_to": "first_name"},
            {"name": "phone", "label": "Phone", "maps_to": "phone", "kind": "tel"},
        ],
        "consents": [
            {"key": "news", "channel": "email", "purpose": "marketing", "text": CONSENT_TEXT}
        ],
        "success_message": "Thanks!",
        "tag": "newsletter",
        "source_id": source_id,
    }
    return {**definition, **overrides}


@pytest.fixture
def shop_source_id(settings: Settings) -> int:
    with session_scope(settings.database_url) as session:
        return sources.create_source(session, name="Shop", allowed_origins=[SHOP], actor_id=None).id


@pytest.fixture
def make_form(settings: Settings, shop_source_id: int) -> Callable[..., FormRef]:
    def make(**overrides: Any) -> FormRef:
        with session_scope(settings.database_url) as session:
            form = service.create_form(
                session,
                FormIn.model_validate(
                    newsletter(overrides.pop("source_id", shop_source_id), **overrides)
                ),
                actor_id=None,
            )
            return FormRef(form.id, form.public_id, form.source_id)

    return make


@pytest.fixture
def form(make_form: Callable[..., FormRef]) -> FormRef:
    return make_form()


def submit(
    client: TestClient,
    form: FormRef,
    *,
    values: dict[str, Any],
    consents: dict[str, bool] | None = None,
    origin: str | None = SHOP,
    **extra: Any,
) -> Response:
    body = {"values": values, "consents": consents or {}, **extra}
    headers = {"Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    return client.post(f"/f/{form.public_id}/submit", content=json.dumps(body), headers=headers)
