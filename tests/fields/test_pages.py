"""The custom fields settings page, and custom fields in the contact form."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.contacts.models import Contact
from retentio.fields.models import CustomFieldDefinition, FieldEntity, FieldType
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.page_factories import Shop


@pytest.fixture
def shop(settings: Settings) -> Shop:
    return Shop(settings.database_url)


def test_admin_adds_a_choice_field(client: TestClient, make_user: UserFactory, db: Session) -> None:
    token = log_in(client, make_user(Role.ADMIN).email)
    response = client.post(
        "/settings/fields",
        data={
            "csrf_token": token,
            "entity": "company",
            "key": "segment",
            "label": "Сегмент",
            "type": "choice",
            "choices": "SMB\nEnterprise",
            "required": "true",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    field = db.scalars(select(CustomFieldDefinition)).one()
    assert (field.entity, field.key, field.label, field.type, field.choices, field.required) == (
        FieldEntity.COMPANY,
        "segment",
        "Сегмент",
        FieldType.CHOICE,
        ["SMB", "Enterprise"],
        True,
    )
    assert 'data-field-key="segment"' in client.get("/settings/fields").text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"key": "Bad Key", "type": "string"}, "key", "must start with a letter"),
        ({"key": "taken", "type": "string"}, "key", "exists"),
        ({"key": "tier", "type": "choice"}, "choices", "at least one choice"),
        ({"key": "x", "type": "string", "label": ""}, "label", "label"),
        ({"key": "x", "type": "colour"}, "type", "type"),
    ],
)
def test_bad_definitions_are_explained_next_to_the_field(
    client: TestClient,
    make_user: UserFactory,
    shop: Shop,
    db: Session,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    shop.field("taken", FieldType.STRING)
    token = log_in(client, make_user(Role.ADMIN).email)
    response = client.post(
        "/settings/fields",
        data={"csrf_token": token, "entity": "contact", "label": "Label", **data},
    )
    assert response.status_code in (409, 422)
    error = re.search(rf'data-field-error="{field}">([^<]*)<', response.text)
    assert error
    assert message in error.group(1)
    assert db.scalars(select(CustomFieldDefinition.key)).all() == ["taken"]


def test_renaming_a_label_keeps_stored_values(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given
    field = shop.field("card", FieldType.STRING, label="Card")
    contact = shop.contact(first_name="A", custom={"card": "A-77"})
    token = log_in(client, make_user(Role.ADMIN).email)
    # when
    client.post(f"/settings/fields/{field}/label", data={"csrf_token": token, "label": "Карта"})
    empty = client.post(f"/settings/fields/{field}/label", data={"csrf_token": token, "label": ""})
    # then
    assert empty.status_code == 200
    definition = db.get(CustomFieldDefinition, field)
    stored = db.get(Contact, contact)
    assert definition is not None
    assert stored is not None
    assert definition.label == "Карта"
    assert stored.custom == {"card": "A-77"}
    assert "<dt>Карта</dt><dd>A-77</dd>" in client.get(f"/contacts/{contact}").text


@pytest.mark.parametrize("role", [Role.MARKETER, Role.SALES, Role.ANALYST])
def test_only_admins_manage_fields(client: TestClient, make_user: UserFactory, role: Role) -> None:
    token = log_in(client, make_user(role).email)
    assert client.get("/settings/fields").status_code == 403
    response = client.post(
        "/settings/fields",
        data={"csrf_token": token, "entity": "contact", "key": "x", "label": "X", "type": "string"},
    )
    assert response.status_code == 403


def test_contact_form_renders_each_type_and_stores_typed_values(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given
    shop.field("since", FieldType.DATE)
    shop.field("vip", FieldType.BOOLEAN)
    shop.field("tier", FieldType.CHOICE, choices=["gold", "silver"])
    shop.field("likes", FieldType.MULTI_CHOICE, choices=["tea", "coffee", "cocoa"])
    shop.field("visits", FieldType.NUMBER)
    token = log_in(client, make_user(Role.MARKETER).email)
    # when
    form = client.get("/contacts/new").text
    client.post(
        "/contacts/new",
        data={
            "csrf_token": token,
            "first_name": "A",
            "custom.since": "2024-02-29",
            "custom.vip": "true",
            "custom.tier": "gold",
            "custom.likes": ["cocoa", "tea"],
            "custom.visits": "12,5",
        },
    )
    # then
    assert 'type="date" name="custom.since"' in form
    assert '<select name="custom.vip"' in form
    assert 'type="checkbox" name="custom.likes" value="coffee"' in form
    contact = db.scalars(select(Contact)).one()
    assert contact.custom == {
        "since": "2024-02-29",
        "vip": True,
        "tier": "gold",
        "likes": ["tea", "cocoa"],
        "visits": 12.5,
    }
    edit = client.get(f"/contacts/{contact.id}/edit").text
    assert 'name="custom.likes" value="cocoa" checked' in edit
    assert '<option value="true" selected>' in edit
