"""The segment builder in real Chromium: three conditions, the live count after each, save,
the card, and the members' CSV export."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from retentio.auth.models import Role
from retentio.consent.models import Channel
from retentio.settings import Settings
from tests.browser.conftest import PageErrors
from tests.browser.test_shell import _log_in
from tests.conftest import UserFactory
from tests.imports.page_helpers import immediate_worker
from tests.page_factories import Shop

pytestmark = pytest.mark.browser


def _add_condition(page: Page, picked: str) -> None:
    """Add a condition to the outer group and choose what it filters on, from the keyboard's
    point of view: the new condition's picker has the focus."""
    root = page.locator("[data-testid=rule-group]").first
    root.locator(":scope > .rule-actions [data-add-condition]").click()
    picker = page.locator("[data-testid=rule-condition]").last.locator("[data-field-picker]")
    expect(picker).to_be_focused()
    picker.select_option(picked)


def test_build_save_and_export_a_three_condition_segment(
    page: Page, live_server: str, make_user: UserFactory, settings: Settings, tmp_path: Path
) -> None:
    # given: three people in Kazan (two tagged vip, one of them reachable by e-mail) and a
    # reachable vip in Perm
    shop = Shop(settings.database_url)
    anna = shop.contact(first_name="Anna", city="Kazan", email="anna@example.ru", tags=["vip"])
    shop.contact(first_name="Boris", city="Kazan", email="boris@example.ru", tags=["vip"])
    shop.contact(first_name="Vera", city="Kazan", email="vera@example.ru")
    pavel = shop.contact(first_name="Pavel", city="Perm", email="pavel@example.ru", tags=["vip"])
    for contact in (anna, pavel):
        shop.consent(contact, Channel.EMAIL, granted=True)
    user = make_user(Role.MARKETER)
    errors = PageErrors(page)
    count = page.locator("[data-testid=preview-count]")

    with immediate_worker():
        _log_in(page, live_server, user.email)
        page.goto(f"{live_server}/segments/new")
        page.fill("[data-testid=segment-name]", "Kazan VIPs by e-mail")
        # then: an empty rule matches everyone
        expect(count).to_have_text("4")

        # when: city is Kazan
        _add_condition(page, "field:contact.city")
        first = page.locator("[data-testid=rule-condition]").nth(0)
        expect(first.locator("[data-operator]")).to_have_value("eq")
        first.locator("input[data-value]").fill("Kazan")
        expect(count).to_have_text("3")

        # when: has the tag vip
        _add_condition(page, "kind:tags")
        page.locator("[data-testid=rule-condition]").nth(1).locator("input[data-value]").fill("vip")
        expect(count).to_have_text("2")

        # when: reachable by e-mail (the first channel is chosen already)
        _add_condition(page, "kind:reachable")
        expect(count).to_have_text("1")
        expect(page.locator("[data-testid=preview-reachable]")).to_have_text(
            "E-mail 1 · SMS 0 · Telegram 0"
        )
        sample = page.locator("[data-testid=preview-sample] tbody tr")
        expect(sample).to_have_count(1)
        expect(sample.first).to_have_attribute("data-contact-id", str(anna))

        # when: saving
        page.click("[data-testid=save-segment]")

        # then: the card tells the rule and, once the refresh has run, lists its one member
        expect(page.locator("[data-testid=segment-name]")).to_contain_text("Kazan VIPs by e-mail")
        rule = page.locator("[data-testid=segment-rule]")
        expect(rule).to_contain_text("City is Kazan")
        expect(rule).to_contain_text("has any of the tags vip")
        expect(rule).to_contain_text("is reachable by E-mail")
        members = page.locator("[data-testid=members-table] tbody tr[data-contact-id]")
        for _attempt in range(20):
            if members.count() == 1:
                break
            page.wait_for_timeout(250)
            page.reload()
        expect(members).to_have_count(1)
        expect(page.locator("[data-testid=reachable-email]")).to_have_text("1")

        # when: exporting the members as CSV
        with page.expect_download() as download:
            page.click("[data-testid=export-csv]")
        saved = tmp_path / "members.csv"
        download.value.save_as(saved)

    # then: one row, Anna's
    with saved.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert [(r["retentio_id"], r["first_name"], r["email"]) for r in rows] == [
        (str(anna), "Anna", "anna@example.ru")
    ]
    assert errors.messages == []


def test_an_engine_error_shows_beside_the_nested_condition_it_names(
    page: Page, live_server: str, make_user: UserFactory, settings: Settings
) -> None:
    # given: two people, in Kazan and in Perm
    shop = Shop(settings.database_url)
    shop.contact(first_name="Anna", city="Kazan")
    shop.contact(first_name="Boris", city="Perm")
    errors = PageErrors(page)
    _log_in(page, live_server, make_user(Role.MARKETER).email)
    page.goto(f"{live_server}/segments/new")
    count = page.locator("[data-testid=preview-count]")
    expect(count).to_have_text("2")

    # when: a nested "any" group holding a text condition, its value not typed yet
    root = page.locator("[data-testid=rule-group]").first
    root.locator(":scope > .rule-actions [data-add-group]").click()
    inner = page.locator("[data-testid=rule-group]").nth(1)
    condition = inner.locator("[data-testid=rule-condition]").first
    picker = condition.locator("[data-field-picker]")
    expect(picker).to_be_focused()
    picker.select_option("field:contact.city")
    condition.locator("[data-operator]").select_option("starts_with")

    # then: the engine's message sits next to that condition, and the count waits
    expect(condition.locator("[data-rule-error]")).to_have_text("a text")
    expect(condition).to_have_class("rule-leaf rule-invalid")
    expect(root.locator(":scope > [data-rule-error]")).to_have_text("")

    # when: the value is typed
    condition.locator("input[data-value]").fill("Ka")

    # then: the error goes and the count follows
    expect(condition.locator("[data-rule-error]")).to_have_text("")
    expect(count).to_have_text("1")
    # Chromium logs every 4xx answer to fetch(); the 422 of the invalid rule is expected.
    rejected = "console: Failed to load resource: the server responded with a status of 422"
    assert [m for m in errors.messages if not m.startswith(rejected)] == []
