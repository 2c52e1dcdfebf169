"""The page shell in real Chromium: log in, switch language, visit every area."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from retentio.auth.models import Role
from retentio.web.navigation import AREAS
from tests.browser.conftest import PageErrors, screenshot
from tests.conftest import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def _log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("Dashboard")


def test_login_language_switch_and_every_area(
    page: Page, live_server: str, make_user: UserFactory
) -> None:
    # given
    admin = make_user(Role.ADMIN)
    errors = PageErrors(page)
    _log_in(page, live_server, admin.email)
    screenshot(page, "dashboard.png")

    # when: switching to Russian
    page.click("[data-testid=locale-switch] button[value=ru]")
    # then
    expect(page.locator("h1")).to_have_text("Дашборд")
    expect(page.locator("nav a[data-area=contacts]")).to_have_text("Контакты")
    expect(page.locator("html")).to_have_attribute("lang", "ru")

    # when: reloading keeps the choice, and switching back restores English
    page.reload()
    expect(page.locator("h1")).to_have_text("Дашборд")
    page.click("[data-testid=locale-switch] button[value=en]")
    expect(page.locator("h1")).to_have_text("Dashboard")

    # then: every area of the navigation opens without an error
    for area in AREAS:
        page.click(f"nav a[data-area={area.key}]")
        expect(page).to_have_url(f"{live_server}{area.path}")
        expect(page.locator("h1")).to_have_text(area.label)
        assert page.locator("[data-testid=error-message]").count() == 0
    assert errors.messages == []


def test_language_choice_is_remembered_for_the_user(
    page: Page, live_server: str, make_user: UserFactory
) -> None:
    # given: a user who chose Russian, then logged out
    user = make_user(Role.MARKETER)
    _log_in(page, live_server, user.email)
    page.click("[data-testid=locale-switch] button[value=ru]")
    page.click("[data-testid=logout]")
    page.context.clear_cookies()
    # when: logging in again from a fresh browser session
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    # then
    expect(page.locator("h1")).to_have_text("Дашборд")


def test_phone_layout_has_a_menu_button(
    page: Page, live_server: str, make_user: UserFactory
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    user = make_user(Role.ANALYST)
    _log_in(page, live_server, user.email)
    nav = page.locator("#sidenav")
    expect(nav).to_be_hidden()
    page.click("[data-nav-toggle]")
    expect(nav).to_be_visible()
    page.click("nav a[data-area=analytics]")
    expect(page.locator("h1")).to_have_text("Analytics")
