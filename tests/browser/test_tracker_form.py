"""A visitor on a shop's own site, in real Chromium: the tracker and an embedded form.

The shop is a second HTTP server on another port, hence another origin: every call to Retentio
is cross-origin, exactly as on a real shop, and goes through CORS.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.consent.models import ConsentEvent
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.events import sources
from retentio.events.models import Event
from retentio.forms import service as forms_service
from retentio.forms.models import WebForm
from retentio.forms.schemas import FormIn
from retentio.settings import Settings
from tests.browser.conftest import PageErrors
from tests.conftest import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.browser

CONSENT = "I agree to receive news and offers by e-mail."
HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop home</title>
<link rel="icon" href="data:,">
<script src="{crm}/t.js" data-write-key="{key}" async></script></head>
<body><h1>Shop</h1><a id="to-product" href="/product.html">Winter boots</a></body></html>
"""
PRODUCT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Winter boots</title>
<link rel="icon" href="data:,">
<script src="{crm}/t.js" data-write-key="{key}" async></script></head>
<body><h1>Winter boots</h1>
<button id="add" type="button"
  onclick="retentio.cartAdd({{id: 'sku-1', name: 'Winter boots', price: 4990, quantity: 1}})">
  Add to cart</button>
<h2>Subscribe</h2>
<div data-retentio-form="{form}"></div>
<script src="{crm}/f/{form}.js" async></script>
</body></html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """The shop's access log would only clutter the test output."""


@dataclass(frozen=True)
class Shop:
    origin: str
    folder: Path

    def publish(self, name: str, html: str) -> None:
        (self.folder / name).write_text(html, encoding="utf-8")


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    folder = tmp_path / "shop"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Shop(origin=f"http://127.0.0.1:{server.server_address[1]}", folder=folder)
    server.shutdown()
    thread.join(timeout=10)


def _set_up_crm(settings: Settings, shop_origin: str) -> tuple[str, str, int]:
    """A tracking source allowing the shop, and a form on it: (write key, public id, form id)."""
    with session_scope(settings.database_url) as session:
        source = sources.create_source(
            session, name="Shop", allowed_origins=[shop_origin], actor_id=None
        )
        definition = {
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
            ],
            "consents": [
                {"key": "news", "channel": "email", "purpose": "marketing", "text": CONSENT}
            ],
            "success_message": "Thanks, you are subscribed!",
            "source_id": source.id,
        }
        form = forms_service.create_form(session, FormIn.model_validate(definition), actor_id=None)
        return source.write_key, form.public_id, form.id


def _is_post(path: str) -> Any:
    def matches(response: Response) -> bool:
        return response.request.method == "POST" and response.url.split("?")[0].endswith(path)

    return matches


def test_a_visitor_from_a_campaign_browses_adds_to_cart_and_subscribes(
    page: Page,
    browser: Browser,
    live_server: str,
    shop: Shop,
    settings: Settings,
    db: Session,
    make_user: UserFactory,
) -> None:
    # given: a shop with the tracker on every page and the form on the product page
    key, public_id, form_id = _set_up_crm(settings, shop.origin)
    shop.publish("index.html", HOME.format(crm=live_server, key=key))
    shop.publish("product.html", PRODUCT.format(crm=live_server, key=key, form=public_id))
    errors = PageErrors(page)

    # when: the visitor lands from an ad, then opens the product
    with page.expect_response(_is_post("/collect")) as landing:
        page.goto(f"{shop.origin}/?utm_source=yandex&utm_medium=cpc&utm_campaign=spring")
    assert landing.value.status == 200
    with (
        page.expect_response(_is_post("/collect")) as second,
        page.expect_response(_is_post(f"/f/{public_id}/view")) as viewed,
    ):
        page.click("#to-product")
    assert (second.value.status, viewed.value.status) == (200, 204)

    # and: adds the boots to the cart
    with page.expect_response(_is_post("/collect")) as cart:
        page.click("#add")
    assert cart.value.status == 200

    # and: subscribes through the embedded form
    page.get_by_label("E-mail", exact=True).fill("Anna.Ivanova@Example.ru")
    page.get_by_label("Your name", exact=True).fill("Anna")
    page.get_by_label(CONSENT).check()
    with page.expect_response(_is_post(f"/f/{public_id}/submit")) as sent:
        page.get_by_role("button", name="Send").click()
    assert sent.value.status == 201
    expect(page.get_by_role("status")).to_have_text("Thanks, you are subscribed!")

    # then: one person, with the campaign and the whole visit on their record
    db.expire_all()
    [contact] = db.scalars(
        select(Contact).where(
            Contact.email == "anna.ivanova@example.ru", Contact.deleted_at.is_(None)
        )
    ).all()
    assert (contact.first_name, contact.utm_source, contact.utm_campaign) == (
        "Anna",
        "yandex",
        "spring",
    )
    alive = db.scalars(select(Contact.id).where(Contact.deleted_at.is_(None))).all()
    assert alive == [contact.id]
    events = db.scalars(select(Event).order_by(Event.occurred_at, Event.id)).all()
    assert sorted(e.type for e in events) == ["cart_add", "form_submit", "page_view", "page_view"]
    assert {e.contact_id for e in events} == {contact.id}
    cart_add = next(e for e in events if e.type == "cart_add")
    assert cart_add.properties == {
        "id": "sku-1",
        "name": "Winter boots",
        "price": 4990,
        "quantity": 1,
    }
    assert cart_add.context["campaign"] == {"source": "yandex", "medium": "cpc", "name": "spring"}
    consent = db.scalars(select(ConsentEvent)).one()
    assert (consent.contact_id, consent.channel, consent.granted, consent.text_version) == (
        contact.id,
        "email",
        True,
        "1",
    )
    assert consent.source == f"form:{form_id}"
    counters = db.execute(select(WebForm.views, WebForm.submissions)).one()
    assert tuple(counters) == (1, 1)
    assert errors.messages == []

    # and: the team sees it on the contact's card
    _contact_card_shows_the_visit(browser, live_server, make_user, contact.id)


def _contact_card_shows_the_visit(
    browser: Browser, live_server: str, make_user: UserFactory, contact_id: int
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    crm = context.new_page()
    try:
        admin = make_user(Role.ADMIN)
        crm.goto(f"{live_server}/login?next=/contacts/{contact_id}")
        crm.fill("input[name=email]", admin.email)
        crm.fill("input[name=password]", TEST_PASSWORD)
        crm.click("button[type=submit].primary")
        expect(crm.get_by_test_id("contact-name")).to_have_text("Anna")
        timeline = crm.get_by_test_id("timeline")
        events = timeline.locator("li[data-kind=event] .what code").all_inner_texts()
        assert sorted(events) == ["cart_add", "form_submit", "page_view", "page_view"]
        expect(crm.locator("dt:text-is('UTM') + dd")).to_contain_text("yandex")
    finally:
        context.close()


ACCOUNT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>My account</title>
<link rel="icon" href="data:,">
<script>
  window.retentio = window.retentio || [];
  retentio.push(["track", "early_call", {{}}]);
</script>
<script src="{crm}/t.js" data-write-key="{key}" async></script></head>
<body><h1>My account</h1>
<button id="login" type="button"
  onclick="retentio.identify('42', {{email: 'boris@example.ru', firstName: 'Boris'}})">
  Log in</button>
<button id="signup" type="button" onclick="retentio.track('signup', {{plan: 'pro'}})">
  Sign up</button>
</body></html>
"""


def test_calls_queued_before_loading_and_identify_reach_the_known_customer(
    page: Page, live_server: str, shop: Shop, settings: Settings, db: Session
) -> None:
    # given: a page that queues a call before the tracker has loaded
    key, _public_id, _form_id = _set_up_crm(settings, shop.origin)
    shop.publish("account.html", ACCOUNT.format(crm=live_server, key=key))
    errors = PageErrors(page)
    with page.expect_response(_is_post("/collect")) as loaded:
        page.goto(f"{shop.origin}/account.html")
    assert loaded.value.status == 200
    # when: the visitor logs in, then signs up
    with page.expect_response(_is_post("/collect")) as identified:
        page.click("#login")
    with page.expect_response(_is_post("/collect")) as tracked:
        page.click("#signup")
    assert (identified.value.status, tracked.value.status) == (200, 200)
    # then: everything, from before and after the login, is on the one known customer
    db.expire_all()
    [contact] = db.scalars(select(Contact).where(Contact.deleted_at.is_(None))).all()
    assert (contact.email, contact.first_name, contact.is_anonymous) == (
        "boris@example.ru",
        "Boris",
        False,
    )
    events = db.scalars(select(Event.type).where(Event.contact_id == contact.id)).all()
    assert sorted(events) == ["early_call", "identify", "page_view", "signup"]
    signup = db.scalars(select(Event).where(Event.type == "signup")).one()
    assert signup.properties == {"plan": "pro"}
    assert signup.context["page"]["title"] == "My account"
    assert errors.messages == []
