"""The Analytics page in real Chromium: every chart is drawn by the bundled Plotly.js."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.db import session_scope, utcnow
from retentio.settings import Settings
from tests.analytics.helpers import change, contact, order, profile
from tests.browser.conftest import PageErrors, screenshot
from tests.browser.test_shell import _log_in
from tests.conftest import UserFactory

pytestmark = pytest.mark.browser

CHARTS = (
    "levers",
    "cohorts",
    "rfm",
    "base",
    "p-alive",
    "deciles",
    "flow",
    "holdout-buckets",
    "holdout-tracking",
)


def _ago(days: int) -> str:
    return (utcnow() - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def seeded(settings: Settings) -> None:
    """40 customers over 200 days (half buying every 30 days), with profiles and stage moves."""
    with session_scope(settings.database_url) as db:
        _seed(db)


def _seed(db: Session) -> None:
    for n in range(40):
        buyer = contact(db, f"Buyer {n}")
        first = 200 - n
        days = range(first, 0, -30) if n % 2 == 0 else [first]
        for placed in days:
            order(db, buyer, _ago(placed), "1000.00")
        profile(
            db,
            buyer,
            r_score=1 + n % 5,
            f_score=1 + (n // 5) % 5,
            revenue=Decimal(1000 * len(days)),
            p_alive=(n + 0.5) / 40,
            clv_12m=Decimal(100 * n),
        )
        change(db, buyer, None, "purchase", _ago(first))
        if n % 2 == 0:
            change(db, buyer, "purchase", "loyalty", _ago(first - 30))


@pytest.mark.usefixtures("seeded")
def test_every_chart_renders(page: Page, live_server: str, make_user: UserFactory) -> None:
    # given: no network access for the page beyond the app
    user = make_user(Role.ANALYST)
    errors = PageErrors(page)
    outside: list[str] = []
    page.route(
        lambda url: not url.startswith(live_server),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    _log_in(page, live_server, user.email)
    # when
    page.click("nav a[data-area=analytics]")
    # then: Plotly drew each chart
    expect(page.locator("h1")).to_have_text("Analytics")
    for name in CHARTS:
        chart = page.locator(f"[data-testid=chart-{name}]")
        # The model check's charts come with a second request, which fits the model.
        expect(chart).to_have_class(re.compile(r"\bjs-plotly-plot\b"), timeout=30_000)
        expect(chart.locator("svg.main-svg").first).to_be_visible()
    expect(page.locator("[data-testid=chart-p-alive] g.trace.bars g.point")).to_have_count(20)
    expect(page.locator("[data-testid=holdout-problem]")).to_have_count(0)
    screenshot(page, "analytics.png")
    # and the cohort measure switches without a reload
    page.select_option("[data-cohort-measure]", "ltv")
    expect(page).to_have_url(re.compile(r"measure=ltv"))
    page.click("[data-testid=section-cohorts] summary")
    expect(page.locator("[data-cohort-table=ltv]")).to_be_visible()
    expect(page.locator("[data-cohort-table=retention]")).to_be_hidden()
    assert errors.messages == []
    assert outside == []


def test_an_empty_shop_has_no_errors(page: Page, live_server: str, make_user: UserFactory) -> None:
    user = make_user(Role.SALES)
    errors = PageErrors(page)
    _log_in(page, live_server, user.email)
    page.goto(f"{live_server}/analytics")
    expect(page.locator("[data-testid=chart-rfm] svg.main-svg").first).to_be_visible()
    expect(page.locator("[data-testid=holdout-problem]")).to_have_text(
        "There are no orders yet.", timeout=30_000
    )
    assert errors.messages == []
