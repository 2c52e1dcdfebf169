"""Tasks through the API: create for a deal or a contact, complete, "my tasks" in order."""

from __future__ import annotations

from datetime import timedelta

from retentio.db import utcnow
from tests.sales.conftest import Sales


def test_my_tasks_lists_open_ones_overdue_first_then_by_due(sales: Sales) -> None:
    # given a user's tasks: due tomorrow, overdue, undated, done, and someone else's
    user = sales.user()
    now = utcnow()
    tomorrow = sales.task("Завтра", owner_id=user.id, due_at=now + timedelta(days=1))
    overdue = sales.task("Просрочено", owner_id=user.id, due_at=now - timedelta(days=1))
    undated = sales.task("Без срока", owner_id=user.id)
    sales.task("Сделано", owner_id=user.id, done_at=now)
    sales.task("Чужое", owner_id=sales.admin.id)
    # when they list their tasks
    response = sales.client(user).get("/api/v1/tasks/my")
    # then open ones come overdue first, then by due time, undated last
    assert [t["id"] for t in response.json()] == [overdue, tomorrow, undated]


def test_a_deal_task_is_created_completed_and_clears_the_flag(sales: Sales) -> None:
    # given a sales user's deal with a contact and no task
    user = sales.user()
    client = sales.client(user)
    contact = sales.contact(owner_id=user.id)
    deal = sales.deal(owner_id=user.id, contact_id=contact)
    assert client.get(f"/api/v1/deals/{deal}").json()["has_next_task"] is False
    # when they plan a call on it
    created = client.post(
        "/api/v1/tasks",
        json={
            "kind": "meeting",
            "title": "Встреча",
            "deal_id": deal,
            "due_at": "2026-03-05T10:00:00+00:00",
        },
    )
    # then it is theirs, about the deal's contact, and the deal has a next task
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["kind"], task["owner_id"], task["contact_id"], task["done_at"]) == (
        "meeting",
        user.id,
        contact,
        None,
    )
    assert client.get(f"/api/v1/deals/{deal}").json()["has_next_task"] is True
    assert [t["id"] for t in client.get(f"/api/v1/deals/{deal}/tasks").json()] == [task["id"]]
    # when it is completed twice
    first = client.post(f"/api/v1/tasks/{task['id']}/complete").json()
    second = client.post(f"/api/v1/tasks/{task['id']}/complete").json()
    # then the first completion time stays and the deal is flagged again
    assert first["done_at"] is not None
    assert second["done_at"] == first["done_at"]
    assert client.get(f"/api/v1/deals/{deal}").json()["has_next_task"] is False


def test_a_task_needs_a_contact_or_a_deal_the_user_may_see(sales: Sales) -> None:
    # given a sales user and a contact of someone else
    user = sales.user()
    client = sales.client(user)
    hidden = sales.contact(owner_id=sales.admin.id)
    # when they create a task about nothing, and one about the hidden contact
    nothing = client.post("/api/v1/tasks", json={"title": "Позвонить"})
    other = client.post("/api/v1/tasks", json={"title": "Позвонить", "contact_id": hidden})
    # then the first names the field, the second finds no such contact
    assert nothing.status_code == 422
    assert [d["field"] for d in nothing.json()["error"]["details"]] == ["deal_id"]
    assert other.status_code == 404
