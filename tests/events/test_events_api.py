"""The events API: ingestion by token, session or write key; all-or-nothing batches; a contact's
history and who may read it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.contacts.models import Contact, ContactIdentity
from retentio.contacts.resolve import Key
from retentio.events import people
from retentio.events.models import Event, EventDedup
from tests.conftest import UserFactory, log_in
from tests.events.conftest import SourceRef, count


def _event(message_id: str, **fields: Any) -> dict[str, Any]:
    return {"message_id": message_id, "type": "page_view", "anonymous_id": "visitor-1", **fields}


def test_the_same_batch_posted_twice_stores_each_event_once(
    client: TestClient, bearer: dict[str, str], db: Session
) -> None:
    # given: a batch of 10 events of two visitors
    batch = {"events": [_event(f"m{i}", anonymous_id=f"v{i % 2}") for i in range(10)]}
    # when: it is posted twice
    first = client.post("/api/v1/events/batch", json=batch, headers=bearer)
    second = client.post("/api/v1/events/batch", json=batch, headers=bearer)
    # then
    assert (first.status_code, first.json()) == (200, {"accepted": 10, "duplicates": 0})
    assert (second.status_code, second.json()) == (200, {"accepted": 0, "duplicates": 10})
    assert count(db, Event) == 10
    assert count(db, EventDedup) == 10
    assert count(db, Contact) == 2


def test_one_event_by_write_key_is_stored_with_its_source(
    client: TestClient, source: SourceRef, db: Session
) -> None:
    response = client.post(
        "/api/v1/events",
        json=_event("w1", type="cart_add", email="Anna@Example.ru", properties={"sku": "A"}),
        headers={"X-Write-Key": source.write_key},
    )
    assert (response.status_code, response.json()) == (200, {"accepted": 1, "duplicates": 0})
    stored = db.scalars(select(Event)).one()
    contact = db.get(Contact, stored.contact_id)
    assert (stored.type, stored.source_id, stored.properties) == (
        "cart_add",
        source.id,
        {"sku": "A"},
    )
    assert contact is not None
    assert contact.email == "anna@example.ru"


def test_a_wrong_write_key_is_401_and_stores_nothing(client: TestClient, db: Session) -> None:
    response = client.post(
        "/api/v1/events/batch", json={"events": [_event("x1")]}, headers={"X-Write-Key": "nope"}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unknown_write_key"
    assert count(db, Event) == 0


def test_without_any_credential_it_is_401(client: TestClient) -> None:
    response = client.post("/api/v1/events", json=_event("x1"))
    assert response.status_code == 401


def test_an_analyst_may_not_ingest(client: TestClient, make_user: UserFactory) -> None:
    csrf = log_in(client, make_user(Role.ANALYST).email)
    response = client.post("/api/v1/events", json=_event("x1"), headers={"X-CSRF-Token": csrf})
    assert response.status_code == 403


def test_a_logged_in_editor_needs_the_csrf_token(
    client: TestClient, make_user: UserFactory, db: Session
) -> None:
    csrf = log_in(client, make_user(Role.MARKETER).email)
    without = client.post("/api/v1/events", json=_event("c1"))
    with_token = client.post("/api/v1/events", json=_event("c1"), headers={"X-CSRF-Token": csrf})
    assert (without.status_code, with_token.status_code) == (403, 200)
    assert count(db, Event) == 1


BAD_EVENTS = [
    ({"email": "anna@"}, "events.1.email", "invalid_email"),
    ({"phone": "12"}, "events.1.phone", "invalid_phone"),
    ({"type": "1 bad type!"}, "events.1.type", "invalid_input"),
    ({"message_id": None}, "events.1.message_id", "invalid_input"),
    ({"occurred_at": "2026-03-01T12:00:00"}, "events.1.occurred_at", "invalid_input"),
    ({"anonymous_id": None}, "events.1.user_id", "invalid_input"),
    ({"colour": "red"}, "events.1.colour", "invalid_input"),
]


@pytest.mark.parametrize(("change", "field", "code"), BAD_EVENTS)
def test_one_bad_event_rejects_the_batch_naming_the_field(
    client: TestClient,
    bearer: dict[str, str],
    db: Session,
    change: dict[str, Any],
    field: str,
    code: str,
) -> None:
    # given: a batch whose second event is bad (the first would create a contact)
    batch = {"events": [_event("ok-1", email="first@example.ru"), {**_event("bad-2"), **change}]}
    # when
    response = client.post("/api/v1/events/batch", json=batch, headers=bearer)
    # then: 422 naming the field, and nothing of the batch is stored
    error = response.json()["error"]
    assert response.status_code == 422
    assert (error["code"], [d["field"] for d in error["details"]]) == (code, [field])
    assert field in error["message"]
    assert [count(db, m) for m in (Event, EventDedup, Contact, ContactIdentity)] == [0, 0, 0, 0]


def test_a_single_event_error_names_the_field_without_a_prefix(
    client: TestClient, bearer: dict[str, str]
) -> None:
    response = client.post("/api/v1/events", json=_event("p1", phone="12"), headers=bearer)
    error = response.json()["error"]
    assert (response.status_code, error["details"][0]["field"]) == (422, "phone")
    assert error["message"].startswith("phone: ")


def test_more_than_1000_events_are_refused(
    client: TestClient, bearer: dict[str, str], db: Session
) -> None:
    batch = {"events": [_event(f"m{i}") for i in range(1001)]}
    response = client.post("/api/v1/events/batch", json=batch, headers=bearer)
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["events"]
    assert count(db, Event) == 0


def test_a_contacts_events_come_newest_first_in_pages(
    client: TestClient, bearer: dict[str, str], admin_client: TestClient, db: Session
) -> None:
    # given: three events of one visitor at known times
    times = ["2026-03-01T10:00:00Z", "2026-03-01T12:00:00Z", "2026-03-01T11:00:00Z"]
    batch = {"events": [_event(f"t{i}", occurred_at=t) for i, t in enumerate(times)]}
    client.post("/api/v1/events/batch", json=batch, headers=bearer)
    contact_id = db.scalars(select(Contact.id)).one()
    db.commit()
    # when
    first = admin_client.get(f"/api/v1/contacts/{contact_id}/events?per_page=2").json()
    second = admin_client.get(f"/api/v1/contacts/{contact_id}/events?per_page=2&page=2").json()
    # then
    assert [e["message_id"] for e in first["items"]] == ["t1", "t2"]
    assert [e["message_id"] for e in second["items"]] == ["t0"]
    assert (first["total"], first["page"], first["per_page"]) == (3, 1, 2)


def test_a_sales_user_sees_events_only_of_contacts_they_may_see(
    app_client_pair: tuple[TestClient, TestClient], make_user: UserFactory
) -> None:
    # given: an admin creates one contact owned by the sales user and one owned by another
    admin, sales_client = app_client_pair
    admin.headers["X-CSRF-Token"] = log_in(admin, make_user(Role.ADMIN).email)
    sales, other = make_user(Role.SALES), make_user(Role.SALES)
    sales_client.headers["X-CSRF-Token"] = log_in(sales_client, sales.email)
    ids = {}
    for name, owner in (("mine", sales.id), ("theirs", other.id)):
        body = {"first_name": name, "email": f"{name}@example.ru", "owner_id": owner}
        ids[name] = admin.post("/api/v1/contacts", json=body).json()["id"]
        event = _event(f"e-{name}", email=f"{name}@example.ru", anonymous_id=None)
        assert admin.post("/api/v1/events", json=event).json()["accepted"] == 1
    # when
    mine = sales_client.get(f"/api/v1/contacts/{ids['mine']}/events")
    theirs = sales_client.get(f"/api/v1/contacts/{ids['theirs']}/events")
    # then: someone else's contact does not exist for them
    assert (mine.status_code, [e["message_id"] for e in mine.json()["items"]]) == (200, ["e-mine"])
    assert (theirs.status_code, theirs.json()["error"]["code"]) == (404, "not_found")


def _post_anna(client: TestClient, bearer: dict[str, str], message_id: str) -> Response:
    event = _event(message_id, email="anna@example.ru")
    return client.post("/api/v1/events", json=event, headers=bearer)


def test_a_newcomer_another_request_created_meanwhile_is_found_on_the_second_look(
    client: TestClient, bearer: dict[str, str], db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: anna's e-mail is stored, but this request's first look missed it (the race window)
    first = _post_anna(client, bearer, "m-1")
    assert first.status_code == 200
    looks: list[int] = []
    real_known = people._known

    def misses_the_first_time(
        session: Session, keys: Iterable[Key]
    ) -> tuple[dict[Key, int], set[int]]:
        looks.append(1)
        return ({}, set()) if len(looks) == 1 else real_known(session, keys)

    monkeypatch.setattr(people, "_known", misses_the_first_time)
    # when
    raced = _post_anna(client, bearer, "m-2")
    # then: the batch was done again at once and landed on anna; nothing of the lost try is left
    assert (raced.status_code, raced.json()) == (200, {"accepted": 1, "duplicates": 0})
    assert len(looks) == 2
    assert count(db, Contact) == 1
    assert count(db, Event) == 2


def test_a_newcomer_missed_on_every_look_is_a_503_to_send_again(
    client: TestClient, bearer: dict[str, str], db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: anna's e-mail is stored, but this request looked before it was (the race window)
    first = _post_anna(client, bearer, "m-1")
    assert first.status_code == 200
    monkeypatch.setattr(people, "_known", lambda _session, _keys: ({}, set()))
    # when
    raced = _post_anna(client, bearer, "m-2")
    monkeypatch.undo()
    again = _post_anna(client, bearer, "m-2")
    # then: the lost race asks for a retry, stores nothing, and the retry lands on anna
    assert (raced.status_code, raced.headers["retry-after"]) == (503, "1")
    assert raced.json()["error"]["code"] == "concurrent_newcomer"
    assert (again.status_code, again.json()) == (200, {"accepted": 1, "duplicates": 0})
    assert count(db, Contact) == 1
    assert count(db, Event) == 2
