"""The analytics API: metrics of a period (overall and grouped), cohorts, and its errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.db import utcnow
from tests.analytics.helpers import PERIOD, contact, day, order
from tests.conftest import UserFactory, log_in


@pytest.fixture
def sales(client: TestClient, make_user: UserFactory) -> TestClient:
    # Aggregates: the sales role reads them like everybody else.
    log_in(client, make_user(Role.SALES).email)
    return client


@pytest.mark.usefixtures("levers_shop")
def test_metrics_of_a_period(sales: TestClient) -> None:
    # when
    response = sales.get(f"/api/v1/analytics/metrics?{PERIOD}")
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {
        "first_day": "2026-01-01",
        "last_day": "2026-03-31",
        "start": "2026-01-01T00:00:00Z",
        "end": "2026-04-01T00:00:00Z",
        "days": 90,
    }
    assert body["group_by"] is None
    [row] = body["rows"]
    assert row["group"] is None
    assert (row["leads"], row["buyers"], row["orders"], row["revenue"]) == (5, 2, 3, "450.00")
    assert row["average_check"] == "150.00"
    assert row["levers"]["conversion"] == 0.4
    assert row["levers"]["purchases_per_customer"] == 1.5
    assert row["levers"]["revenue"] == "450.00"


@pytest.mark.usefixtures("levers_shop")
def test_metrics_by_city(sales: TestClient) -> None:
    body = sales.get(f"/api/v1/analytics/metrics?{PERIOD}&group_by=city").json()
    assert body["group_by"] == "city"
    assert [(r["group"], r["orders"], r["revenue"]) for r in body["rows"]] == [
        ("Omsk", 1, "150.00"),
        (None, 2, "300.00"),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-03-01&end=2026-01-01", "query.start"),
        ("end=31.03.2026", "query.end"),
        ("start=1990-01-01&end=2026-01-01", "query.start"),
        ("start=1969-12-31&end=1970-01-31", "query.start"),
        ("group_by=planet", "query.group_by"),
    ],
)
def test_invalid_queries_are_422_in_the_error_shape(
    sales: TestClient, query: str, field: str
) -> None:
    response = sales.get(f"/api/v1/analytics/metrics?{query}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert [d["field"] for d in error["details"]] == [field]


def test_the_api_needs_authentication(client: TestClient) -> None:
    for path in ("/api/v1/analytics/metrics", "/api/v1/analytics/cohorts"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


def test_cohorts_of_this_and_last_month(sales: TestClient, db: Session) -> None:
    # given: X and Y first bought this month; Z last month (100) and again this month (50)
    now = utcnow()
    this_month = datetime(now.year, now.month, 1, tzinfo=UTC)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    stamp = "%Y-%m-%dT00:00:00"
    for name in ("X", "Y"):
        order(db, contact(db, name), this_month.strftime(stamp), "80.00")
    z = contact(db, "Z")
    order(db, z, last_month.strftime(stamp), "100.00")
    order(db, z, this_month.strftime(stamp), "50.00")
    # when
    retention = sales.get("/api/v1/analytics/cohorts").json()
    ltv = sales.get("/api/v1/analytics/cohorts?measure=ltv&months=2").json()
    # then
    assert retention["measure"] == "retention"
    assert retention["months"] == 24
    assert retention["cohorts"] == [
        {"month": last_month.date().isoformat(), "customers": 1, "values": [100.0, 100.0]},
        {"month": this_month.date().isoformat(), "customers": 2, "values": [100.0]},
    ]
    assert [c["values"] for c in ltv["cohorts"]] == [[100.0, 150.0], [80.0]]


def test_cohorts_reject_an_unknown_measure(sales: TestClient) -> None:
    response = sales.get("/api/v1/analytics/cohorts?measure=mood&months=0")
    assert response.status_code == 422
    fields = sorted(d["field"] for d in response.json()["error"]["details"])
    assert fields == ["query.measure", "query.months"]


def test_a_period_of_one_day(sales: TestClient, db: Session) -> None:
    order(db, contact(db), "2026-02-10", "70.00")
    body = sales.get("/api/v1/analytics/metrics?start=2026-02-10&end=2026-02-10").json()
    assert body["period"]["days"] == 1
    assert body["rows"][0]["revenue"] == "70.00"
    assert day("2026-02-10").date().isoformat() == body["period"]["first_day"]
