"""The settings pages of web forms: list with counters, editor, the form's page."""

from __future__ import annotations

import html
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.forms.models import WebForm
from tests.conftest import UserFactory, log_in
from tests.forms.conftest import SHOP, FormRef, submit


def _editor_post(shop_source_id: int, **overrides: str) -> dict[str, str]:
    """What the editor posts for a newsletter form: two fields, one consent, a blank row each."""
    data = {
        "name": "Spring newsletter",
        "fields-0-label": "E-mail",
        "fields-0-name": "email",
        "fields-0-maps_to": "email",
        "fields-0-kind": "email",
        "fields-0-required": "true",
        "fields-1-label": "Name",
        "fields-1-name": "first_name",
        "fields-1-maps_to": "first_name",
        "fields-1-kind": "text",
        "fields-2-label": "",
        "fields-2-name": "",
        "fields-2-maps_to": "",
        "fields-2-kind": "text",
        "consents-0-text": "News by e-mail",
        "consents-0-key": "news",
        "consents-0-channel": "email",
        "consents-0-purpose": "marketing",
        "consents-1-text": "",
        "consents-1-key": "",
        "consents-1-channel": "email",
        "consents-1-purpose": "marketing",
        "success_message": "Thank you!",
        "tag": "spring",
        "source_id": str(shop_source_id),
        "is_active": "true",
    }
    return {**data, **overrides}


def _form(db: Session) -> WebForm:
    db.expire_all()
    return db.scalars(select(WebForm)).one()


def test_creating_a_form_in_the_editor_leads_to_its_page_with_the_snippet(
    admin_client: TestClient, shop_source_id: int, db: Session
) -> None:
    # given: the editor starts with an e-mail and a name field
    blank = admin_client.get("/settings/forms/new")
    assert blank.status_code == 200
    assert 'name="fields-0-maps_to"' in blank.text
    # when
    response = admin_client.post("/settings/forms/new", data=_editor_post(shop_source_id))
    # then: stored without the blank rows
    form = _form(db)
    assert response.status_code == 200  # followed the redirect to the form's page
    assert str(response.url).endswith(f"/settings/forms/{form.id}")
    assert [f["name"] for f in form.fields] == ["email", "first_name"]
    assert [(c["key"], c["version"]) for c in form.consents] == [("news", "1")]
    assert (form.tag, form.source_id, form.is_active) == ("spring", shop_source_id, True)
    snippet = re.search(r'data-testid="embed-snippet"><code>(.*?)</code>', response.text, re.S)
    assert snippet is not None
    assert html.unescape(snippet.group(1)) == (
        f'<div data-retentio-form="{form.public_id}"></div>\n'
        f'<script src="http://127.0.0.1:8000/f/{form.public_id}.js" async></script>'
    )


def test_a_rejected_definition_comes_back_as_typed_with_the_row_marked(
    admin_client: TestClient, shop_source_id: int, db: Session
) -> None:
    # when: the second field repeats the first field's key
    data = _editor_post(shop_source_id, **{"fields-1-name": "email"})
    response = admin_client.post("/settings/forms/new", data=data)
    # then
    assert response.status_code == 422
    assert "fields.1.name: &#39;email&#39; appears twice" in response.text
    marked = re.search(r'<input name="fields-1-name"[^>]*>', response.text)
    assert marked is not None
    assert 'aria-invalid="true"' in marked.group(0)
    assert 'value="Spring newsletter"' in response.text
    assert db.scalars(select(WebForm)).all() == []


def test_more_rows_adds_blank_rows_without_saving(
    admin_client: TestClient, shop_source_id: int, db: Session
) -> None:
    data = _editor_post(shop_source_id, action="more")
    response = admin_client.post("/settings/forms/new", data=data)
    assert response.status_code == 200
    assert 'name="fields-3-label"' in response.text
    assert 'name="consents-2-text"' in response.text
    assert db.scalars(select(WebForm)).all() == []


def test_editing_the_consent_text_shows_a_new_version_and_removed_rows_go(
    admin_client: TestClient, shop_source_id: int, db: Session
) -> None:
    # given
    admin_client.post("/settings/forms/new", data=_editor_post(shop_source_id))
    form_id = _form(db).id
    # when: the consent is reworded and the name field removed
    data = _editor_post(
        shop_source_id,
        **{"consents-0-text": "News and offers by e-mail", "fields-1-delete": "true"},
    )
    page = admin_client.post(f"/settings/forms/{form_id}/edit", data=data)
    # then
    form = _form(db)
    assert [f["name"] for f in form.fields] == ["email"]
    assert [(c["text"], c["version"]) for c in form.consents] == [
        ("News and offers by e-mail", "2")
    ]
    assert re.findall(r'data-testid="consent-version">(\d+)<', page.text) == ["2"]


def test_the_list_shows_views_submissions_and_conversion(
    admin_client: TestClient, form: FormRef
) -> None:
    # given: 8 views, 2 submissions
    for _ in range(8):
        admin_client.post(f"/f/{form.public_id}/view", headers={"Origin": SHOP})
    for email in ("a@example.ru", "b@example.ru"):
        submit(admin_client, form, values={"email": email})
    # when
    page = admin_client.get("/settings/forms")
    card = admin_client.get(f"/settings/forms/{form.id}")
    # then
    row = re.search(rf'<tr data-form-id="{form.id}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    ]
    assert cells == ["Newsletter", "Shop", "Accepting submissions", "8", "2", "25 %"]
    assert 'data-testid="form-conversion">25 %<' in card.text
    assert "a@example.ru" in card.text


def test_the_settings_hub_links_to_forms(admin_client: TestClient) -> None:
    assert 'href="/settings/forms"' in admin_client.get("/settings").text


def test_a_marketer_may_open_the_pages_and_an_analyst_may_not(
    client: TestClient, make_user: UserFactory, form: FormRef
) -> None:
    pages: list[Any] = ["/settings/forms", "/settings/forms/new", f"/settings/forms/{form.id}"]
    log_in(client, make_user(Role.MARKETER).email)
    assert [client.get(p).status_code for p in pages] == [200, 200, 200]
    client.cookies.clear()
    log_in(client, make_user(Role.ANALYST).email)
    assert [client.get(p).status_code for p in pages] == [403, 403, 403]
