"""Who sees which deals, leads and tasks. A sales user works on deals they own or watch, or that
are available to all; anyone else's deal is missing (404, never 403) on EVERY route that names
a deal — the walk below collects those routes from the app itself, so a route added later is
covered without touching this file. Leads and tasks likewise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.activities.models import Activity
from retentio.auth.models import Role, User
from retentio.sales.models import Deal, Lead
from tests import route_walk
from tests.sales.conftest import START, Sales


@dataclass
class World:
    sales: Sales
    user: User
    client: TestClient
    other: User
    deals: dict[str, int]


@pytest.fixture
def world(sales: Sales) -> World:
    """Four deals made by an admin: the sales user's own, one they watch, one available to
    all, and one of another sales user that they may not see."""
    user, other = sales.user(), sales.user()
    deals = {
        "owned": sales.deal("Своя", owner_id=user.id),
        "watched": sales.deal("Наблюдаю", owner_id=other.id, watcher_ids=[user.id]),
        "shared": sales.deal("Общая", owner_id=other.id, available_to_all=True),
        "hidden": sales.deal("Чужая", owner_id=other.id),
    }
    return World(sales, user, sales.client(user), other, deals)


# --- the walk over every route naming a deal, a lead or a task -------------------------------


def _deal_sample(sales: Sales) -> dict[str, Any]:
    return {
        "title": "Попытка",
        "pipeline_id": sales.pipeline.id,
        "stage_id": sales.pipeline.stages[1],
        "kind": "call",
        "name": "Попытка",
        "status": "in_progress",
    }


def test_every_deal_route_hides_other_peoples_deals(
    world: World, app: FastAPI, db: Session
) -> None:
    # given every route of the app whose path names a deal
    routes = route_walk.naming(app, "deal_id")
    assert {
        ("GET", "/api/v1/deals/{deal_id}"),
        ("PUT", "/api/v1/deals/{deal_id}"),
        ("POST", "/api/v1/deals/{deal_id}/move"),
        ("GET", "/api/v1/deals/{deal_id}/history"),
        ("GET", "/api/v1/deals/{deal_id}/tasks"),
    } <= set(routes)
    assert ("POST", "/deals/{deal_id:int}/move") in routes  # the kanban's page route
    sample = _deal_sample(world.sales)
    hidden, owned = world.deals["hidden"], world.deals["owned"]
    task = world.sales.task(owner_id=world.other.id, deal_id=hidden)
    # when the sales user calls each on someone else's deal, and on their own
    answers = {
        route: (
            route_walk.status(world.client, endpoint, {"deal_id": hidden, "task_id": task}, sample),
            route_walk.status(world.client, endpoint, {"deal_id": owned}, sample),
        )
        for route, endpoint in routes.items()
    }
    # then someone else's deal is missing everywhere, their own never is
    assert {route: theirs for route, (theirs, _mine) in answers.items() if theirs != 404} == {}
    assert {route: mine for route, (_theirs, mine) in answers.items() if mine == 404} == {}
    # and the hidden deal is untouched
    deal = db.get(Deal, hidden)
    assert deal is not None
    assert (deal.title, deal.stage_id, deal.version) == ("Чужая", world.sales.pipeline.first, 1)


def test_every_lead_route_hides_other_peoples_leads(
    world: World, app: FastAPI, db: Session
) -> None:
    # given a lead of another sales user and one of the user's own
    routes = route_walk.naming(app, "lead_id")
    assert ("POST", "/api/v1/leads/{lead_id}/convert") in routes
    hidden = world.sales.lead("Чужая", email="x@example.ru", owner_id=world.other.id)
    owned = world.sales.lead("Своя", email="y@example.ru", owner_id=world.user.id)
    sample = _deal_sample(world.sales)
    # when the sales user calls each route on both
    answers = {
        route: (
            route_walk.status(world.client, endpoint, {"lead_id": hidden}, sample),
            route_walk.status(world.client, endpoint, {"lead_id": owned}, sample),
        )
        for route, endpoint in routes.items()
    }
    # then the other's lead is missing everywhere and left as it was
    assert {route: theirs for route, (theirs, _mine) in answers.items() if theirs != 404} == {}
    assert {route: mine for route, (_theirs, mine) in answers.items() if mine == 404} == {}
    lead = db.get(Lead, hidden)
    assert lead is not None
    assert (lead.status, lead.deal_id) == ("new", None)


def test_every_task_route_hides_tasks_of_hidden_deals(
    world: World, app: FastAPI, db: Session
) -> None:
    # given a task on a hidden deal and a task on the user's own deal
    routes = route_walk.naming(app, "task_id")
    assert ("POST", "/api/v1/tasks/{task_id}/complete") in routes
    hidden = world.sales.task(owner_id=world.other.id, deal_id=world.deals["hidden"])
    owned = world.sales.task(owner_id=world.other.id, deal_id=world.deals["owned"])
    sample = _deal_sample(world.sales)
    # when the sales user calls each route on both
    answers = {
        route: (
            route_walk.status(
                world.client,
                endpoint,
                {"task_id": hidden, "deal_id": world.deals["hidden"]},
                sample,
            ),
            route_walk.status(
                world.client,
                endpoint,
                {"task_id": owned, "deal_id": world.deals["owned"]},
                sample,
            ),
        )
        for route, endpoint in routes.items()
    }
    # then the hidden deal's task is missing everywhere and stays open
    assert {route: theirs for route, (theirs, _mine) in answers.items() if theirs != 404} == {}
    assert {route: mine for route, (_theirs, mine) in answers.items() if mine == 404} == {}
    assert db.scalar(select(Activity.done_at).where(Activity.id == hidden)) is None


# --- what a sales user does see ----------------------------------------------------------------


def test_lists_and_export_show_only_visible_deals(world: World) -> None:
    # when the sales user lists and exports the deals, and searches for the hidden one
    listed = world.client.get("/api/v1/deals").json()
    exported = world.client.get("/api/v1/deals/export.csv").text.lstrip("\ufeff").splitlines()
    searched = world.client.get("/api/v1/deals", params={"q": "Чужая"}).json()
    # then they see their own, the watched and the shared deal only
    visible = sorted(world.deals[k] for k in ("owned", "watched", "shared"))
    assert sorted(d["id"] for d in listed["items"]) == visible
    assert listed["total"] == 3
    assert sorted(int(line.split(";")[0]) for line in exported[1:]) == visible
    assert searched["total"] == 0
    admin = world.sales.client(world.sales.admin)
    assert admin.get("/api/v1/deals").json()["total"] == 4


@pytest.mark.parametrize("kind", ["owned", "watched", "shared"])
def test_a_visible_deal_can_be_read_and_moved(world: World, kind: str) -> None:
    # given a deal the sales user may see
    deal = world.deals[kind]
    # when they read it, move it, and read its history and tasks
    card = world.client.get(f"/api/v1/deals/{deal}")
    moved = world.client.post(
        f"/api/v1/deals/{deal}/move",
        json={"stage_id": world.sales.pipeline.stages[1], "version": 1},
    )
    history = world.client.get(f"/api/v1/deals/{deal}/history")
    tasks = world.client.get(f"/api/v1/deals/{deal}/tasks")
    # then all work
    assert (card.status_code, moved.status_code, history.status_code, tasks.status_code) == (
        200,
        200,
        200,
        200,
    )
    assert [h["to_stage_id"] for h in history.json()] == world.sales.pipeline.stages[:2]


def test_hidden_deals_cannot_be_reached_through_tasks_or_conversion(world: World) -> None:
    # given a lead the sales user may convert, and the hidden deal's id
    hidden = world.deals["hidden"]
    lead = world.sales.lead("Свободная", email="free@example.ru")
    # when they try to attach a task or the lead to the hidden deal
    task = world.client.post("/api/v1/tasks", json={"title": "Позвонить", "deal_id": hidden})
    convert = world.client.post(f"/api/v1/leads/{lead}/convert", json={"deal_id": hidden})
    # then the deal is missing
    assert (task.status_code, convert.status_code) == (404, 404)


def test_an_analyst_reads_but_cannot_act(world: World) -> None:
    # given an analyst
    analyst = world.sales.client(world.sales.user(Role.ANALYST))
    deal = world.deals["hidden"]
    # when they read and try to move a deal, create one and create a lead
    read = analyst.get(f"/api/v1/deals/{deal}")
    move = analyst.post(
        f"/api/v1/deals/{deal}/move", json={"stage_id": world.sales.pipeline.stages[1]}
    )
    create = analyst.post(
        "/api/v1/deals", json={"title": "X", "pipeline_id": world.sales.pipeline.id}
    )
    lead = analyst.post("/api/v1/leads", json={"title": "X", "email": "a@example.ru"})
    # then reading works (analysts see everything) and acting is forbidden
    assert (read.status_code, move.status_code, create.status_code, lead.status_code) == (
        200,
        403,
        403,
        403,
    )


def test_sales_users_see_their_own_and_unassigned_leads(world: World) -> None:
    # given leads of the user, of nobody, and of another sales user
    mine = world.sales.lead("Моя", email="m@example.ru", owner_id=world.user.id)
    free = world.sales.lead("Ничья", email="f@example.ru", at=START)
    world.sales.lead("Чужая", email="o@example.ru", owner_id=world.other.id)
    # when they list the leads
    listed = world.client.get("/api/v1/leads").json()
    # then the other's lead is not among them
    assert sorted(lead["id"] for lead in listed["items"]) == sorted([mine, free])
