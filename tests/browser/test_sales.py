"""The deals board in real Chromium: a card dragged to the next stage lands in its column, the
deal's card shows the move in its stage history, and the funnel counts the deal as having
reached that stage; then the same deal moved again with the keyboard through its "Move to…"
form."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect

from retentio.db import utcnow
from retentio.settings import Settings
from tests.browser.conftest import PageErrors, screenshot
from tests.browser.test_shell import _log_in
from tests.conftest import UserFactory
from tests.sales.conftest import Sales

pytestmark = pytest.mark.browser


def test_a_deal_is_dragged_to_the_next_stage_and_moved_on_with_the_keyboard(
    page: Page, live_server: str, app: FastAPI, settings: Settings, make_user: UserFactory
) -> None:
    # given a pipeline and a deal in its first stage
    sales = Sales(settings.database_url, app, make_user)
    first, second, third = sales.pipeline.stages[:3]
    deal_id = sales.deal("Поставка кофемашин", amount="120000", at=utcnow())
    errors = PageErrors(page)
    _log_in(page, live_server, sales.admin.email)
    page.goto(f"{live_server}/deals")
    card = page.locator(f"[data-testid=deal-card-{deal_id}]")
    expect(
        page.locator(f"[data-testid=column-{first}] [data-testid=deal-card-{deal_id}]")
    ).to_be_visible()
    expect(page.locator(f"[data-testid=reached-{second}]")).to_have_text("0")

    # when the card is dragged to the second column
    card.drag_to(page.locator(f"[data-testid=column-{second}] .kanban-cards"))

    # then it is shown in that column, and the funnel counts the deal in the second stage
    moved = page.locator(f"[data-testid=column-{second}] [data-testid=deal-card-{deal_id}]")
    expect(moved).to_be_visible()
    expect(page.locator(f"[data-testid=reached-{second}]")).to_have_text("1")
    expect(page.locator(f"[data-testid=column-{second}] [data-column-count]")).to_have_text("1")
    screenshot(page, "deals-board.png")

    # when the card is focused and moved on to the third stage with the keyboard
    moved.focus()
    page.keyboard.press("Tab")  # the title's link
    page.keyboard.press("Tab")  # the "Move to…" select
    page.select_option(f"[data-testid=move-select-{deal_id}]", str(third))
    page.locator(f"[data-testid=move-button-{deal_id}]").press("Enter")

    # then it is in the third column, and the funnel counts it there
    expect(
        page.locator(f"[data-testid=column-{third}] [data-testid=deal-card-{deal_id}]")
    ).to_be_visible()
    expect(page.locator(f"[data-testid=reached-{third}]")).to_have_text("1")

    # and the deal's card lists the stays in the three stages
    page.goto(f"{live_server}/deals/{deal_id}")
    history = page.locator("[data-testid=stage-history] tbody tr")
    expect(history).to_have_count(3)
    expect(page.locator(f"[data-testid=stay-{second}]")).to_be_visible()
    expect(page.locator("[data-testid=deal-stage]")).to_have_text(
        page.locator(f"[data-testid=stay-{third}] td").first.inner_text()
    )
    screenshot(page, "deal-card.png")
    assert errors.messages == []
