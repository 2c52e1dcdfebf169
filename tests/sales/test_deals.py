"""Deals through the API: create, list with filters and the next-task flag, stage moves with
history and time in each stage, optimistic versions, lost reasons, CSV export."""

from __future__ import annotations

from datetime import timedelta

from retentio.auth.models import Role
from tests.sales.conftest import START, Sales


def test_a_new_deal_starts_in_the_first_stage_owned_by_its_creator(sales: Sales) -> None:
    # given a sales user
    user = sales.user()
    client = sales.client(user)
    # when they create a deal without a stage, naming a watcher
    watcher = sales.user()
    response = client.post(
        "/api/v1/deals",
        json={
            "title": "Оптовый заказ",
            "pipeline_id": sales.pipeline.id,
            "amount": "1500.50",
            "watcher_ids": [watcher.id],
        },
    )
    # then it is theirs, open, in the first stage, version 1, flagged for having no next task
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["stage_id"], body["status"], body["owner_id"], body["version"]) == (
        sales.pipeline.first,
        "open",
        user.id,
        1,
    )
    assert (body["amount"], body["watcher_ids"], body["has_next_task"]) == (
        "1500.50",
        [watcher.id],
        False,
    )


def test_stage_history_gives_the_seconds_spent_in_each_stage(sales: Sales) -> None:
    # given a deal created at START and moved at frozen times, skipping a stage, then won
    stages = sales.pipeline.stages
    deal = sales.deal()
    sales.move(deal, stages[1], at=START + timedelta(hours=2))
    sales.move(deal, stages[3], at=START + timedelta(hours=2, minutes=30))
    sales.move(deal, sales.pipeline.won, at=START + timedelta(days=1))
    # when its history is read
    client = sales.client(sales.admin)
    history = client.get(f"/api/v1/deals/{deal}/history").json()
    # then each stay lasts until the next change; the current stage has no end yet
    assert [(h["from_stage_id"], h["to_stage_id"], h["seconds_in_stage"]) for h in history] == [
        (None, stages[0], 7200.0),
        (stages[0], stages[1], 1800.0),
        (stages[1], stages[3], 77400.0),
        (stages[3], sales.pipeline.won, None),
    ]
    assert [h["actor_id"] for h in history] == [sales.admin.id] * 4
    card = client.get(f"/api/v1/deals/{deal}").json()
    assert (card["status"], card["won_at"], card["version"]) == ("won", "2026-03-03T09:00:00Z", 4)


def test_a_move_with_a_stale_version_is_refused_with_409(sales: Sales) -> None:
    # given a deal two managers see at version 1; the first moves it
    deal = sales.deal()
    client = sales.client(sales.admin)
    stages = sales.pipeline.stages
    first = client.post(f"/api/v1/deals/{deal}/move", json={"stage_id": stages[1], "version": 1})
    assert (first.status_code, first.json()["version"]) == (200, 2)
    # when the second drops the card with the version they saw
    second = client.post(f"/api/v1/deals/{deal}/move", json={"stage_id": stages[2], "version": 1})
    # then it is a conflict naming the current version, and the deal stays where the first put it
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "stale_deal"
    assert second.json()["error"]["details"] == {"field": "version", "current": 2}
    assert client.get(f"/api/v1/deals/{deal}").json()["stage_id"] == stages[1]
    assert len(client.get(f"/api/v1/deals/{deal}/history").json()) == 2


def test_losing_a_deal_needs_a_reason(sales: Sales) -> None:
    # given an open deal
    deal = sales.deal()
    client = sales.client(sales.admin)
    # when it is dropped on the lost stage without a reason
    refused = client.post(f"/api/v1/deals/{deal}/move", json={"stage_id": sales.pipeline.lost})
    # then it is refused naming the field; with a reason it is lost
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["lost_reason_id"]
    reason = sales.lost_reason("Дорого")
    lost = client.post(
        f"/api/v1/deals/{deal}/move",
        json={"stage_id": sales.pipeline.lost, "lost_reason_id": reason},
    )
    assert lost.status_code == 200
    assert (lost.json()["status"], lost.json()["lost_reason_id"]) == ("lost", reason)


def test_the_list_filters_and_flags_deals_without_a_next_task(sales: Sales) -> None:
    # given three deals: one with an open task, one with only a done task, one won
    planned = sales.deal("Поставка труб")
    idle = sales.deal("Поставка кранов")
    won = sales.deal("Монтаж", stage_id=sales.pipeline.won)
    sales.task(owner_id=sales.admin.id, deal_id=planned, due_at=START)
    sales.task(owner_id=sales.admin.id, deal_id=idle, done_at=START)
    client = sales.client(sales.admin)
    # when the open deals whose title has "поставка" are listed
    page = client.get("/api/v1/deals", params={"status": "open", "q": "ПОСТАВКА"}).json()
    # then both come newest first, and only the one with an open task has a next task
    assert page["total"] == 2
    assert [(d["id"], d["has_next_task"]) for d in page["items"]] == [
        (idle, False),
        (planned, True),
    ]
    by_stage = client.get("/api/v1/deals", params={"stage_id": sales.pipeline.won}).json()
    assert [d["id"] for d in by_stage["items"]] == [won]
    paged = client.get("/api/v1/deals", params={"per_page": 2, "page": 2}).json()
    assert (paged["total"], [d["id"] for d in paged["items"]]) == (3, [planned])


def test_update_changes_fields_and_a_new_stage_is_a_recorded_move(sales: Sales) -> None:
    # given a deal
    deal = sales.deal("Старое название")
    client = sales.client(sales.admin)
    # when it is edited with another stage
    response = client.put(
        f"/api/v1/deals/{deal}",
        json={
            "title": "Новое название",
            "pipeline_id": sales.pipeline.id,
            "stage_id": sales.pipeline.stages[2],
            "amount": "10",
        },
    )
    # then the fields change and the move is in the history
    assert response.status_code == 200, response.text
    assert (response.json()["title"], response.json()["version"]) == ("Новое название", 2)
    history = client.get(f"/api/v1/deals/{deal}/history").json()
    assert [h["to_stage_id"] for h in history] == [sales.pipeline.first, sales.pipeline.stages[2]]


def test_export_uses_the_list_filters_and_defuses_formulas(sales: Sales) -> None:
    # given a deal whose title would run as a formula in a spreadsheet, and a won one
    risky = sales.deal('=HYPERLINK("http://evil","x")')
    sales.deal("Won", stage_id=sales.pipeline.won)
    client = sales.client(sales.admin)
    # when the open deals are exported
    response = client.get("/api/v1/deals/export.csv", params={"status": "open"})
    # then the file holds that one deal, its title quoted as text
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    lines = response.text.lstrip("\ufeff").splitlines()
    assert lines[0].split(";")[:3] == ["id", "title", "pipeline_id"]
    assert len(lines) == 2
    assert lines[1].startswith(f'{risky};"\'=HYPERLINK(""http://evil"",""x"")";')


def test_pipelines_and_lost_reasons_are_settings(sales: Sales) -> None:
    # given the default pipeline, a marketer and an admin
    sales.pipeline  # noqa: B018 - made on first use
    marketer = sales.client(sales.user(Role.MARKETER))
    admin = sales.client(sales.admin)
    stages = [
        {"name": "Отклик", "probability": 20},
        {"name": "Собеседование", "probability": 50},
        {"name": "Нанят", "probability": 100, "kind": "won"},
        {"name": "Отказ", "kind": "lost"},
    ]
    # when each creates a pipeline and a lost reason
    assert (
        marketer.post("/api/v1/pipelines", json={"name": "HR", "stages": stages}).status_code == 403
    )
    assert marketer.post("/api/v1/lost-reasons", json={"name": "Ушёл"}).status_code == 403
    created = admin.post("/api/v1/pipelines", json={"name": "HR", "stages": stages})
    reason = admin.post("/api/v1/lost-reasons", json={"name": "Ушёл"})
    # then only the admin's are made, and everyone reads them
    assert (created.status_code, reason.status_code) == (201, 201)
    listed = marketer.get("/api/v1/pipelines").json()
    assert [p["name"] for p in listed] == ["Продажи", "HR"]
    assert [s["name"] for s in listed[1]["stages"]] == ["Отклик", "Собеседование", "Нанят", "Отказ"]
    assert "Ушёл" in [r["name"] for r in marketer.get("/api/v1/lost-reasons").json()]
    again = admin.post("/api/v1/lost-reasons", json={"name": "Ушёл"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "name_taken")
