"""A campaign in real Chromium: created through the form with a second variant, sent now by
the worker into a file sink, and its card with the sent count and both charts drawn."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect
from sqlalchemy import select

from retentio.auth.models import Role
from retentio.db import session_scope, utcnow
from retentio.messaging import service as messaging
from retentio.messaging.models import Message
from retentio.settings import Settings
from tests.browser.conftest import PageErrors, screenshot
from tests.browser.test_shell import _log_in
from tests.campaigns.conftest import Shop
from tests.conftest import UserFactory
from tests.imports.page_helpers import immediate_worker

pytestmark = pytest.mark.browser


def test_create_send_and_read_a_campaign(
    page: Page, live_server: str, make_user: UserFactory, settings: Settings, tmp_path: Path
) -> None:
    # given ten contacts with e-mail consent in a segment, and an account writing to files
    shop = Shop(settings.database_url, tmp_path / "outbox")
    segment = shop.segment(shop.contacts(10), name="Подписчики")
    account = shop.account()
    errors = PageErrors(page)
    page.on("dialog", lambda dialog: _accept(dialog))

    with immediate_worker():
        _log_in(page, live_server, make_user(Role.MARKETER).email)
        page.click("nav a[data-area=campaigns]")
        page.click("[data-testid=new-campaign]")

        # when the form is filled in, with a second variant added
        page.fill("[data-testid=campaign-name]", "Весна")
        page.select_option("select[name=account_id]", str(account))
        page.select_option("select[name=segment_id]", str(segment))
        page.fill("input[name=holdout_share]", "20")
        page.fill("input[name=variants-0-subject]", "Скидки")
        page.fill("textarea[name=variants-0-text]", "Весна пришла!")
        page.click("[data-testid=add-variant]")
        expect(page.locator("[data-testid=variant]")).to_have_count(2)
        expect(page.locator("input[name=variants-0-subject]")).to_have_value("Скидки")
        page.fill("input[name=variants-1-subject]", "Весна")
        page.fill("textarea[name=variants-1-text]", "Весна!")
        page.click("[data-testid=save-campaign]")

        # then the card shows a draft; sending it now starts it through the worker
        expect(page.locator("[data-testid=campaign-status]")).to_have_text("Draft")
        page.click("[data-testid=send-now]")
        expect(page.locator("[data-testid=campaign-status]")).to_have_text(
            "Sending", timeout=15_000
        )

    # and eight are sent (two held out): the sent count on the card
    expect(page.locator("[data-figure=sent]")).to_have_text("8", timeout=15_000)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 8

    # when some open and click, the card draws the effect and the timeline
    with session_scope(settings.database_url) as session:
        for message in session.scalars(select(Message)).all()[:4]:
            messaging.record_open(session, message.id, now=utcnow())
            messaging.record_click(session, message.id, "https://shop.example", now=utcnow())
    page.reload()
    expect(page.locator("[data-figure=unique_opens]")).to_have_text("4")
    expect(page.locator("[data-chart=timeline] .main-svg").first).to_be_visible()
    expect(page.locator("[data-chart=effect] .main-svg").first).to_be_visible()
    expect(page.locator("[data-testid=variants-table] tbody tr")).to_have_count(2)
    screenshot(page, "campaign-card.png")
    assert errors.messages == []


def _accept(dialog: Dialog) -> None:
    dialog.accept()
