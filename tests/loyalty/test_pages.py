"""The loyalty pages: the overview with points outstanding, the programme and tier forms
(admins only), the ledger search, and the block on the contact card."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.loyalty import service
from tests.conftest import UserFactory, log_in
from tests.loyalty.conftest import T0, Club

ENTRY = re.compile(r'<tr data-entry-id="(\d+)"')
TIER = re.compile(r'<tr data-tier-id="\d+"><td>([^<]+)</td>')


def _login(client: TestClient, make_user: UserFactory, role: Role) -> str:
    """Log in; the CSRF token goes with API calls (header) and forms (field)."""
    token = log_in(client, make_user(role).email)
    client.headers["X-CSRF-Token"] = token
    return token


def _testid(page: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}">([^<]+)<', page)
    assert match, name
    return html.unescape(match.group(1))


def test_the_overview_shows_points_outstanding_by_tier(
    client: TestClient, make_user: UserFactory, club: Club
) -> None:
    # given
    club.tier("Gold", "50000")
    anna, boris = club.contact(), club.contact()
    club.grant(anna, 1200)
    club.grant(boris, 300)
    _login(client, make_user, Role.ANALYST)
    # when
    page = client.get("/loyalty")
    # then: an analyst sees the figures but no buttons
    assert page.status_code == 200
    assert _testid(page.text, "points-outstanding") == "1,500"
    assert _testid(page.text, "members-holding") == "2"
    assert 'data-testid="chart-by-tier"' in page.text
    assert TIER.findall(page.text) == ["Gold"]
    assert "Save programme" not in page.text
    assert 'data-testid="tier-form"' not in page.text


def test_an_admin_saves_the_programme_through_the_form(
    client: TestClient, make_user: UserFactory
) -> None:
    # given
    token = _login(client, make_user, Role.ADMIN)
    form = {
        "csrf_token": token,
        "enabled": "true",
        "points_per_unit": "0.1",
        "category_rates": "coffee = 2\ntea = 1.5",
        "welcome_bonus": "50",
        "birthday_bonus": "",
        "expiry_days": "180",
        "tier_window_days": "365",
    }
    # when
    saved = client.post("/loyalty/programme", data=form, follow_redirects=False)
    bad = client.post("/loyalty/programme", data={**form, "category_rates": "coffee twice"})
    # then
    assert saved.status_code == 303
    programme = client.get("/api/v1/loyalty/programme").json()
    assert (programme["points_per_unit"], programme["category_rates"]) == (
        "0.1000",
        {"coffee": "2", "tea": "1.5"},
    )
    assert (programme["welcome_bonus"], programme["expiry_days"]) == (50, 180)
    assert bad.status_code == 422
    assert 'data-field-error="category_rates"' in bad.text


def test_an_admin_adds_edits_and_deletes_a_tier(client: TestClient, make_user: UserFactory) -> None:
    # given
    token = _login(client, make_user, Role.ADMIN)
    tier = {"csrf_token": token, "name": "Silver", "threshold": "10000", "multiplier": "1.2"}
    # when
    added = client.post("/loyalty/tiers", data=tier, follow_redirects=False)
    twin = client.post("/loyalty/tiers", data=tier)
    tier_id = client.get("/api/v1/loyalty/tiers").json()[0]["id"]
    edit_page = client.get(f"/loyalty/tiers/{tier_id}")
    client.post(f"/loyalty/tiers/{tier_id}", data={**tier, "name": "Silver+"})
    renamed = TIER.findall(client.get("/loyalty").text)
    client.post(f"/loyalty/tiers/{tier_id}/delete", data={"csrf_token": token})
    # then
    assert added.status_code == 303
    assert twin.status_code == 409
    assert 'data-field-error="name"' in twin.text
    assert 'value="Silver"' in edit_page.text
    assert renamed == ["Silver+"]
    assert TIER.findall(client.get("/loyalty").text) == []


def test_an_analyst_cannot_post_the_programme_form(
    client: TestClient, make_user: UserFactory
) -> None:
    # given
    token = _login(client, make_user, Role.ANALYST)
    # when
    response = client.post("/loyalty/programme", data={"csrf_token": token, "enabled": "true"})
    # then
    assert response.status_code == 403


def test_the_ledger_filters_by_contact_and_kind(
    client: TestClient, make_user: UserFactory, club: Club
) -> None:
    # given
    anna, boris = club.contact(), club.contact()
    club.grant(anna, 100)
    club.grant(boris, 100)
    _login(client, make_user, Role.MARKETER)
    client.post(f"/api/v1/contacts/{anna}/loyalty/redeem", json={"points": 10, "key": "a"})
    # when
    everything = client.get("/loyalty/ledger")
    annas_redemptions = client.get(f"/loyalty/ledger?contact={anna}&kind=redeem")
    nothing = client.get("/loyalty/ledger?kind=expire")
    # then
    assert len(ENTRY.findall(everything.text)) == 3
    assert len(ENTRY.findall(annas_redemptions.text)) == 1
    assert "No entries match the filters." in nothing.text


def test_the_contact_card_shows_points_tier_and_latest_entries(
    client: TestClient, make_user: UserFactory, club: Club
) -> None:
    # given: Anna holds 250 points and the Gold tier; Boris has no entries
    club.tier("Gold", "0")
    anna, boris = club.contact(), club.contact()
    club.grant(anna, 250)
    with club.session() as session:
        service.recalculate_tiers(session, now=T0)
    _login(client, make_user, Role.ANALYST)
    # when
    card = client.get(f"/contacts/{anna}")
    other = client.get(f"/contacts/{boris}")
    # then
    assert _testid(card.text, "loyalty-balance") == "250"
    assert _testid(card.text, "loyalty-tier") == "Gold"
    assert 'data-testid="contact-loyalty"' not in other.text
