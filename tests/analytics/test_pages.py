"""The Analytics page (`/analytics`) on small hand-made shops, on both engines.

`levers_shop` (tests/analytics/conftest.py) gives the period 2026-01-01 … 2026-03-31 against
the 90 days before: revenue 200 → 450, conversion the weakest lever (−20 %).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from tests.analytics.helpers import PERIOD, contact, order, profile
from tests.conftest import UserFactory, log_in

SECTIONS = ("metrics", "levers", "cohorts", "rfm", "base", "p-alive", "deciles", "flow", "holdout")


@pytest.fixture
def analyst(client: TestClient, make_user: UserFactory) -> TestClient:
    log_in(client, make_user(Role.ANALYST).email)
    return client


def _row(html: str, attribute: str, key: str) -> list[str]:
    """The cells' text of the table row with `attribute="key"`."""
    match = re.search(rf'<tr {attribute}="{re.escape(key)}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={key}"
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]


def test_an_empty_shop_shows_every_section_and_says_what_is_missing(analyst: TestClient) -> None:
    # when
    response = analyst.get("/analytics")
    # then
    assert response.status_code == 200
    html = response.text
    assert "<h1>Analytics</h1>" in html
    for section in SECTIONS:
        assert f'data-testid="section-{section}"' in html
    assert 'data-testid="no-profiles"' in html
    assert 'data-testid="no-cohorts"' in html
    assert 'data-testid="no-flow"' in html
    assert 'data-chart="rfm"' in html
    assert 'data-chart="p_alive"' in html
    # the model check comes in its own request
    assert 'data-fragment="/analytics/calibration?fragment=1"' in html


def test_the_model_check_as_a_page_and_as_a_fragment(analyst: TestClient) -> None:
    # when
    page = analyst.get("/analytics/calibration")
    fragment = analyst.get("/analytics/calibration?fragment=1")
    # then: the same section, once inside the layout, once on its own
    assert page.status_code == fragment.status_code == 200
    assert "<h1>Model check</h1>" in page.text
    assert "<html" not in fragment.text
    assert "<h1>" not in fragment.text
    for html in (page.text, fragment.text):
        assert 'data-testid="section-holdout"' in html
        assert "There are no orders yet." in html


@pytest.mark.usefixtures("levers_shop")
def test_levers_of_two_periods_and_the_weakest(analyst: TestClient) -> None:
    # when
    html = analyst.get(f"/analytics?{PERIOD}").text
    # then: previous, current, change for each lever
    assert _row(html, "data-lever", "leads") == ["Leads", "4", "5", "+25%"]
    assert _row(html, "data-lever", "conversion") == ["Conversion weakest", "50%", "40%", "−20%"]
    assert _row(html, "data-lever", "average_check") == [
        "Average check", "RUB100.00", "RUB150.00", "+50%",
    ]  # fmt: skip
    assert _row(html, "data-lever", "purchases_per_customer") == [
        "Purchases per customer", "1", "1.5", "+50%",
    ]  # fmt: skip
    assert _row(html, "data-lever", "revenue")[:3] == ["Revenue", "RUB200.00", "RUB450.00"]
    assert "The weakest lever is Conversion: start there." in html
    assert "multiplies revenue by ×2.07" in html


@pytest.mark.usefixtures("levers_shop")
def test_metrics_against_the_previous_period(analyst: TestClient) -> None:
    html = analyst.get(f"/analytics?{PERIOD}").text
    assert _row(html, "data-metric", "revenue") == ["Revenue", "RUB450.00", "RUB200.00", "▲ 125%"]
    assert _row(html, "data-metric", "orders") == ["Orders", "3", "2", "▲ 50%"]
    assert _row(html, "data-metric", "buyers") == ["Buyers", "2", "2", "• 0%"]
    assert "Period: Jan 1, 2026 – Mar 31, 2026 (90 days)" in html
    assert "compared with Oct 3, 2025 – Dec 31, 2025" in html


@pytest.mark.usefixtures("levers_shop")
def test_metrics_by_city(analyst: TestClient) -> None:
    # when
    html = analyst.get(f"/analytics?{PERIOD}&group_by=city").text
    # then: Omsk (L1 … L4) and the contacts without a city (M1 … M5), unknown last
    omsk = _row(html, "data-group", "Omsk")
    assert omsk[0] == "Omsk"
    assert omsk[5:7] == ["1", "RUB150.00"]  # orders, revenue
    unknown = _row(html, "data-group", "")
    assert unknown[0] == "Unknown"
    assert unknown[5:7] == ["2", "RUB300.00"]
    assert html.index('data-group="Omsk"') < html.index('data-group=""')


@pytest.mark.parametrize(
    "query", ["start=2026-03-01&end=2026-01-01", "start=yesterday", "start=1960-01-01"]
)
def test_an_invalid_period_is_shown_and_the_default_used(analyst: TestClient, query: str) -> None:
    # when
    response = analyst.get(f"/analytics?{query}")
    # then
    assert response.status_code == 422
    assert 'data-testid="period-error"' in response.text
    assert "(90 days)" in response.text


def test_an_unknown_grouping_or_measure_falls_back(analyst: TestClient) -> None:
    response = analyst.get("/analytics?group_by=planet&measure=mood")
    assert response.status_code == 200
    assert 'data-testid="groups-table"' not in response.text
    assert '<option value="retention" selected>' in response.text


def test_the_page_needs_a_login(client: TestClient) -> None:
    response = client.get("/analytics", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_the_model_check_on_a_shop_that_fits(analyst: TestClient, db: Session) -> None:
    # given: 20 one-time buyers and 10 regulars over 91 days (as in test_holdout)
    for _ in range(20):
        order(db, contact(db, "Once"), "2025-01-10")
    for _ in range(10):
        regular = contact(db, "Regular")
        for placed in ("2025-01-01", "2025-02-01", "2025-03-01", "2025-03-20", "2025-04-01"):
            order(db, regular, placed)
    # when
    html = analyst.get("/analytics/calibration?fragment=1").text
    # then: the dates, the buckets and both charts
    assert "Calibration: Jan 1, 2025 – Mar 2, 2025; holdout: Mar 3, 2025 – Apr 1, 2025." in html
    assert _row(html, "data-bucket", "0")[:3] == ["0", "20", "0"]
    assert _row(html, "data-bucket", "2")[:3] == ["2", "10", "2"]
    assert 'data-chart="holdout_buckets"' in html
    assert 'data-chart="holdout_tracking"' in html
    assert '"holdout": {"buckets"' in html


@pytest.mark.usefixtures("levers_shop")
def test_metrics_by_rfm_segment_in_the_segments_order(analyst: TestClient, db: Session) -> None:
    # given: the lost segment sorts before champions by key, not in the page
    lost, champion = contact(db, "Lost"), contact(db, "Champion")
    profile(db, lost, rfm_segment="lost")
    profile(db, champion, rfm_segment="champions")
    order(db, champion, "2026-03-01", "500.00")
    # when
    html = analyst.get(f"/analytics?{PERIOD}&group_by=rfm_segment").text
    # then: Champions, Lost, then the contacts without a profile
    assert _row(html, "data-group", "champions")[0] == "Champions"
    assert _row(html, "data-group", "champions")[5:7] == ["1", "RUB500.00"]
    assert _row(html, "data-group", "")[0] == "Unknown"
    positions = [html.index(f'data-group="{key}"') for key in ("champions", "lost", "")]
    assert positions == sorted(positions)
