"""A journey in real Chromium: the abandoned cart created from the gallery, activated on its
card, a `cart_add` event posted through the API, the worker's pass run, and the contact seen
waiting in the first step on the card."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from retentio.auth.models import Role
from retentio.db import session_scope
from retentio.events import sources
from retentio.journeys.tasks import advance_journeys
from retentio.settings import Settings
from tests.browser.conftest import PageErrors, screenshot
from tests.browser.test_shell import _log_in
from tests.conftest import UserFactory
from tests.imports.page_helpers import immediate_worker
from tests.journeys.conftest import Shop

pytestmark = pytest.mark.browser


def test_abandoned_cart_from_the_gallery_enrolls_a_cart(
    page: Page, live_server: str, make_user: UserFactory, settings: Settings, tmp_path: Path
) -> None:
    # given an e-mail account writing to files and a tracking source
    Shop(settings.database_url, tmp_path / "outbox").account()
    with session_scope(settings.database_url) as session:
        write_key = sources.create_source(
            session, name="Shop", allowed_origins=[], actor_id=None
        ).write_key
    errors = PageErrors(page)

    with immediate_worker():
        _log_in(page, live_server, make_user(Role.MARKETER).email)
        page.click("nav a[data-area=journeys]")
        page.click("[data-testid=journey-gallery]")

        # when the abandoned cart is created from its card and activated
        page.click("[data-testid=create-abandoned_cart]")
        expect(page.locator("[data-testid=journey-status]")).to_have_text("Draft")
        expect(page.locator("[data-testid=step-box]")).to_have_count(4)
        page.click("[data-testid=activate]")
        expect(page.locator("[data-testid=journey-status]")).to_have_text("Active")

        # and a cart is added on the site, and the worker makes its pass
        response = httpx.post(
            f"{live_server}/api/v1/events",
            json={
                "message_id": "cart-1",
                "type": "cart_add",
                "email": "anna@example.org",
                "properties": {"name": "Чайник"},
            },
            headers={"X-Write-Key": write_key},
        )
        assert response.status_code == 200
        advance_journeys.call_local()

    # then the card shows the contact waiting in the first step
    page.reload()
    rows = page.locator("[data-testid=enrollments-table] tbody tr[data-enrollment-id]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("a")).to_have_text("anna@example.org")
    expect(page.locator('[data-count="wait_2h:waiting"]')).to_have_text("1")
    expect(page.locator("[data-figure=enrolled]")).to_have_text("1")
    screenshot(page, "journey-card.png")
    assert errors.messages == []
