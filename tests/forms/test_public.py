"""What a shop's visitor does with an embedded form: load it, be counted, submit it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.consent.models import ConsentEvent, ConsentState
from retentio.contacts.models import Contact, ContactTag, Tag
from retentio.db import session_scope
from retentio.events.models import Event
from retentio.events.schemas import EventIn
from retentio.events.service import ingest
from retentio.forms.models import FormSubmission, WebForm
from retentio.settings import Settings
from tests.forms.conftest import CONSENT_TEXT, SHOP, FormRef, submit

STRANGER = "https://evil.example"


def _count(db: Session, model: type) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model)) or 0


def _alive(db: Session) -> list[Contact]:
    db.expire_all()
    return list(db.scalars(select(Contact).where(Contact.deleted_at.is_(None))))


def test_a_submission_creates_the_contact_with_consent_tag_and_event(
    client: TestClient, form: FormRef, db: Session
) -> None:
    # when
    response = submit(
        client,
        form,
        values={"email": " Anna@Example.RU ", "name": "Анна", "phone": "8 912 345-67-89"},
        consents={"news": True},
        page_url="https://shop.example/landing",
    )
    # then: the page may read the answer
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == SHOP
    assert response.json()["message"] == "Thanks!"
    # and the contact is there, with what the form maps
    [contact] = _alive(db)
    assert (contact.email, contact.phone, contact.first_name) == (
        "anna@example.ru",
        "+79123456789",
        "Анна",
    )
    assert contact.is_anonymous is False
    tags = db.scalars(select(Tag.name).join(ContactTag).where(ContactTag.contact_id == contact.id))
    assert list(tags) == ["newsletter"]
    consent = db.scalars(select(ConsentEvent)).one()
    assert (consent.contact_id, consent.channel, consent.purpose, consent.granted) == (
        contact.id,
        "email",
        "marketing",
        True,
    )
    assert (consent.source, consent.text_version, consent.ip) == (
        f"form:{form.id}",
        "1",
        "testclient",
    )
    event = db.scalars(select(Event)).one()
    assert (event.contact_id, event.type, event.source_id) == (
        contact.id,
        "form_submit",
        form.source_id,
    )
    assert event.context["page"] == {"url": "https://shop.example/landing"}
    stored = db.scalars(select(FormSubmission)).one()
    assert stored.data == {
        "values": {"email": "anna@example.ru", "name": "Анна", "phone": "+79123456789"},
        "consents": {"news": "1"},
        "page_url": "https://shop.example/landing",
    }


def test_an_unticked_consent_records_nothing(
    client: TestClient, form: FormRef, db: Session
) -> None:
    response = submit(client, form, values={"email": "anna@example.ru"}, consents={"news": False})
    assert response.status_code == 201
    assert _count(db, ConsentEvent) == 0
    assert _count(db, ConsentState) == 0


def test_the_anonymous_visitor_history_joins_the_contact(
    client: TestClient, form: FormRef, settings: Settings, db: Session
) -> None:
    # given: the tracker saw a visitor arrive from a campaign and put something in the cart
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    campaign = {"source": "yandex", "medium": "cpc", "name": "spring"}
    with session_scope(settings.database_url) as session:
        events = [
            EventIn(
                message_id="p1",
                type="page_view",
                anonymous_id="aid-1",
                context={"campaign": campaign},
            ),
            EventIn(message_id="c1", type="cart_add", anonymous_id="aid-1"),
        ]
        ingest(session, events, source_id=form.source_id, default_region="RU", now=now)
    # when: the same browser sends the form
    submit(client, form, values={"email": "anna@example.ru", "name": "Anna"}, anonymous_id="aid-1")
    # then: one person, with the whole history and the campaign that brought them
    [contact] = _alive(db)
    assert (contact.email, contact.first_name, contact.utm_source) == (
        "anna@example.ru",
        "Anna",
        "yandex",
    )
    types = db.scalars(select(Event.type).where(Event.contact_id == contact.id).order_by(Event.id))
    assert list(types) == ["page_view", "cart_add", "form_submit"]


def test_a_known_customer_absorbs_the_anonymous_visitor(
    client: TestClient, form: FormRef, settings: Settings, db: Session
) -> None:
    # given: a known customer, and an anonymous visitor on another browser
    submit(client, form, values={"email": "anna@example.ru", "name": "Anna"})
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with session_scope(settings.database_url) as session:
        visit = EventIn(message_id="p1", type="page_view", anonymous_id="aid-2")
        ingest(session, [visit], source_id=None, default_region="RU", now=now)
    # when: the visitor sends the form with the customer's e-mail
    submit(client, form, values={"email": "ANNA@example.ru"}, anonymous_id="aid-2")
    # then
    [contact] = _alive(db)
    types = db.scalars(select(Event.type).where(Event.contact_id == contact.id).order_by(Event.id))
    assert list(types) == ["form_submit", "page_view", "form_submit"]


def test_sending_again_updates_the_same_contact_and_fills_only_empty_fields(
    client: TestClient, form: FormRef, db: Session
) -> None:
    # given
    submit(client, form, values={"email": "anna@example.ru", "name": "Anna"})
    # when: the same person sends again with another name and a phone
    again = submit(
        client, form, values={"email": "anna@example.ru", "name": "Annie", "phone": "+79123456789"}
    )
    # then: one contact; the name already known is kept, the new phone is added
    assert again.status_code == 201
    [contact] = _alive(db)
    assert (contact.first_name, contact.phone) == ("Anna", "+79123456789")
    assert _count(db, FormSubmission) == 2
    assert db.scalar(select(WebForm.submissions).where(WebForm.id == form.id)) == 2


def test_a_field_marked_overwrite_replaces_the_value(
    client: TestClient, make_form: Callable[..., FormRef], db: Session
) -> None:
    # given: a form whose city field replaces what the contact has
    fields = [
        {"name": "email", "label": "E-mail", "maps_to": "email", "kind": "email"},
        {"name": "city", "label": "City", "maps_to": "city", "overwrite": True},
    ]
    form = make_form(fields=fields, consents=[])
    submit(client, form, values={"email": "anna@example.ru", "city": "Пермь"})
    # when
    submit(client, form, values={"email": "anna@example.ru", "city": "Казань"})
    # then
    [contact] = _alive(db)
    assert contact.city == "Казань"


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"email": "not-an-email"}, "email", "invalid_email"),
        ({"email": "anna@example.ru", "phone": "12"}, "phone", "invalid_phone"),
        ({"name": "Anna"}, "email", "invalid_input"),
        ({"email": "anna@example.ru", "colour": "red"}, "colour", "invalid_input"),
        ({"email": "anna@example.ru", "name": "x" * 101}, "name", "invalid_input"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_stores_nothing(
    client: TestClient,
    form: FormRef,
    db: Session,
    values: dict[str, str],
    field: str,
    code: str,
) -> None:
    # when
    response = submit(client, form, values=values, consents={"news": True})
    # then: the page can read which field to mark
    error = response.json()["error"]
    assert response.status_code == 422
    assert response.headers["access-control-allow-origin"] == SHOP
    assert (error["code"], [d["field"] for d in error["details"]]) == (code, [field])
    # and nothing of the submission was kept
    assert [_count(db, m) for m in (Contact, FormSubmission, ConsentEvent, Event)] == [0, 0, 0, 0]
    assert db.scalar(select(WebForm.submissions).where(WebForm.id == form.id)) == 0


def test_a_required_consent_must_be_ticked(
    client: TestClient, make_form: Callable[..., FormRef], db: Session
) -> None:
    consent = {"key": "terms", "channel": "email", "purpose": "transactional", "text": "Terms"}
    form = make_form(consents=[{**consent, "required": True}])
    response = submit(client, form, values={"email": "anna@example.ru"}, consents={"terms": False})
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["consents.terms"]
    assert _count(db, Contact) == 0


def test_views_are_counted_and_give_the_conversion(admin_client: TestClient, form: FormRef) -> None:
    # when: four views and one submission
    for _ in range(4):
        view = admin_client.post(f"/f/{form.public_id}/view", headers={"Origin": SHOP})
        assert view.status_code == 204
        assert view.headers["access-control-allow-origin"] == SHOP
    submit(admin_client, form, values={"email": "anna@example.ru"})
    # then
    read = admin_client.get(f"/api/v1/forms/{form.id}").json()
    assert (read["views"], read["submissions"], read["conversion"]) == (4, 1, 25.0)


def test_another_origin_may_not_view_or_submit(
    client: TestClient, form: FormRef, db: Session
) -> None:
    # when
    view = client.post(f"/f/{form.public_id}/view", headers={"Origin": STRANGER})
    sent = submit(client, form, values={"email": "anna@example.ru"}, origin=STRANGER)
    # then
    assert (view.status_code, sent.status_code) == (403, 403)
    assert "access-control-allow-origin" not in view.headers
    assert "access-control-allow-origin" not in sent.headers
    assert _count(db, Contact) == 0
    assert db.scalar(select(WebForm.views).where(WebForm.id == form.id)) == 0


def test_preflight_of_the_submission(client: TestClient, form: FormRef) -> None:
    asking = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = client.options(f"/f/{form.public_id}/submit", headers={"Origin": SHOP, **asking})
    refused = client.options(f"/f/{form.public_id}/submit", headers={"Origin": STRANGER, **asking})
    assert (allowed.status_code, allowed.headers["access-control-allow-origin"]) == (204, SHOP)
    assert allowed.headers["access-control-allow-headers"] == "Content-Type"
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


def test_a_form_without_a_source_takes_no_cross_origin_posts(
    client: TestClient, make_form: Callable[..., FormRef]
) -> None:
    form = make_form(source_id=None)
    response = submit(client, form, values={"email": "anna@example.ru"})
    assert response.status_code == 403


def test_the_embed_script_carries_the_form_but_not_its_mapping(
    client: TestClient, form: FormRef
) -> None:
    # when
    response = client.get(f"/f/{form.public_id}.js")
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=60"
    assert f'"id": "{form.public_id}"' in response.text
    assert CONSENT_TEXT in response.text
    assert "maps_to" not in response.text
    assert "__RETENTIO_FORM__" not in response.text
    assert ".innerHTML" not in response.text


def test_user_text_cannot_break_out_of_the_embed_script(
    client: TestClient, make_form: Callable[..., FormRef]
) -> None:
    # given: a label written to end the script and open a tag
    fields = [
        {"name": "email", "label": '"});alert(1);</script><b>', "maps_to": "email", "kind": "email"}
    ]
    form = make_form(fields=fields)
    # when
    text = client.get(f"/f/{form.public_id}.js").text
    # then: it stays a JSON string
    assert '"label": "\\"});alert(1);</script><b>"' in text


def test_a_switched_off_form_draws_nothing_and_takes_nothing(
    admin_client: TestClient, form: FormRef, db: Session
) -> None:
    # given
    admin_client.delete(f"/api/v1/forms/{form.id}")
    # when
    script = admin_client.get(f"/f/{form.public_id}.js")
    sent = submit(admin_client, form, values={"email": "anna@example.ru"})
    # then
    assert (script.status_code, script.text) == (200, "/* Retentio: this form is switched off. */")
    assert sent.status_code == 410
    assert _count(db, Contact) == 0


def test_an_unknown_form_is_404(client: TestClient) -> None:
    assert client.get("/f/nope.js").status_code == 404
    assert client.post("/f/nope/view", headers={"Origin": SHOP}).status_code == 404
