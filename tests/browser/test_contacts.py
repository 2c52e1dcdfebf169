"""Contacts in real Chromium: create through the form, find, open, add a note."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from retentio.auth.models import Role
from tests.browser.conftest import PageErrors
from tests.conftest import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def test_create_find_open_and_note_a_contact(
    page: Page, live_server: str, make_user: UserFactory
) -> None:
    # given: a marketer logged in
    user = make_user(Role.MARKETER)
    errors = PageErrors(page)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("Dashboard")

    # when: creating a contact through the form
    page.click("nav a[data-area=contacts]")
    page.click("[data-testid=new-contact]")
    form = page.locator("[data-testid=contact-form]")
    form.locator("input[name=first_name]").fill("Анна")
    form.locator("input[name=last_name]").fill("Ёлкина")
    form.locator("input[name=email]").fill("anna.yolkina@example.ru")
    form.locator("input[name=phone]").fill("8 (912) 345-67-89")
    form.locator("input[name=tags]").fill("vip")
    form.locator("button[type=submit]").click()
    # then: its card opens
    expect(page.locator("[data-testid=contact-name]")).to_contain_text("Анна Ёлкина")
    expect(page.locator("[data-testid=phones]")).to_contain_text("+79123456789")

    # when: searching for it in the list
    page.click("nav a[data-area=contacts]")
    page.fill("[data-testid=filters] input[name=q]", "ёлкина")
    page.click("[data-testid=filters] button[type=submit]")
    rows = page.locator("[data-testid=contacts-table] tbody tr[data-contact-id]")
    expect(rows).to_have_count(1)
    rows.first.locator("a").first.click()

    # when: adding a note from the card
    expect(page.locator("[data-testid=contact-name]")).to_contain_text("Анна Ёлкина")
    page.fill("[data-testid=note-form] textarea[name=body]", "Позвонить после праздников")
    page.click("[data-testid=note-form] button[type=submit]")
    # then: it heads the timeline
    first = page.locator("[data-testid=timeline] li").first
    expect(first).to_have_attribute("data-kind", "note")
    expect(first).to_contain_text("Позвонить после праздников")
    expect(first).to_contain_text(user.name)
    assert errors.messages == []
