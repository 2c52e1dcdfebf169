"""The customer base's health: reachable base per channel and record completeness."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retentio.analytics.base import base_health
from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from tests.analytics.helpers import contact, day


def _consent(db: Session, contact_id: int, channel: Channel, *, granted: bool) -> None:
    record_consent(
        db,
        contact_id,
        channel=channel,
        purpose=Purpose.MARKETING,
        granted=granted,
        source="test",
        occurred_at=day("2026-01-01"),
    )
    db.flush()


def _shop(db: Session) -> None:
    """Four identified contacts and one anonymous visitor, who never counts."""
    anna = contact(db, "Anna", email="anna@example.ru", city="Пермь", gender="f")
    _consent(db, anna, Channel.EMAIL, granted=True)
    boris = contact(db, "Boris", email="boris@example.ru")
    _consent(db, boris, Channel.EMAIL, granted=False)
    vera = contact(db, "Vera", phone="+79123456789", birthday=date(1990, 5, 1), city="Омск")
    _consent(db, vera, Channel.SMS, granted=True)
    contact(db, "", telegram="gleb")  # a name left empty is no name
    contact(db, "Visitor", email="seen@example.ru", is_anonymous=True)


def test_reachable_base_and_completeness_are_counted_over_live_contacts(db: Session) -> None:
    # given
    _shop(db)
    # when
    health = base_health(db)
    # then: only anna's e-mail and vera's phone carry a marketing consent
    assert health.contacts == 4
    assert health.reachable == {"email": 1, "sms": 1, "telegram": 0}
    assert health.filled == {
        "email": 2,
        "phone": 1,
        "name": 3,
        "birthday": 1,
        "city": 2,
        "gender": 1,
    }
    assert health.completeness == 10 / 24


def test_the_page_shows_the_base_section(db: Session, admin_client: TestClient) -> None:
    # given
    _shop(db)
    # when
    html = admin_client.get("/analytics").text
    # then
    row = re.search(r'<tr data-reachable="email">(.*?)</tr>', html, re.S)
    assert row
    cells = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(1), re.S)
    ]
    assert cells == ["Reachable by E-mail", "1", "25"]
    assert 'data-chart="base"' in html
    completeness = re.search(r'data-testid="completeness">([^<]+)<', html)
    assert completeness
    assert completeness.group(1) == "Completeness 41.7%"


def test_an_empty_base_has_no_shares(db: Session) -> None:
    # when
    health = base_health(db)
    # then
    assert (health.contacts, health.completeness, health.share(0)) == (0, None, None)


def test_the_api_answers_the_same_figures(db: Session, admin_client: TestClient) -> None:
    # given
    _shop(db)
    # when
    response = admin_client.get("/api/v1/analytics/base")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["contacts"], body["reachable"]) == (4, {"email": 1, "sms": 1, "telegram": 0})
    assert body["filled"]["name"] == 3
    assert body["completeness"] == 10 / 24
