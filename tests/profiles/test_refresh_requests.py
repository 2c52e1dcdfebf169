"""Refresh requests: events ask for their contacts' refresh in their own transaction, one row a
contact however many batches, and one run of the job refreshes them all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.kit.debounce import Debounce
from retentio.profiles import service
from retentio.profiles import tasks as profile_tasks
from retentio.profiles.models import Profile, RefreshRequest
from retentio.settings import Settings
from retentio.worker import bind_settings, huey
from tests.profiles.factories import NOW, contact


@pytest.fixture
def worker(settings: Settings) -> Iterator[Settings]:
    """Tasks run inline; nothing left scheduled by other tests."""
    bind_settings(settings)
    huey.immediate = True
    huey.storage.flush_schedule()
    yield settings
    huey.storage.flush_schedule()
    huey.immediate = False


def requests(db: Session) -> dict[int, object]:
    db.commit()
    return dict(db.execute(select(RefreshRequest.contact_id, RefreshRequest.requested_at)).all())


def stages(db: Session) -> dict[int, str]:
    db.commit()
    return dict(db.execute(select(Profile.contact_id, Profile.lifecycle_stage)).all())


def test_batches_touching_one_visitor_leave_one_request_and_one_run_refreshes_it(
    admin_client: TestClient, db: Session, worker: Settings
) -> None:
    # given: three batches of cart events of one new visitor
    for n in range(3):
        event = {"message_id": f"m-{n}", "type": "cart_add", "email": "new@example.ru"}
        response = admin_client.post("/api/v1/events/batch", json={"events": [event]})
        assert response.status_code == 200, response.text
    waiting = requests(db)
    assert len(waiting) == 1
    assert stages(db) == {}
    # when: the job runs
    refreshed = profile_tasks.refresh_requested.call_local()
    # then: one refresh, the visitor's stage known, no request left
    (visitor,) = waiting
    assert refreshed == 1
    assert stages(db) == {visitor: "evaluation"}
    assert requests(db) == {}


def test_a_request_repeated_after_the_run_read_it_waits_for_the_next_run(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a request, and a newer one for the same contact arriving while the run refreshes
    anna = contact(db, "Anna")
    service.request_refresh(db, [anna], now=NOW)
    db.commit()
    plain_refresh = service.refresh

    def refresh_while_asked_again(session: Session, ids: list[int], **kwargs: object) -> object:
        service.request_refresh(session, [anna], now=NOW + timedelta(seconds=1))
        return plain_refresh(session, ids, now=NOW)

    monkeypatch.setattr(service, "refresh", refresh_while_asked_again)
    # when
    first = service.refresh_requested(db, limit=100)
    # then: refreshed once, and the newer request stays for the next run
    assert first == [anna]
    assert requests(db) == {anna: NOW + timedelta(seconds=1)}
    monkeypatch.setattr(service, "refresh", plain_refresh)
    assert service.refresh_requested(db, limit=100) == [anna]
    assert requests(db) == {}


def test_a_run_takes_every_request_in_transactions_of_a_bounded_size(
    db: Session, worker: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: five contacts waiting, and transactions of two
    ids = [contact(db, f"C{n}") for n in range(5)]
    service.request_refresh(db, ids, now=NOW)
    db.commit()
    monkeypatch.setattr(profile_tasks, "TRANSACTION_CONTACTS", 2)
    # when
    refreshed = profile_tasks.refresh_requested.call_local()
    # then
    assert refreshed == 5
    assert sorted(stages(db)) == ids
    assert requests(db) == {}


def test_refresh_soon_schedules_one_run_for_a_burst(
    worker: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a fresh window
    monkeypatch.setattr(profile_tasks, "_refresh_scheduled", Debounce(60))
    # when: a burst of committed ingests asks for the refresh
    for _ in range(4):
        profile_tasks.refresh_soon()
    # then: one run is scheduled, a second later
    scheduled = [t for t in huey.scheduled() if t.name.endswith("refresh_requested")]
    assert len(scheduled) == 1
