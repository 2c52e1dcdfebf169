"""Authorization on every route of the app, generated from the app itself (issue #11): a route
added later without a guard fails here.

1. Nobody signed in: every route outside the small PUBLIC allowlist below refuses — the API
   with 401, pages by sending the browser to /login.
2. Roles: every route declares the permission it needs (`require(Permission.X)`), or is one of
   the few any signed-in user may use; each role lacking it gets 403 and changes nothing.
3. Records: a sales user asking for a contact (or its order) they may not see gets 404 on every
   route naming one, and the contact is left as it was; no read open to them shows its name or
   e-mail. Deals, leads and tasks: the same walk in tests/sales/test_permissions.py.

Expected statuses are exact, so neither a 404 nor a 422 can pass for a guard.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Column, func, select, update
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from retentio.auth.permissions import ROLE_PERMISSIONS, Permission, role_allows
from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.contacts import service as contacts
from retentio.contacts.models import Contact
from retentio.contacts.schemas import ContactFields
from retentio.db import session_scope, utcnow
from retentio.feedback import service as feedback
from retentio.feedback.schemas import AnswerIn
from retentio.models_registry import Base
from retentio.profiles import service as profiles
from retentio.settings import Settings
from tests import route_walk
from tests.conftest import UserFactory, csrf_from
from tests.route_walk import Endpoint, Key
from tests.sales.conftest import START, Sales

# Paths anyone may call, with the reason each is public. Everything else needs a user.
PUBLIC: dict[str, str] = {
    "/login": "the login form and its post",
    "/logout": "ends the session it is called with, if any",
    "/locale": "switches the language on the login page too",
    "/healthz": "liveness for load balancers (answers nothing private)",
    "/livez": "liveness probe",
    "/readyz": "readiness probe",
    "/metrics": "guarded by the metrics token / private network, tested in tests/web",
    "/api/openapi.json": "the API's description is public (no data)",
    "/api/docs": "Swagger UI over the public description",
    "/docs/oauth2-redirect": "part of Swagger UI",
    "/static": "CSS, scripts and images",
    "/static/vendor/plotly.min.js": "a static script from the plotly package",
    "/t.js": "the website tracker script",
    "/collect": "tracker beacons, keyed by the source's write key",
    "/v1/identify": "Segment-compatible API, keyed by the source's write key",
    "/v1/track": "Segment-compatible API, keyed by the source's write key",
    "/v1/page": "Segment-compatible API, keyed by the source's write key",
    "/v1/screen": "Segment-compatible API, keyed by the source's write key",
    "/v1/group": "Segment-compatible API, keyed by the source's write key",
    "/v1/alias": "Segment-compatible API, keyed by the source's write key",
    "/v1/batch": "Segment-compatible API, keyed by the source's write key",
    "/f/{public_id}.js": "embedded form script, by the form's public id",
    "/f/{public_id}/view": "embedded form view beacon",
    "/f/{public_id}/submit": "embedded form submission by visitors",
    "/o/{token}.gif": "open-tracking pixel, signed token",
    "/c/{token}": "click-tracking redirect, signed token",
    "/u/{token}": "one-click unsubscribe, signed token",
    "/p/{token}": "subscription preferences, signed token",
    "/s/widget.js": "embedded survey script",
    "/s/{token}": "survey answered by a contact, signed token",
    "/hooks/sms/{token}": "SMS provider delivery reports, secret per account in the path",
}

# Routes that refuse anonymous callers in the handler rather than through a dependency (they
# also accept a write key), with the permission a signed-in caller needs there.
CHECKED_IN_HANDLER: dict[Key, Permission] = {
    ("POST", "/api/v1/events"): Permission.EDIT_CUSTOMERS,
    ("POST", "/api/v1/events/batch"): Permission.EDIT_CUSTOMERS,
}

# Bodies the request model cannot describe (the batch is parsed by a dependency of its own).
EVENT = {"message_id": "m-1", "type": "page_view", "email": "anna@example.ru"}
BODIES: dict[Key, Any] = {
    ("POST", "/api/v1/events"): EVENT,
    ("POST", "/api/v1/events/batch"): {"events": [EVENT]},
}

# Changes any signed-in user may make without a permission: their own API tokens, which are
# theirs alone (another user's token id is 404). Every other write declares a permission.
SELF_SERVICE: set[Key] = {
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
    ("POST", "/account/tokens"),
    ("POST", "/account/tokens/{token_id}/revoke"),
}


@dataclass
class World:
    sales: Sales
    ids: dict[str, object]  # path parameter → a real record's id
    sample: dict[str, Any]  # body fields by name

    def client(self, user: User | None) -> TestClient:
        if user is not None:
            return self.sales.client(user)
        anonymous = TestClient(self.sales.app, base_url="http://testserver")
        anonymous.__enter__()
        self.sales._clients.append(anonymous)
        anonymous.headers["X-CSRF-Token"] = csrf_from(anonymous)
        return anonymous


@pytest.fixture
def world(app: FastAPI, settings: Settings, make_user: UserFactory) -> Iterator[World]:
    """A contact, its order, a company, a deal, a lead and a task, all owned by the admin."""
    sales = Sales(settings.database_url, app, make_user)
    contact = sales.contact(owner_id=sales.admin.id, email="anna@example.ru")
    deal = sales.deal(owner_id=sales.admin.id, contact_id=contact)
    ids: dict[str, object] = {
        "contact_id": contact,
        "order_id": _order(settings.database_url, contact),
        "deal_id": deal,
        "lead_id": sales.lead(email="lead@example.ru", owner_id=sales.admin.id),
        "task_id": sales.task(owner_id=sales.admin.id, deal_id=deal),
        "pipeline_id": sales.pipeline.id,
        "user_id": sales.admin.id,
        "entity": "contact",
        "token": "nope",
    }
    sample = {
        "first_name": "Попытка",
        "title": "Попытка",
        "pipeline_id": sales.pipeline.id,
        "stage_id": sales.pipeline.stages[1],
        "email": "try@example.ru",
    }
    yield World(sales, ids, sample)
    sales.close()


def _order(url: str, contact_id: int) -> int:
    with session_scope(url) as session:
        order = Order(
            external_id=f"SO-{contact_id}",
            contact_id=contact_id,
            status=OrderStatus.PAID,
            channel=OrderChannel.ONLINE,
            total=Decimal("1000"),
            placed_at=START,
        )
        session.add(order)
        session.flush()
        return order.id


def _public(endpoint: Endpoint) -> bool:
    return endpoint.path in PUBLIC


def _fingerprint(db: Session) -> dict[str, tuple[object, ...]]:
    """Row count and latest `updated_at` of every table: what any write would move."""
    columns: list[Any] = []
    for table in Base.metadata.sorted_tables:
        columns.append(select(func.count()).select_from(table).scalar_subquery())
        updated: Column[Any] | None = table.columns.get("updated_at")
        if updated is not None:
            columns.append(select(func.max(updated)).scalar_subquery())
    row = db.execute(select(*columns)).one()
    values = iter(row)
    return {
        t.name: (next(values),) + ((next(values),) if "updated_at" in t.columns else ())
        for t in Base.metadata.sorted_tables
    }


# --- 1. nobody signed in -----------------------------------------------------------------------


def test_every_route_outside_the_allowlist_refuses_anonymous_callers(
    world: World, app: FastAPI
) -> None:
    # given every route of the app and a visitor with no session (but a CSRF token)
    walked = route_walk.endpoints(app)
    assert {e.path for e in walked} >= set(PUBLIC), "an allowlisted path no longer exists"
    anonymous = world.client(None)
    # when the visitor calls each guarded one
    answers = {
        e.key: route_walk.call(anonymous, e, world.ids, world.sample, json=BODIES.get(e.key))
        for e in walked
        if not _public(e)
    }
    # then the API answers 401 and pages send them to the login form
    wrong = {
        key: (r.status_code, r.headers.get("location", ""))
        for key, r in answers.items()
        if (r.status_code, r.headers.get("location", "").split("?")[0])
        != ((401, "") if key[1].startswith("/api/") else (303, "/login"))
    }
    assert wrong == {}
    assert len(answers) > 300


# --- 2. roles ----------------------------------------------------------------------------------


def _required(endpoint: Endpoint) -> Permission | None:
    return route_walk.permission(endpoint) or CHECKED_IN_HANDLER.get(endpoint.key)


def test_every_route_declares_what_it_needs(app: FastAPI) -> None:
    # given every route that is not public
    guarded = [e for e in route_walk.endpoints(app) if not _public(e)]
    # then each asks for a permission, or for a signed-in user and only reads (or is self-service)
    undeclared = [
        e.key
        for e in guarded
        if _required(e) is None
        and not (route_walk.signed_in(e) and (e.method == "GET" or e.key in SELF_SERVICE))
    ]
    assert undeclared == []
    # and reads open to any signed-in user are what every role may do anyway
    assert all(Permission.VIEW in granted for granted in ROLE_PERMISSIONS.values())


def test_roles_without_the_permission_are_refused_and_change_nothing(
    world: World, app: FastAPI, db: Session
) -> None:
    # given a signed-in user of each role, and every route with the permission it needs
    clients = {role: world.client(world.sales.user(role)) for role in Role}
    needs = {e: p for e in route_walk.endpoints(app) if (p := _required(e)) is not None}
    before = _fingerprint(db)
    # when each role lacking the permission calls the route
    answers = {
        (e.key, role.value): route_walk.status(
            clients[role], e, world.ids, world.sample, json=BODIES.get(e.key)
        )
        for e, needed in needs.items()
        for role in Role
        if not role_allows(role, needed)
    }
    # then every answer is 403 and nothing was written
    assert {call: status for call, status in answers.items() if status != 403} == {}
    assert _fingerprint(db) == before
    # and the interesting refusals were all made: analysts writing, sales users in settings
    assert (("POST", "/api/v1/contacts"), "analyst") in answers
    assert (("POST", "/contacts/{contact_id:int}/edit"), "analyst") in answers
    assert (("POST", "/api/v1/events"), "analyst") in answers
    assert (("GET", "/settings/accounts"), "sales") in answers
    assert (("POST", "/api/v1/imports"), "sales") in answers
    assert (("POST", "/api/v1/segments"), "sales") in answers


# --- 3. records a sales user may not see -------------------------------------------------------


@dataclass
class Owners:
    """Two sales users, the first signed in; records are contacts with an order and a profile."""

    url: str
    user: User
    other: User
    client: TestClient
    made: int = 0

    def record(self, *, hidden: bool) -> dict[str, object]:
        """A fresh record of the second user (hidden) or of the signed-in one; fresh, as a
        route may delete or merge the last one. Merging asks for a second contact: `other_id`
        (`merge_id`) is one shared with all, so only the record in the path decides."""
        self.made += 1
        owner = self.other if hidden else self.user
        contact = _contact(self.url, owner=owner, email=f"c{self.made}@example.ru")
        shared = _contact(self.url, owner=self.other, available_to_all=True)
        with session_scope(self.url) as session:
            profiles.refresh(session, [contact])
        order = _order(self.url, contact)
        return {"contact_id": contact, "order_id": order, "other_id": shared, "merge_id": shared}


@pytest.fixture
def owners(world: World) -> Owners:
    user, other = world.sales.user(), world.sales.user()
    return Owners(world.sales.url, user, other, world.sales.client(user))


def _contact(url: str, *, owner: User, **fields: Any) -> int:
    data = ContactFields(owner_id=owner.id, first_name="Скрытая", **fields)
    with session_scope(url) as session:
        return contacts.create_contact(
            session, data, contacts.WriteContext(actor_id=owner.id, default_region="RU")
        ).id


def _open_to_sales(endpoint: Endpoint) -> bool:
    """Routes a sales user may call at all; the others refuse them whatever the record (test 2)."""
    needed = _required(endpoint)
    return needed is None or role_allows(Role.SALES, needed)


@pytest.mark.parametrize("param", ["contact_id", "order_id"])
def test_every_route_naming_a_contact_hides_other_peoples_contacts(
    world: World, owners: Owners, app: FastAPI, db: Session, param: str
) -> None:
    # given every route open to sales users whose path names a contact (or one of its orders)
    routes = [e for e in route_walk.naming(app, param).values() if _open_to_sales(e)]
    assert len(routes) >= (15 if param == "contact_id" else 2)
    hidden = owners.record(hidden=True)
    before = _fingerprint(db)
    # when the sales user calls each on another owner's record, and then on their own
    theirs = {
        e.key: route_walk.status(owners.client, e, hidden, hidden | world.sample) for e in routes
    }
    after = _fingerprint(db)
    mine = {}
    for e in routes:
        own = owners.record(hidden=False)
        mine[e.key] = route_walk.status(owners.client, e, own, own | world.sample)
    # then the other's record is missing everywhere and untouched, their own never is
    assert {key: status for key, status in theirs.items() if status != 404} == {}
    assert after == before
    assert {key: status for key, status in mine.items() if status == 404} == {}
    contact = db.get(Contact, hidden["contact_id"])
    assert contact is not None
    assert (contact.first_name, contact.deleted_at) == ("Скрытая", None)


def test_another_users_api_token_cannot_be_revoked(
    world: World, owners: Owners, app: FastAPI, db: Session
) -> None:
    # given an API token of the admin
    admin = world.client(world.sales.admin)
    created = admin.post("/api/v1/tokens", json={"name": "ci"})
    assert created.status_code == 201, created.text
    token_id = created.json()["id"]
    before = _fingerprint(db)
    # when a sales user tries every route naming a token on it
    answers = {
        e.key: route_walk.status(owners.client, e, {"token_id": token_id}, world.sample)
        for e in route_walk.naming(app, "token_id").values()
    }
    # then the token is missing to them and still works
    assert answers == {
        ("DELETE", "/api/v1/tokens/{token_id}"): 404,
        ("POST", "/account/tokens/{token_id}/revoke"): 404,
    }
    assert _fingerprint(db) == before
    assert [t["id"] for t in admin.get("/api/v1/tokens").json()] == [token_id]


def test_no_page_or_api_read_shows_a_hidden_contact(
    world: World, owners: Owners, app: FastAPI, db: Session
) -> None:
    # given another owner's contact with a name and e-mail found nowhere else, which an admin
    # put on a ticket and in a static segment, and who answered an NPS survey
    hidden = owners.record(hidden=True)
    db.execute(
        update(Contact)
        .where(Contact.id == hidden["contact_id"])
        .values(last_name="Невидимкина", email="nevidimkina@example.ru")
    )
    admin = world.client(world.sales.admin)
    ticket = admin.post(
        "/api/v1/tickets", json={"subject": "?", "contact_id": hidden["contact_id"]}
    )
    segment = admin.post("/api/v1/segments", json={"name": "Список", "kind": "static"})
    added = admin.post(
        f"/api/v1/segments/{segment.json()['id']}/contacts",
        json={"contact_ids": [hidden["contact_id"]]},
    )
    survey = admin.post(
        "/api/v1/feedback/surveys",
        json={"kind": "nps", "name": "NPS", "question": "Порекомендуете нас?"},
    )
    assert (ticket.status_code, segment.status_code, added.status_code) == (201, 201, 200)
    assert survey.status_code == 201
    survey_id = survey.json()["id"]
    feedback.answer(db, survey_id, hidden["contact_id"], "m1", AnswerIn(score=10), now=utcnow())
    db.commit()
    ids = world.ids | hidden
    ids |= {"ticket_id": ticket.json()["id"], "segment_id": segment.json()["id"]}
    ids |= {"survey_id": survey_id}
    # when the sales user reads every route open to them
    leaks = [
        e.key
        for e in route_walk.endpoints(app)
        if e.method == "GET" and not _public(e) and _open_to_sales(e)
        if _shows_hidden(route_walk.call(owners.client, e, ids, {}).text)
    ]
    # then the contact shows nowhere (the tickets queue and a survey's answers used to print
    # the name), while an admin still sees it there
    assert leaks == []
    assert _shows_hidden(admin.get("/tickets").text)
    assert _shows_hidden(admin.get(f"/feedback/{survey_id}").text)


def _shows_hidden(text: str) -> bool:
    return "Невидимкина" in text or "nevidimkina@" in text
