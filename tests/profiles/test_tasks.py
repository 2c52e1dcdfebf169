"""Profile jobs: refresh after an order or an import, safe to run twice; the nightly job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.db import utcnow
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob, JobStatus
from retentio.profiles import service
from retentio.profiles import tasks as profile_tasks
from retentio.profiles.models import Profile
from retentio.settings import Settings
from retentio.worker import bind_settings, huey
from tests.profiles.factories import NOW, changes, contact, order, profile_rows


@pytest.fixture
def worker(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Tasks run inline, at a fixed `now`."""
    bind_settings(settings)
    monkeypatch.setattr(service, "utcnow", lambda: NOW)
    huey.immediate = True
    yield settings
    huey.immediate = False


def test_the_refresh_task_is_safe_to_run_twice(db: Session, worker: Settings) -> None:
    # given
    buyer = contact(db, "A")
    order(db, buyer, 30, "100.00")
    service.recompute(db, now=NOW - timedelta(days=1))
    order(db, buyer, 1, "200.00")
    # when
    profile_tasks.refresh_profiles([buyer])
    once = profile_rows(db)
    profile_tasks.refresh_profiles([buyer, buyer])
    # then
    assert profile_rows(db) == once
    assert once[buyer][3:5] == (2, 300)  # orders, revenue
    assert changes(db) == [
        (buyer, None, "purchase", NOW - timedelta(days=1)),
        (buyer, "purchase", "loyalty", NOW),
    ]


def test_posting_an_order_refreshes_the_customers_profile(
    admin_client: TestClient, db: Session, worker: Settings
) -> None:
    # given
    service.recompute(db, now=NOW)
    body = {
        "external_id": "SO-1",
        "status": "paid",
        "channel": "online",
        "placed_at": (NOW - timedelta(days=2)).isoformat(),
        "customer": {"email": "anna@example.ru"},
        "items": [{"sku": "S-1", "quantity": 2, "unit_price": "150.00"}],
    }
    # when
    response = admin_client.post("/api/v1/orders", json=body)
    # then
    assert response.status_code == 201, response.text
    profile = db.scalar(select(Profile).where(Profile.orders == 1))
    assert profile is not None
    assert (profile.revenue, profile.recency_days, profile.lifecycle_stage) == (300, 2, "purchase")


def test_an_orders_import_refreshes_the_contacts_it_touched(db: Session, worker: Settings) -> None:
    # given: a recompute, then an import job that wrote one order
    old, fresh = contact(db, "Old"), contact(db, "Fresh")
    order(db, old, 10, "10.00")
    service.recompute(db, now=NOW)
    job = ImportJob(
        entity=ImportEntity.ORDERS,
        filename="orders.csv",
        stored_path="orders.csv",
        status=JobStatus.DONE,
        started_at=utcnow() - timedelta(seconds=1),
    )
    db.add(job)
    db.flush()
    order(db, fresh, 1, "20.00")
    # when
    profile_tasks.refresh_after_import(job.id)
    # then
    rows = profile_rows(db)
    assert (rows[fresh][3], rows[old][3]) == (1, 1)
    assert changes(db)[-1] == (fresh, "attraction", "purchase", NOW)


def test_the_nightly_recompute_is_due_at_three_in_the_morning(worker: Settings) -> None:
    # given: the moments Huey checks, naive UTC
    due = [
        type(task).__name__
        for moment in (datetime(2026, 1, 1, 3, 0), datetime(2026, 1, 1, 3, 1))
        for task in huey.read_periodic(moment)
    ]
    # then
    assert due.count("nightly_recompute") == 1
    assert profile_tasks.nightly_due(datetime(2026, 7, 1, 3, 0)) is True
    assert profile_tasks.nightly_due(datetime(2026, 7, 1, 2, 59)) is False


def test_the_nightly_task_recomputes_every_profile(db: Session, worker: Settings) -> None:
    # given
    a, b = contact(db, "A"), contact(db, "B")
    # when
    profile_tasks.nightly_recompute.call_local()
    # then
    assert set(profile_rows(db)) == {a, b}
    assert changes(db) == [(a, None, "attraction", NOW), (b, None, "attraction", NOW)]


def test_a_cart_event_refreshes_the_visitors_stage_a_page_view_of_a_known_one_does_not(
    admin_client: TestClient, db: Session, worker: Settings
) -> None:
    def post(message_id: str, type_: str, email: str) -> None:
        event = {"message_id": message_id, "type": type_, "email": email}
        response = admin_client.post("/api/v1/events", json=event)
        assert response.status_code == 200, response.text
        profile_tasks.refresh_requested.call_local()  # as the worker does a second later

    # given: a newcomer seen on a page (a first sight refreshes), who then ordered by phone
    post("m-1", "page_view", "known@example.ru")
    known = db.scalar(select(Profile.contact_id))
    assert known is not None
    order(db, known, 1, "50.00")
    # when: they view another page, and someone new adds to the cart
    post("m-2", "page_view", "known@example.ru")
    post("m-3", "cart_add", "new@example.ru")
    # then: the newcomer's stage is evaluation; the page view did not refresh the known one
    stages = dict(db.execute(select(Profile.contact_id, Profile.lifecycle_stage)).all())
    newcomer = max(stages)
    assert stages == {known: "interest", newcomer: "evaluation"}
