"""The journeys JSON API: ready-made scenarios, validation errors that name the node,
activation, the API trigger, per-step counts, enrollments, the report against the holdout,
and permissions."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.commerce.models import OrderStatus
from retentio.journeys.models import Group
from tests.conftest import UserFactory, log_in
from tests.journeys.conftest import Shop, send, wait


def _login(client: TestClient, make_user: UserFactory, role: Role = Role.MARKETER) -> None:
    user = make_user(role)
    client.headers["X-CSRF-Token"] = log_in(client, user.email)


def _journey(account: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Брошенная корзина",
        "trigger": {"kind": "event", "event_type": "cart_add"},
        "goal": {"kind": "order", "attribution_days": 7},
        "steps": [wait("w", "mail", amount=2, unit="hours"), send(account, "mail")],
    }
    body.update(overrides)
    return body


def test_every_scenario_can_be_created_and_activated(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given a marketer and an e-mail account
    _login(client, make_user)
    shop.account()
    templates = client.get("/api/v1/journeys/templates").json()
    # when each ready-made journey is created and activated
    created = [
        client.post("/api/v1/journeys/from-template", json={"template": t["key"]})
        for t in templates
    ]
    activated = [client.post(f"/api/v1/journeys/{r.json()['id']}/activate") for r in created]
    # then all twelve exist, valid and active
    assert len(templates) == 12
    assert [r.status_code for r in created] == [201] * 12
    assert [r.json()["status"] for r in activated] == ["active"] * 12
    cart = next(r.json() for r in created if r.json()["template"] == "abandoned_cart")
    assert [s["kind"] for s in cart["steps"]] == ["wait", "send", "wait", "send"]


def test_a_scenario_needs_a_sending_account(client: TestClient, make_user: UserFactory) -> None:
    _login(client, make_user)
    response = client.post("/api/v1/journeys/from-template", json={"template": "birthday"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "account_id"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": [wait("w", "nowhere", amount=1)]}, "steps.0.next"),
        ({"steps": [wait("w", None, amount=1), wait("w", None, amount=2)]}, "steps.1.key"),
        ({"steps": [wait("a", "b", amount=1), wait("b", "a", amount=1)]}, "steps.0"),
        ({"steps": [wait("a", None, amount=1), wait("b", None, amount=1)]}, "steps.1"),
        ({"trigger": {"kind": "segment_entered", "segment_id": 999}}, "trigger.segment_id"),
        ({"trigger": {"kind": "teleport"}}, "trigger"),
        ({"policy": {"holdout_share": 0.9}}, "policy.holdout_share"),
        (
            {
                "steps": [
                    {
                        "key": "c",
                        "kind": "condition",
                        "rule": {"field": "contact.nope", "op": "eq", "value": 1},
                    }
                ]
            },
            "steps.0.rule",
        ),
        (
            {
                "steps": [
                    {"key": "s", "kind": "send", "account_id": 999, "subject": "x", "text": "y"}
                ]
            },
            "steps.0.account_id",
        ),
    ],
)
def test_invalid_journeys_are_refused_naming_the_node(
    client: TestClient, make_user: UserFactory, shop: Shop, change: dict[str, Any], field: str
) -> None:
    _login(client, make_user)
    response = client.post("/api/v1/journeys", json=_journey(shop.account(), **change))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"].startswith(field)


def test_api_trigger_counts_and_enrollments(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given an active API-triggered journey with a wait
    _login(client, make_user)
    body = _journey(shop.account(), trigger={"kind": "api"})
    journey = client.post("/api/v1/journeys", json=body).json()["id"]
    client.post(f"/api/v1/journeys/{journey}/activate")
    (ann, bob) = shop.contacts(2)
    # when two contacts are enrolled through the API (Ann twice with one key)
    first = client.post(f"/api/v1/journeys/{journey}/enroll", json={"contact_id": ann, "key": "k1"})
    again = client.post(f"/api/v1/journeys/{journey}/enroll", json={"contact_id": ann, "key": "k1"})
    client.post(f"/api/v1/journeys/{journey}/enroll", json={"contact_id": bob})
    # then one enrollment each, both waiting at the first step
    assert first.json()["enrollment"]["id"] == again.json()["enrollment"]["id"]
    listed = client.get(f"/api/v1/journeys/{journey}/enrollments").json()
    assert sorted(e["contact_id"] for e in listed) == [ann, bob]
    stats = client.get(f"/api/v1/journeys/{journey}/stats").json()
    assert stats["enrolled"] == 2
    assert stats["steps"][0] == {"step": "w", "waiting": 2, "passed": 0, "exited": 0}


def test_report_compares_with_the_holdout(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given 60 contacts through a journey with a 50 % holdout, days ago
    _login(client, make_user)
    journey = shop.journey(
        {"kind": "api"}, [send(shop.account(), "offer")], policy={"holdout_share": 0.5}
    )
    people = shop.contacts(60)
    for contact_id in people:
        shop.enroll(journey, contact_id, data={})
    shop.run()
    groups = {e.contact_id: e.group for e in shop.enrollments(journey)}
    treated = [c for c in people if groups[c] == Group.TREATED]
    holdout = [c for c in people if groups[c] == Group.HOLDOUT]
    # when 6 treated and 2 held-out contacts order 1,000 ₽ within the window, one treated
    # contact orders after it, and one cancels
    shop.later(days=1)
    for contact_id in treated[:6] + holdout[:2]:
        shop.order(contact_id, total=1000)
    shop.order(treated[7], total=1000, status=OrderStatus.CANCELLED)
    shop.later(days=10)
    shop.order(treated[6], total=1000)
    report = client.get(f"/api/v1/journeys/{journey}/report").json()
    # then the groups and the incremental effect follow from those counts alone
    t, h = len(treated), len(holdout)
    assert report["treated"] == {"size": t, "converted": 6, "rate": 6 / t, "revenue": 6000.0}
    assert report["holdout"] == {"size": h, "converted": 2, "rate": 2 / h, "revenue": 2000.0}
    assert report["incremental_conversions"]["estimate"] == pytest.approx((6 / t - 2 / h) * t)
    assert report["incremental_revenue"]["estimate"] == pytest.approx((6000 / t - 2000 / h) * t)
    assert report["messages_by_step"] == {"offer": {"queued": t}}


def test_pause_resume_archive(client: TestClient, make_user: UserFactory, shop: Shop) -> None:
    _login(client, make_user)
    journey = client.post("/api/v1/journeys", json=_journey(shop.account())).json()["id"]
    paused_draft = client.post(f"/api/v1/journeys/{journey}/pause")
    states = [
        client.post(f"/api/v1/journeys/{journey}/{action}").json()["status"]
        for action in ("activate", "pause", "resume", "archive")
    ]
    assert paused_draft.status_code == 409
    assert states == ["active", "paused", "active", "archived"]


def test_readers_cannot_change_journeys(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    _login(client, make_user, Role.ANALYST)
    body = _journey(shop.account())
    assert client.get("/api/v1/journeys").status_code == 200
    assert client.post("/api/v1/journeys", json=body).status_code == 403
