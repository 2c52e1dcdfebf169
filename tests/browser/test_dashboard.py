"""The dashboard in real Chromium: the revenue chart is drawn by the bundled Plotly.js."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from retentio.auth.models import Role
from retentio.db import utcnow
from retentio.settings import Settings
from tests.browser.conftest import PageErrors
from tests.browser.test_shell import _log_in
from tests.conftest import UserFactory
from tests.page_factories import Shop

pytestmark = pytest.mark.browser


def test_the_revenue_chart_renders(
    page: Page, live_server: str, make_user: UserFactory, settings: Settings
) -> None:
    # given: a few orders over the last weeks, and no network access for the page
    shop = Shop(settings.database_url)
    contact = shop.contact(first_name="Анна")
    for days, total in [(3, "1500.00"), (10, "700.00"), (40, "900.00"), (100, "300.00")]:
        shop.order(contact, total, placed_at=utcnow() - timedelta(days=days))
    user = make_user(Role.ANALYST)
    errors = PageErrors(page)
    outside: list[str] = []
    page.route(
        lambda url: not url.startswith(live_server),
        lambda route: (outside.append(route.request.url), route.abort()),
    )

    # when
    _log_in(page, live_server, user.email)

    # then: Plotly drew an SVG bar chart with one bar per week
    chart = page.locator("[data-testid=revenue-trend]")
    expect(chart).to_have_class(re.compile(r"\bjs-plotly-plot\b"))
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    expect(chart.locator("g.trace.bars g.point")).to_have_count(26)
    expect(page.locator("[data-testid=kpi-revenue-value]")).to_have_text("RUB2,200.00")
    assert errors.messages == []
    assert outside == []


def test_the_chart_renders_on_an_empty_shop(
    page: Page, live_server: str, make_user: UserFactory
) -> None:
    user = make_user(Role.SALES)
    errors = PageErrors(page)
    _log_in(page, live_server, user.email)
    expect(page.locator("[data-testid=revenue-trend] svg.main-svg").first).to_be_visible()
    expect(page.locator("[data-testid=no-profiles]")).to_be_visible()
    assert errors.messages == []
