"""Sales figures (`sales.analytics`) against hand-computed examples, on both engines.

The shop (`shop` fixture) is the default pipeline — new 10 %, qualification 25 %, proposal 50 %,
negotiation 75 %, won, lost — and the period March 2026. Times are offsets from START in hours:

| deal | created | moves                                          | amount | owner  | source     |
|------|---------|------------------------------------------------|--------|--------|------------|
| D1   | 0       | →qualif. 1, →proposal 3, →negot. 6, →won 10    | 1000   | admin  | site/yandex|
| D2   | 0       | →proposal 2 (skips qualification)              | 2000   | admin  | expo       |
| D3   | 0       | →qualif. 1, →lost 5 ("Дорого")                 | 300    | admin  | —          |
| D4   | 0       | →qualif. after the period                      | 400    | admin  | —          |
| D5   | 0       | →qualif. 3                                     | 5000   | seller | site       |
| D6   | Feb 19  | →lost 1 ("Нет бюджета")                        | 500    | admin  | —          |
| D7   | Feb 24  | created in negotiation                         | 1000   | admin  | —          |
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from retentio.db import session_scope
from retentio.forms.models import WebForm
from retentio.sales import analytics, service
from retentio.sales.analytics import Breakdown, ForecastMonth, FormConversion, LostReasonRow
from retentio.sales.models import StageKind
from retentio.sales.schemas import ConvertIn
from tests.sales.conftest import REGION, Sales

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 4, 1, tzinfo=UTC)
T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = 3600.0


def at(hours: float) -> datetime:
    return T + timedelta(hours=hours)


@dataclass
class Shop:
    sales: Sales
    seller: User
    deals: dict[str, int]

    def stage(self, index: int) -> int:
        return self.sales.pipeline.stages[index]


@pytest.fixture
def shop(sales: Sales) -> Shop:
    seller = sales.user(Role.SALES)
    p = sales.pipeline
    qualification, proposal, negotiation = p.stages[1:4]
    deals = {
        "D1": sales.deal(
            "D1", at=T, amount=Decimal("1000"), source="site", utm={"utm_source": "yandex"}
        ),
        "D2": sales.deal(
            "D2", at=T, amount=Decimal("2000"), source="expo", expected_close_on=date(2026, 4, 15)
        ),
        "D3": sales.deal("D3", at=T, amount=Decimal("300")),
        "D4": sales.deal("D4", at=T, amount=Decimal("400"), expected_close_on=date(2026, 4, 20)),
        "D5": sales.deal(
            "D5",
            at=T,
            owner_id=seller.id,
            amount=Decimal("5000"),
            source="site",
            expected_close_on=date(2026, 5, 3),
        ),
        "D6": sales.deal("D6", at=SINCE - timedelta(days=10), amount=Decimal("500")),
        "D7": sales.deal(
            "D7", at=SINCE - timedelta(days=5), amount=Decimal("1000"), stage_id=negotiation
        ),
    }
    sales.move(deals["D1"], qualification, at=at(1))
    sales.move(deals["D1"], proposal, at=at(3))
    sales.move(deals["D1"], negotiation, at=at(6))
    sales.move(deals["D1"], p.won, at=at(10))
    sales.move(deals["D2"], proposal, at=at(2))
    sales.move(deals["D3"], qualification, at=at(1))
    sales.move(deals["D3"], p.lost, at=at(5), lost_reason_id=sales.lost_reason("Дорого"))
    sales.move(deals["D4"], qualification, at=UNTIL + timedelta(hours=1))
    sales.move(deals["D5"], qualification, at=at(3))
    sales.move(deals["D6"], p.lost, at=at(1), lost_reason_id=sales.lost_reason("Нет бюджета"))
    return Shop(sales, seller, deals)


def _user(shop: Shop, who: str) -> User:
    return shop.sales.admin if who == "admin" else shop.seller


def _funnel(
    shop: Shop, user: User
) -> list[tuple[str, StageKind, int, int, float | None, float | None]]:
    with session_scope(shop.sales.url) as session:
        steps = analytics.funnel(
            session, shop.sales.pipeline.id, user=user, since=SINCE, until=UNTIL
        )
    return [(s.name, s.kind, s.reached, s.moved_on, s.conversion, s.avg_seconds) for s in steps]


def test_the_funnel_counts_reached_moved_on_and_completed_stays_per_step(shop: Shop) -> None:
    # when
    steps = _funnel(shop, shop.sales.admin)
    # then: D6 and D7 were created before the period; D4's move after it is not seen; D2 passed
    # qualification by skipping it (it counts there, with no stay); D3 got as far as
    # qualification (its lost stage is no step); still-running stays have no length
    assert steps == [
        ("Новая", StageKind.OPEN, 5, 4, 0.8, (1 + 2 + 1 + 3) / 4 * HOUR),
        ("Квалификация", StageKind.OPEN, 4, 2, 0.5, (2 + 4) / 2 * HOUR),
        ("Предложение", StageKind.OPEN, 2, 1, 0.5, 3 * HOUR),
        ("Переговоры", StageKind.OPEN, 1, 1, 1.0, 4 * HOUR),
        ("Успешно", StageKind.WON, 1, 0, None, None),
    ]


def test_a_sales_users_funnel_counts_only_their_deals(shop: Shop) -> None:
    # when
    steps = _funnel(shop, shop.seller)
    # then: only D5, which sits in qualification
    assert steps == [
        ("Новая", StageKind.OPEN, 1, 1, 1.0, 3 * HOUR),
        ("Квалификация", StageKind.OPEN, 1, 0, 0.0, None),
        ("Предложение", StageKind.OPEN, 0, 0, None, None),
        ("Переговоры", StageKind.OPEN, 0, 0, None, None),
        ("Успешно", StageKind.WON, 0, 0, None, None),
    ]


def test_a_deal_moved_back_counts_once_and_still_moved_on(sales: Sales) -> None:
    # given: new → proposal → qualification → proposal
    p = sales.pipeline
    deal = sales.deal("Back and forth", at=T)
    sales.move(deal, p.stages[2], at=at(1))
    sales.move(deal, p.stages[1], at=at(2))
    sales.move(deal, p.stages[2], at=at(4))
    # when
    with session_scope(sales.url) as session:
        steps = analytics.funnel(session, p.id, user=sales.admin, since=SINCE, until=UNTIL)
    # then: two stays in proposal, one of them completed (1 h)
    assert [(s.reached, s.moved_on, s.avg_seconds) for s in steps] == [
        (1, 1, 1 * HOUR),
        (1, 1, 2 * HOUR),
        (1, 0, 1 * HOUR),
        (0, 0, None),
        (0, 0, None),
    ]


@pytest.mark.parametrize(("who", "expected"), [("admin", 1 / 3), ("seller", None)])
def test_the_win_rate_is_won_over_closed_in_the_period(
    shop: Shop, who: str, expected: float | None
) -> None:
    # when
    with session_scope(shop.sales.url) as session:
        rate = analytics.win_rate(
            session, shop.sales.pipeline.id, user=_user(shop, who), since=SINCE, until=UNTIL
        )
    # then: D1 won; D3 and D6 (made before the period, lost in it) lost; the seller closed none
    assert rate == expected


def test_lost_reasons_count_deals_and_amounts_lost_in_the_period(shop: Shop) -> None:
    # when
    with session_scope(shop.sales.url) as session:
        rows = analytics.lost_reasons(
            session, shop.sales.pipeline.id, user=shop.sales.admin, since=SINCE, until=UNTIL
        )
    # then
    assert [(r.name, r.deals, r.amount) for r in rows] == [
        ("Дорого", 1, Decimal("300.00")),
        ("Нет бюджета", 1, Decimal("500.00")),
    ]
    assert all(isinstance(r, LostReasonRow) and r.reason_id for r in rows)


def test_the_forecast_weighs_open_deals_by_stage_probability_per_month(shop: Shop) -> None:
    # when
    with session_scope(shop.sales.url) as session:
        months = analytics.forecast(session, shop.sales.pipeline.id, user=shop.sales.admin)
    # then: April: D2 in proposal 2000 × 50 % + D4 (qualification now) 400 × 25 %;
    # May: D5 5000 × 25 %; no date: D7 1000 × 75 %
    assert months == [
        ForecastMonth(date(2026, 4, 1), 2, Decimal("2400.00"), Decimal("1100.00")),
        ForecastMonth(date(2026, 5, 1), 1, Decimal("5000.00"), Decimal("1250.00")),
        ForecastMonth(None, 1, Decimal("1000.00"), Decimal("750.00")),
    ]


def test_a_sales_users_forecast_has_only_their_deals(shop: Shop) -> None:
    # when
    with session_scope(shop.sales.url) as session:
        months = analytics.forecast(session, shop.sales.pipeline.id, user=shop.seller)
    # then
    assert months == [ForecastMonth(date(2026, 5, 1), 1, Decimal("5000.00"), Decimal("1250.00"))]


@pytest.fixture
def leads(shop: Shop) -> Shop:
    """L1 site/yandex, L2 site, L3 expo (the seller's) in the period; L4 site before it."""
    shop.sales.lead("L1", name="Ира", at=at(0), source="site", utm={"utm_source": "yandex"})
    shop.sales.lead("L2", name="Оля", at=at(0), source="site")
    shop.sales.lead("L3", name="Петя", at=at(0), source="expo", owner_id=shop.seller.id)
    shop.sales.lead("L4", name="Вася", at=SINCE - timedelta(days=1), source="site")
    return shop


def _breakdown(shop: Shop, by: analytics.Dimension, user: User) -> list[Breakdown]:
    with session_scope(shop.sales.url) as session:
        return analytics.breakdown(
            session, shop.sales.pipeline.id, by, user=user, since=SINCE, until=UNTIL
        )


def test_leads_and_revenue_by_source(leads: Shop) -> None:
    # when
    rows = _breakdown(leads, "source", leads.sales.admin)
    # then: deals created in the period D1, D5 (site), D2 (expo), D3, D4; won D1
    assert rows == [
        Breakdown("site", None, leads=2, deals=2, won=1, revenue=Decimal("1000.00")),
        Breakdown("expo", None, leads=1, deals=1, won=0, revenue=Decimal("0")),
        Breakdown(None, None, leads=0, deals=2, won=0, revenue=Decimal("0")),
    ]


def test_leads_and_revenue_by_utm_source(leads: Shop) -> None:
    # when
    rows = _breakdown(leads, "utm_source", leads.sales.admin)
    # then
    assert rows == [
        Breakdown("yandex", None, leads=1, deals=1, won=1, revenue=Decimal("1000.00")),
        Breakdown(None, None, leads=2, deals=4, won=0, revenue=Decimal("0")),
    ]


def test_leads_and_revenue_by_manager(leads: Shop) -> None:
    # when
    rows = _breakdown(leads, "owner", leads.sales.admin)
    # then: L1 and L2 have no manager
    admin, seller = leads.sales.admin, leads.seller
    assert rows == [
        Breakdown(admin.name, admin.id, leads=0, deals=4, won=1, revenue=Decimal("1000.00")),
        Breakdown(None, None, leads=2, deals=0, won=0, revenue=Decimal("0")),
        Breakdown(seller.name, seller.id, leads=1, deals=1, won=0, revenue=Decimal("0")),
    ]


def test_a_sales_user_sees_their_and_unassigned_leads_and_their_deals(leads: Shop) -> None:
    # when
    rows = _breakdown(leads, "source", leads.seller)
    # then: leads L1, L2 (nobody's), L3 (theirs); deal D5
    assert rows == [
        Breakdown("site", None, leads=2, deals=1, won=0, revenue=Decimal("0")),
        Breakdown("expo", None, leads=1, deals=0, won=0, revenue=Decimal("0")),
    ]


def _form(session: Session, name: str, *, views: int, submissions: int) -> int:
    form = WebForm(public_id=f"f-{name}", name=name, views=views, submissions=submissions)
    session.add(form)
    session.flush()
    return form.id


def test_form_conversion_follows_the_periods_leads_to_won_revenue(sales: Sales) -> None:
    # given: the form "Заявка" made three leads in the period (two converted, one won) and one
    # before it; "Подписка" made none
    with session_scope(sales.url) as session:
        order = _form(session, "Заявка", views=100, submissions=10)
        subscribe = _form(session, "Подписка", views=50, submissions=0)
    made = [sales.lead(f"F{i}", name=f"Гость {i}", at=at(i), form_id=order) for i in range(3)]
    sales.lead("Old", name="Гость", at=SINCE - timedelta(days=2), form_id=order)
    converted = []
    for lead_id, amount in zip(made[:2], ("1500", "700"), strict=True):
        with session_scope(sales.url) as session:
            admin = session.get(User, sales.admin.id)
            assert admin is not None
            deal = service.convert_lead(
                session,
                admin,
                lead_id,
                ConvertIn(amount=Decimal(amount)),
                default_region=REGION,
                now=at(5),
            )
            converted.append(deal.id)
    sales.move(converted[0], sales.pipeline.won, at=at(8))
    # when
    with session_scope(sales.url) as session:
        rows = analytics.form_conversion(session, user=sales.admin, since=SINCE, until=UNTIL)
    # then
    assert rows == [
        FormConversion(
            order, "Заявка", 100, 10, leads=3, deals=2, won=1, revenue=Decimal("1500.00")
        ),
        FormConversion(subscribe, "Подписка", 50, 0, leads=0, deals=0, won=0, revenue=Decimal("0")),
    ]


# --- the page ---------------------------------------------------------------------------------


def _row(html: str, attribute: str, key: object) -> list[str]:
    """The cells' text of the table row with `attribute="key"`."""
    match = re.search(rf'<tr {attribute}="{re.escape(str(key))}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row {attribute}={key}"
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", match.group(1), re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip() for cell in cells]


def _page(shop: Shop, user: User, query: str = "start=2026-03-01&end=2026-03-31") -> str:
    client = shop.sales.client(user)
    response = client.get(f"/deals/analytics?pipeline={shop.sales.pipeline.id}&{query}")
    assert response.status_code == 200, response.text
    return response.text


def test_the_page_shows_the_periods_figures_with_charts(leads: Shop) -> None:
    # when
    html = _page(leads, leads.sales.admin)
    # then
    stages = leads.sales.pipeline.stages
    assert _row(html, "data-stage-id", stages[0]) == ["Новая", "5", "4", "80%", "1 h"]
    assert _row(html, "data-stage-id", stages[1]) == ["Квалификация", "4", "2", "50%", "3 h"]
    assert _row(html, "data-stage-id", leads.sales.pipeline.won) == ["Успешно", "1", "0", "—", "—"]
    assert re.search(r'data-testid="win-rate">Win rate: <strong>33.3%</strong>', html)
    assert _row(html, "data-month", "2026-04-01")[:2] == ["04.2026", "2"]
    assert _row(html, "data-key", "yandex")[:4] == ["yandex", "1", "1", "1"]
    embedded = re.search(r'id="sales-charts">(.*?)</script>', html, re.S)
    assert embedded
    charts = json.loads(embedded.group(1))
    assert charts["funnel"]["data"][0]["x"] == [5, 4, 2, 1, 1]
    assert charts["reasons"]["data"][0]["y"] == ["Дорого", "Нет бюджета"]
    assert charts["forecast"]["data"][1]["y"] == [1100.0, 1250.0, 750.0]


def test_a_sales_user_sees_figures_of_their_deals_only(leads: Shop) -> None:
    # when
    html = _page(leads, leads.seller)
    # then
    stages = leads.sales.pipeline.stages
    assert _row(html, "data-stage-id", stages[0]) == ["Новая", "1", "1", "100%", "3 h"]
    assert _row(html, "data-stage-id", stages[2]) == ["Предложение", "0", "0", "—", "—"]
    assert 'data-reason-id="' not in html
    assert re.findall(r'<tr data-month="([^"]*)"', html) == ["2026-05-01"]


def test_an_invalid_period_is_explained_and_the_default_used(shop: Shop) -> None:
    # when
    client = shop.sales.client(shop.sales.admin)
    response = client.get("/deals/analytics?start=2026-03-31&end=2026-03-01")
    # then
    assert response.status_code == 422
    assert 'data-testid="period-error"' in response.text
    assert 'data-testid="funnel-table"' in response.text


def test_without_a_pipeline_the_page_says_so(sales: Sales) -> None:
    # when
    client = sales.client(sales.admin)
    response = client.get("/deals/analytics")
    # then
    assert response.status_code == 200
    assert 'data-testid="no-pipeline"' in response.text
