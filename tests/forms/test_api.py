"""The forms API: define, list, change (consent versions), switch off, read submissions."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.consent.models import ConsentEvent
from retentio.db import session_scope
from retentio.fields import service as fields_service
from retentio.fields.models import FieldEntity, FieldType
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.forms.conftest import CONSENT_TEXT, FormRef, newsletter, submit


@pytest.fixture
def marketer(client: TestClient, make_user: UserFactory) -> TestClient:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(Role.MARKETER).email)
    return client


def _create(api: TestClient, definition: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/forms", json=definition)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_marketer_creates_lists_reads_and_switches_off_a_form(
    marketer: TestClient, shop_source_id: int
) -> None:
    # when
    created = _create(marketer, newsletter(shop_source_id))
    # then
    assert (created["name"], created["views"], created["submissions"]) == ("Newsletter", 0, 0)
    assert created["conversion"] is None
    assert len(created["public_id"]) == 16
    assert created["consents"] == [
        {
            "key": "news",
            "channel": "email",
            "purpose": "marketing",
            "text": CONSENT_TEXT,
            "required": False,
            "version": "1",
            "history": [],
        }
    ]
    assert [f["id"] for f in marketer.get("/api/v1/forms").json()] == [created["id"]]
    assert marketer.get(f"/api/v1/forms/{created['id']}").json() == created
    # when: switched off
    assert marketer.delete(f"/api/v1/forms/{created['id']}").status_code == 204
    # then: still readable, no longer active
    assert marketer.get(f"/api/v1/forms/{created['id']}").json()["is_active"] is False


def test_changing_a_consent_text_starts_a_new_version(
    marketer: TestClient, shop_source_id: int, db: Session
) -> None:
    # given: one consent given to version 1
    created = _create(marketer, newsletter(shop_source_id))
    form = FormRef(created["id"], created["public_id"], shop_source_id)
    submit(marketer, form, values={"email": "anna@example.ru"}, consents={"news": True})
    # when: the name changes (the wording does not), then the wording changes
    marketer.patch(f"/api/v1/forms/{form.id}", json={"name": "News"})
    new_text = "I agree to receive news by e-mail, at most weekly."
    consent = {"key": "news", "channel": "email", "purpose": "marketing", "text": new_text}
    changed = marketer.patch(f"/api/v1/forms/{form.id}", json={"consents": [consent]}).json()
    submit(marketer, form, values={"email": "boris@example.ru"}, consents={"news": True})
    # then: version 2, with the first wording kept as proof
    assert (changed["name"], changed["consents"][0]["version"]) == ("News", "2")
    assert changed["consents"][0]["history"] == [{"version": "1", "text": CONSENT_TEXT}]
    versions = db.scalars(select(ConsentEvent.text_version).order_by(ConsentEvent.id))
    assert list(versions) == ["1", "2"]


def test_submissions_are_listed_newest_first(marketer: TestClient, shop_source_id: int) -> None:
    created = _create(marketer, newsletter(shop_source_id))
    form = FormRef(created["id"], created["public_id"], shop_source_id)
    for email in ("a@example.ru", "b@example.ru", "c@example.ru"):
        submit(marketer, form, values={"email": email})
    page = marketer.get(f"/api/v1/forms/{form.id}/submissions", params={"limit": 2}).json()
    assert [s["data"]["values"]["email"] for s in page] == ["c@example.ru", "b@example.ru"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fields": [{"name": "n", "label": "Name", "maps_to": "first_name"}]}, "fields"),
        (
            {"fields": [{"name": "e", "label": "E-mail", "maps_to": "email", "kind": "text"}]},
            "fields.0.kind",
        ),
        (
            {
                "fields": [
                    {"name": "e", "label": "E-mail", "maps_to": "email", "kind": "email"},
                    {"name": "e", "label": "Name", "maps_to": "first_name"},
                ]
            },
            "fields.1.name",
        ),
        (
            {
                "fields": [
                    {"name": "e", "label": "E-mail", "maps_to": "email", "kind": "email"},
                    {"name": "s", "label": "Size", "maps_to": "custom.shoe_size"},
                ]
            },
            "fields.1.maps_to",
        ),
        ({"source_id": 999}, "source_id"),
        ({"fields": [{"name": "e", "label": "E", "maps_to": "nickname"}]}, "fields.0.maps_to"),
    ],
)
def test_a_bad_definition_is_422_naming_the_field(
    marketer: TestClient, shop_source_id: int, change: dict[str, Any], field: str
) -> None:
    definition = {**newsletter(shop_source_id), **change}
    response = marketer.post("/api/v1/forms", json=definition)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    assert marketer.get("/api/v1/forms").json() == []


def test_a_custom_field_is_filled_with_its_type(
    marketer: TestClient, shop_source_id: int, settings: Settings, db: Session
) -> None:
    # given: a contact custom field "has_dog" (yes/no) and a form asking it with a checkbox
    with session_scope(settings.database_url) as session:
        fields_service.define_field(
            session, entity=FieldEntity.CONTACT, key="has_dog", label="Dog", type=FieldType.BOOLEAN
        )
    fields = [
        {"name": "email", "label": "E-mail", "maps_to": "email", "kind": "email"},
        {"name": "dog", "label": "I have a dog", "maps_to": "custom.has_dog", "kind": "checkbox"},
    ]
    created = _create(marketer, newsletter(shop_source_id, fields=fields, consents=[]))
    form = FormRef(created["id"], created["public_id"], shop_source_id)
    # when
    submit(marketer, form, values={"email": "anna@example.ru", "dog": True})
    # then
    contact = marketer.get("/api/v1/contacts", params={"q": "anna@example.ru"}).json()
    assert contact["items"][0]["custom"] == {"has_dog": True}


def test_an_analyst_may_not_manage_forms(
    client: TestClient, make_user: UserFactory, shop_source_id: int
) -> None:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(Role.ANALYST).email)
    assert client.get("/api/v1/forms").status_code == 403
    assert client.post("/api/v1/forms", json=newsletter(shop_source_id)).status_code == 403
