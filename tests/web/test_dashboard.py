"""The dashboard (`/`) on a small hand-made shop, on both engines.

Orders are placed relative to the real clock (the page reads `utcnow()`), well inside the two
30-day windows C = [now − 30 d, now) and P = [now − 60 d, now − 30 d); activity is 365 days.

    contact  purchases (days before now, amount)                  notes
    A        40: 1000, 5: 2000 refunded 500 (earns 1500)
    B        45: 600
    C        10: 300, 3: 999 cancelled                            new in C
    D        400: 100                                             active at now − 60 d only

    C: orders 2, revenue 1800, buyers 2, check 900; active at start {A, B}, at end {A, B, C},
       new {C}: retention (3 − 1) / 2 = 100 %, churn 0 / 2 = 0 %.
    P: orders 2, revenue 1600, buyers 2, check 800; active at start {D}, at end {A, B},
       new {A, B}: retention (2 − 2) / 1 = 0 %, churn 1 / 1 = 100 %.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retentio.commerce.models import OrderStatus
from retentio.db import session_scope, utcnow
from retentio.feedback.models import Ticket, TicketKind, TicketPriority, TicketStatus
from retentio.profiles.models import Profile
from retentio.settings import Settings
from retentio.web.dashboard import weekly_revenue
from tests.page_factories import Shop


def _ago(days: int) -> datetime:
    return utcnow() - timedelta(days=days)


@pytest.fixture
def shop(settings: Settings) -> Shop:
    shop = Shop(settings.database_url)
    a = shop.contact(first_name="A")
    shop.order(a, "1000.00", placed_at=_ago(40))
    shop.order(a, "2000.00", placed_at=_ago(5), status=OrderStatus.REFUNDED, refunded="500.00")
    b = shop.contact(first_name="B")
    shop.order(b, "600.00", placed_at=_ago(45))
    c = shop.contact(first_name="C")
    shop.order(c, "300.00", placed_at=_ago(10))
    shop.order(c, "999.00", placed_at=_ago(3), status=OrderStatus.CANCELLED)
    d = shop.contact(first_name="D")
    shop.order(d, "100.00", placed_at=_ago(400))
    return shop


def _card(html: str, key: str) -> str:
    match = re.search(rf'data-testid="kpi-{key}".*?</div>\s*</div>', html, re.S)
    assert match, f"no KPI card {key}"
    return re.sub(r"\s+", " ", match.group(0))


def _text(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no element {testid}"
    return re.sub(r"\s+", " ", match.group(1)).strip()


@pytest.mark.usefixtures("shop")
def test_kpis_of_the_last_30_days_against_the_previous_30(admin_client: TestClient) -> None:
    # when
    html = admin_client.get("/").text
    # then: the values
    assert _text(html, "kpi-revenue-value") == "RUB1,800.00"
    assert _text(html, "kpi-orders-value") == "2"
    assert _text(html, "kpi-buyers-value") == "2"
    assert _text(html, "kpi-average_check-value") == "RUB900.00"
    assert _text(html, "kpi-active_base-value") == "3"
    assert _text(html, "kpi-retention_rate-value") == "100%"
    assert _text(html, "kpi-churn_rate-value") == "0%"
    # and the changes, coloured by whether they are good news
    revenue = _card(html, "revenue")
    assert "▲ 12.5%" in revenue
    assert "kpi-change good" in revenue
    assert "was RUB1,600.00" in revenue
    assert "▲ 12.5%" in _card(html, "average_check")
    orders = _card(html, "orders")
    assert "• 0%" in orders
    assert "good" not in orders
    assert "bad" not in orders
    assert "▲ 50%" in _card(html, "active_base")
    assert "▲ 100 pp" in _card(html, "retention_rate")
    churn = _card(html, "churn_rate")
    assert "▼ 100 pp" in churn
    assert "kpi-change good" in churn
    assert "was 100%" in churn


def test_rising_churn_is_bad_news(admin_client: TestClient, settings: Settings) -> None:
    # given: A bought 100 days ago; B bought 380 days ago, so B was active (365-day window)
    # at now − 60 d and now − 30 d but is not now
    shop = Shop(settings.database_url)
    shop.order(shop.contact(first_name="A"), "100.00", placed_at=_ago(100))
    shop.order(shop.contact(first_name="B"), "100.00", placed_at=_ago(380))
    # when
    html = admin_client.get("/").text
    # then: B is lost in the last 30 days, nobody was in the 30 before
    churn = _card(html, "churn_rate")
    assert _text(html, "kpi-churn_rate-value") == "50%"
    assert "▲ 50 pp" in churn
    assert "kpi-change bad" in churn


@pytest.mark.usefixtures("shop")
def test_the_revenue_trend_is_drawn_from_weekly_totals(admin_client: TestClient) -> None:
    html = admin_client.get("/").text
    match = re.search(r'id="revenue-trend-data">(.*?)</script>', html, re.S)
    assert match
    chart = json.loads(match.group(1))
    assert len(chart["x"]) == len(chart["y"]) == 26
    assert sum(chart["y"]) == pytest.approx(1000 + 1500 + 600 + 300)  # D's order is too old
    assert 'data-plotly-src="/static/vendor/plotly.min.js?v=' in html


def test_weekly_revenue_buckets_by_calendar_week(db: Session, settings: Settings) -> None:
    # given: today is Wednesday 2026-03-18, so the last week starts on Monday 2026-03-16
    shop = Shop(settings.database_url)
    a = shop.contact(first_name="A")
    for placed, total in [
        ("2026-03-16T00:00:00", "10.00"),  # Monday of the last week
        ("2026-03-15T23:59:59", "20.00"),  # Sunday of the week before
        ("2026-03-09T08:00:00", "5.50"),  # Monday of the week before
        ("2025-09-22T12:00:00", "7.00"),  # Monday of the first week (25 weeks back)
        ("2025-09-21T12:00:00", "99.00"),  # the Sunday before: outside
    ]:
        shop.order(a, total, placed_at=datetime.fromisoformat(placed).replace(tzinfo=UTC))
    shop.order(
        a, "50.00", placed_at=datetime(2026, 3, 17, tzinfo=UTC), status=OrderStatus.CANCELLED
    )
    # when
    weeks = weekly_revenue(db, date(2026, 3, 18))
    # then
    assert len(weeks) == 26
    assert weeks[0].start == date(2025, 9, 22)
    assert weeks[0].revenue == Decimal("7.00")
    assert weeks[-1].start == date(2026, 3, 16)
    assert weeks[-1].revenue == Decimal("10.00")
    assert weeks[-2].revenue == Decimal("25.50")
    assert sum(w.revenue for w in weeks) == Decimal("42.50")


def test_profile_breakdowns_and_the_top_action(
    admin_client: TestClient, settings: Settings
) -> None:
    # given: profiles as a recompute would leave them
    shop = Shop(settings.database_url)
    ids = shop.contacts(5)
    rows = [
        ("cant_lose", "high", "1200.00"),
        ("cant_lose", "medium", "800.50"),
        ("at_risk", "high", "300.00"),
        ("champions", "low", "5000.00"),
        (None, None, "0"),
    ]
    with session_scope(settings.database_url) as session:
        for contact_id, (segment, band, revenue) in zip(ids, rows, strict=True):
            session.add(
                Profile(
                    contact_id=contact_id,
                    rfm_segment=segment,
                    churn_band=band,
                    revenue=Decimal(revenue),
                    lifecycle_stage="loyalty",
                    computed_at=utcnow(),
                )
            )
    # when
    html = admin_client.get("/").text
    # then
    assert _text(html, "top-action").startswith(
        "<strong>2 Can't Lose customers worth RUB2,000.50 — plan a win-back."
    )
    assert 'href="/segments"' in html
    bands = re.findall(r'data-band="(\w*)"><td>([^<]+)</td><td class="num">(\d+)<', html)
    assert bands == [
        ("low", "Low", "1"),
        ("medium", "Medium", "1"),
        ("high", "High", "2"),
        ("lost", "Lost", "0"),
        ("", "No band", "1"),
    ]
    segments = re.findall(r'data-segment="(\w*)"><td>[^<]+</td><td class="num">(\d+)<', html)
    assert segments == [("cant_lose", "2"), ("at_risk", "1"), ("champions", "1"), ("", "1")]
    assert 'data-testid="no-profiles"' not in html


def test_the_top_action_falls_back_to_at_risk(admin_client: TestClient, settings: Settings) -> None:
    shop = Shop(settings.database_url)
    (contact_id,) = shop.contacts(1)
    with session_scope(settings.database_url) as session:
        session.add(
            Profile(
                contact_id=contact_id,
                rfm_segment="at_risk",
                churn_band="high",
                revenue=Decimal("300.00"),
                lifecycle_stage="loyalty",
                computed_at=utcnow(),
            )
        )
    html = admin_client.get("/").text
    assert "1 At Risk customers worth RUB300.00" in _text(html, "top-action")


def test_an_empty_database_renders(admin_client: TestClient) -> None:
    # when
    response = admin_client.get("/")
    # then
    assert response.status_code == 200
    html = response.text
    assert _text(html, "kpi-revenue-value") == "RUB0.00"
    assert _text(html, "kpi-average_check-value") == "—"
    assert _text(html, "kpi-retention_rate-value") == "—"
    assert "Run `retentio recompute` to compute customer profiles." in html
    assert 'data-testid="top-action"' not in html


@pytest.mark.usefixtures("shop")
def test_the_dashboard_in_russian(admin_client: TestClient) -> None:
    html = admin_client.get("/", headers={"Accept-Language": "ru"}).text
    assert "<h1>Дашборд</h1>" in html
    revenue = _text(html, "kpi-revenue-value")  # Russian groups with a (narrow) no-break space
    assert re.fullmatch(r"1\s800,00\s₽", revenue), revenue
    assert 'data-locale="ru"' in html


def test_plotly_is_served_from_the_installed_package(client: TestClient) -> None:
    response = client.get("/static/vendor/plotly.min.js")
    assert response.status_code == 200
    assert "plotly.js" in response.text[:200]
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in response.headers["cache-control"]


def _ticket(db: Session, kind: TicketKind, **times: Any) -> None:
    status = TicketStatus.RESOLVED if times.get("resolved_at") else TicketStatus.OPEN
    db.add(
        Ticket(
            subject=kind.value,
            kind=kind,
            priority=TicketPriority.NORMAL,
            status=status,
            created_at=_ago(2),
            **times,
        )
    )


@pytest.mark.usefixtures("shop")
def test_service_figures(admin_client: TestClient, db: Session) -> None:
    # given, in the last 30 days (3 orders placed): a complaint answered and resolved in time,
    # a claim past both targets with no answer, and a question still within its targets
    hour = timedelta(hours=1)
    _ticket(
        db,
        TicketKind.COMPLAINT,
        first_response_due_at=_ago(1),
        first_response_at=_ago(2) + hour,
        resolution_due_at=_ago(0) - hour,
        resolved_at=_ago(1),
    )
    _ticket(db, TicketKind.CLAIM, first_response_due_at=_ago(1), resolution_due_at=_ago(0) - hour)
    _ticket(
        db,
        TicketKind.QUESTION,
        first_response_due_at=_ago(0) + hour,
        resolution_due_at=_ago(0) + 2 * hour,
    )
    db.commit()
    # when the dashboard is opened
    html = admin_client.get("/").text
    # then 2 complaints per 3 orders, half of the settled targets met, one ticket breached
    assert _text(html, "complaints-per-orders").startswith("666.67")
    assert _text(html, "sla-first") == "50%"
    assert _text(html, "sla-resolution") == "50%"
    assert '<dd data-testid="sla-breached"><a href="/tickets">1</a></dd>' in html
