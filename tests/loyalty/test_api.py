"""The loyalty API as a shop and its tills use it: the programme and tiers (admins), points
earned by the worker after an order is posted, redeeming with a key, refusals that name the
balance, the ledger search, liabilities and who may do what."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from retentio.auth.models import Role
from tests.conftest import UserFactory, log_in
from tests.loyalty.conftest import Club


def _login(client: TestClient, make_user: UserFactory, role: Role) -> None:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(role).email)


def _programme(**overrides: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "points_per_unit": "0.05",
        "category_rates": {"coffee": "2"},
        "welcome_bonus": 100,
        "birthday_bonus": 0,
        "expiry_days": 365,
        "tier_window_days": 365,
        **overrides,
    }


def _order(external_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "status": "paid",
        "placed_at": "2026-03-01T10:00:00+03:00",
        "customer": {"external_id": "C-7", "email": "anna@example.ru"},
        "items": [
            {"sku": "BEANS", "category": "coffee", "quantity": 1, "unit_price": "400.00"},
            {"sku": "CUP", "quantity": 1, "unit_price": "600.00"},
        ],
        **overrides,
    }


def test_the_programme_reads_defaults_until_an_admin_saves_it(
    client: TestClient, make_user: UserFactory
) -> None:
    # given
    _login(client, make_user, Role.ADMIN)
    before = client.get("/api/v1/loyalty/programme").json()
    # when
    saved = client.put("/api/v1/loyalty/programme", json=_programme())
    # then
    assert (before["enabled"], before["points_per_unit"], before["updated_at"]) == (
        False,
        "0.0500",
        None,
    )
    assert saved.status_code == 200
    after = client.get("/api/v1/loyalty/programme").json()
    assert (after["enabled"], after["category_rates"], after["welcome_bonus"]) == (
        True,
        {"coffee": "2"},
        100,
    )


def test_tiers_are_created_changed_listed_and_deleted(
    client: TestClient, make_user: UserFactory
) -> None:
    # given
    _login(client, make_user, Role.ADMIN)
    gold = client.post("/api/v1/loyalty/tiers", json={"name": "Gold", "threshold": "50000"})
    silver = client.post("/api/v1/loyalty/tiers", json={"name": "Silver", "threshold": "10000"})
    # when
    twin = client.post("/api/v1/loyalty/tiers", json={"name": "Gold", "threshold": "1"})
    changed = client.put(
        f"/api/v1/loyalty/tiers/{gold.json()['id']}",
        json={"name": "Gold", "threshold": "60000", "multiplier": "1.5", "discount_percent": "5"},
    )
    deleted = client.delete(f"/api/v1/loyalty/tiers/{silver.json()['id']}")
    # then
    assert (gold.status_code, silver.status_code, twin.status_code) == (201, 201, 409)
    assert twin.json()["error"]["details"] == {"field": "name"}
    assert (changed.json()["threshold"], changed.json()["multiplier"]) == ("60000.00", "1.50")
    assert deleted.status_code == 204
    assert [t["name"] for t in client.get("/api/v1/loyalty/tiers").json()] == ["Gold"]


def test_an_order_posted_by_the_shop_earns_points_then_the_till_redeems(
    client: TestClient, make_user: UserFactory, immediate: None
) -> None:
    # given: the programme, and an order posted through commerce (the worker earns after it)
    _login(client, make_user, Role.ADMIN)
    client.put("/api/v1/loyalty/programme", json=_programme())
    contact_id = client.post("/api/v1/orders", json=_order("SO-1")).json()["contact_id"]
    # when: the till redeems, retries the same receipt, then asks for too much
    url = f"/api/v1/contacts/{contact_id}/loyalty"
    first = client.post(f"{url}/redeem", json={"points": 50, "key": "pos-1", "reason": "coffee"})
    retry = client.post(f"{url}/redeem", json={"points": 50, "key": "pos-1", "reason": "coffee"})
    greedy = client.post(f"{url}/redeem", json={"points": 500, "key": "pos-2"})
    # then: 100 welcome + floor(1000 × 1.4 × 0.05) = 170, less 50
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert greedy.status_code == 409
    assert greedy.json()["error"]["code"] == "insufficient_points"
    assert greedy.json()["error"]["details"] == {"field": "points", "balance": 120}
    points = client.get(url).json()
    assert points["balance"] == 120
    assert [(e["kind"], e["points"]) for e in points["entries"]] == [
        ("redeem", -50),
        ("earn", 70),
        ("earn", 100),
    ]


def test_a_refunded_order_takes_its_points_back(
    client: TestClient, make_user: UserFactory, immediate: None
) -> None:
    # given: 70 points earned on SO-2
    _login(client, make_user, Role.ADMIN)
    client.put("/api/v1/loyalty/programme", json=_programme(welcome_bonus=0))
    posted = client.post("/api/v1/orders", json=_order("SO-2")).json()
    # when: the shop posts it again, refunded
    client.post("/api/v1/orders", json=_order("SO-2", status="refunded"))
    # then
    points = client.get(f"/api/v1/contacts/{posted['contact_id']}/loyalty").json()
    assert points["balance"] == 0
    assert [(e["kind"], e["points"], e["key"]) for e in points["entries"]] == [
        ("adjust", -70, f"order:{posted['id']}:reverse"),
        ("earn", 70, f"order:{posted['id']}:earn"),
    ]


def test_ledger_search_filters_by_kind_and_pages(
    client: TestClient, make_user: UserFactory, club: Club
) -> None:
    # given: one adjustment and three redemptions
    _login(client, make_user, Role.ADMIN)
    anna = club.contact()
    club.grant(anna, 100)
    for n in range(3):
        client.post(f"/api/v1/contacts/{anna}/loyalty/redeem", json={"points": 10, "key": f"k{n}"})
    # when
    page = client.get(
        "/api/v1/loyalty/ledger", params={"contact_id": anna, "kind": "redeem", "limit": 2}
    ).json()
    rest = client.get(
        "/api/v1/loyalty/ledger",
        params={"contact_id": anna, "kind": "redeem", "limit": 2, "offset": 2},
    ).json()
    # then
    assert page["total"] == 3
    assert [e["key"] for e in page["entries"]] == ["k2", "k1"]
    assert [e["key"] for e in rest["entries"]] == ["k0"]


def test_liabilities_sum_the_points_outstanding_by_tier(
    client: TestClient, make_user: UserFactory, club: Club
) -> None:
    # given
    _login(client, make_user, Role.ANALYST)
    anna, boris, vera = club.contact(), club.contact(), club.contact()
    club.grant(anna, 300)
    club.grant(boris, 200)
    club.grant(vera, 50)
    club.grant(vera, -50)
    # when
    owed = client.get("/api/v1/loyalty/liabilities").json()
    # then: Vera holds nothing and is not counted
    assert owed == {
        "points": 500,
        "accounts": 2,
        "by_tier": [{"tier_id": None, "tier": None, "accounts": 2, "points": 500}],
    }


def test_an_analyst_may_read_but_not_adjust_redeem_or_change_the_programme(
    client: TestClient, make_user: UserFactory, club: Club
) -> None:
    # given
    anna = club.contact()
    club.grant(anna, 100)
    _login(client, make_user, Role.ANALYST)
    # when
    statuses = [
        client.get(f"/api/v1/contacts/{anna}/loyalty").status_code,
        client.post(
            f"/api/v1/contacts/{anna}/loyalty/adjust", json={"points": 5, "reason": "gift"}
        ).status_code,
        client.post(
            f"/api/v1/contacts/{anna}/loyalty/redeem", json={"points": 5, "key": "x"}
        ).status_code,
        client.put("/api/v1/loyalty/programme", json=_programme()).status_code,
        client.post("/api/v1/loyalty/tiers", json={"name": "Gold", "threshold": "1"}).status_code,
    ]
    # then
    assert statuses == [200, 403, 403, 403, 403]
    assert club.balance(anna) == 100


def test_a_marketer_may_redeem_but_only_an_admin_adjusts(
    client: TestClient, make_user: UserFactory, club: Club
) -> None:
    # given
    anna = club.contact()
    club.grant(anna, 100)
    _login(client, make_user, Role.MARKETER)
    # when
    redeemed = client.post(
        f"/api/v1/contacts/{anna}/loyalty/redeem", json={"points": 5, "key": "m"}
    )
    adjusted = client.post(
        f"/api/v1/contacts/{anna}/loyalty/adjust", json={"points": 5, "reason": "gift"}
    )
    # then
    assert (redeemed.status_code, adjusted.status_code) == (200, 403)
    assert club.balance(anna) == 95


def test_an_admin_adjusts_with_a_reason(
    client: TestClient, make_user: UserFactory, club: Club
) -> None:
    # given
    anna = club.contact()
    _login(client, make_user, Role.ADMIN)
    url = f"/api/v1/contacts/{anna}/loyalty/adjust"
    # when
    given = client.post(url, json={"points": 40, "reason": "late delivery"})
    blank = client.post(url, json={"points": 40, "reason": ""})
    # then
    assert given.status_code == 200
    assert (given.json()["kind"], given.json()["points"], given.json()["reason"]) == (
        "adjust",
        40,
        "late delivery",
    )
    assert blank.status_code == 422
    assert club.balance(anna) == 40
