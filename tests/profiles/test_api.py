"""The profiles API: a filtered, paged list and one contact's profile, with sales visibility."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from tests.analytics.helpers import contact, day, profile
from tests.conftest import UserFactory, log_in


@pytest.fixture
def seller(make_user: UserFactory) -> User:
    return make_user(Role.SALES)


@pytest.fixture
def contacts(db: Session, seller: User) -> dict[str, int]:
    """Five profiled contacts (the seller owns P1 and P2), one without a profile, one deleted."""
    ids = {}
    rows = [
        ("P1", "champions", "low", "loyalty"),
        ("P2", "at_risk", "high", "purchase"),
        ("P3", "champions", "low", "loyalty"),
        ("P4", "at_risk", "lost", "churned"),
        ("P5", None, None, "attraction"),
    ]
    for name, segment, band, stage in rows:
        owner = seller.id if name in ("P1", "P2") else None
        ids[name] = contact(db, name, owner_id=owner)
        profile(
            db,
            ids[name],
            rfm_segment=segment,
            churn_band=band,
            lifecycle_stage=stage,
            orders=0 if segment is None else 2,
            revenue=Decimal("0.00") if segment is None else Decimal("250.00"),
        )
    ids["bare"] = contact(db, "Bare")
    ids["gone"] = contact(db, "Gone", deleted_at=day("2026-01-01"))
    profile(db, ids["gone"], rfm_segment="champions")
    return ids


def test_list_pages_in_contact_order(
    client: TestClient, make_user: UserFactory, contacts: dict[str, int]
) -> None:
    # given
    log_in(client, make_user(Role.ANALYST).email)
    # when
    first = client.get("/api/v1/profiles?per_page=2").json()
    last = client.get("/api/v1/profiles?per_page=2&page=3").json()
    # then: five live profiles, the deleted contact's left out
    assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
    assert [p["contact_id"] for p in first["items"]] == [contacts["P1"], contacts["P2"]]
    assert [p["contact_id"] for p in last["items"]] == [contacts["P5"]]
    item = first["items"][0]
    assert (item["rfm_segment"], item["churn_band"], item["lifecycle_stage"]) == (
        "champions", "low", "loyalty",
    )  # fmt: skip
    assert (item["orders"], item["revenue"], item["clv_12m"]) == (2, "250.00", None)


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("rfm_segment=champions", ["P1", "P3"]),
        ("churn_band=lost", ["P4"]),
        ("lifecycle_stage=attraction", ["P5"]),
        ("rfm_segment=at_risk&churn_band=high", ["P2"]),
        ("rfm_segment=at_risk&lifecycle_stage=loyalty", []),
    ],
)
def test_filters(
    client: TestClient,
    make_user: UserFactory,
    contacts: dict[str, int],
    query: str,
    names: list[str],
) -> None:
    log_in(client, make_user(Role.MARKETER).email)
    body = client.get(f"/api/v1/profiles?{query}").json()
    assert [p["contact_id"] for p in body["items"]] == [contacts[n] for n in names]
    assert body["total"] == len(names)


def test_an_unknown_filter_value_is_422(client: TestClient, make_user: UserFactory) -> None:
    log_in(client, make_user(Role.ANALYST).email)
    response = client.get("/api/v1/profiles?churn_band=purple&per_page=501")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert sorted(d["field"] for d in error["details"]) == ["query.churn_band", "query.per_page"]


def test_sales_see_the_profiles_of_their_contacts_only(
    client: TestClient, seller: User, contacts: dict[str, int]
) -> None:
    # given
    log_in(client, seller.email)
    # when
    body = client.get("/api/v1/profiles").json()
    own = client.get(f"/api/v1/contacts/{contacts['P1']}/profile")
    other = client.get(f"/api/v1/contacts/{contacts['P3']}/profile")
    # then: someone else's contact is missing, not forbidden, as in the contacts API
    assert [p["contact_id"] for p in body["items"]] == [contacts["P1"], contacts["P2"]]
    assert own.status_code == 200
    assert own.json()["contact_id"] == contacts["P1"]
    assert other.status_code == 404
    assert other.json()["error"] == {
        "code": "not_found",
        "message": f"Contact {contacts['P3']} does not exist.",
        "details": None,
    }
    assert client.get(f"/api/v1/contacts/{contacts['P3']}").status_code == 404


def test_one_profile_and_the_404s(
    client: TestClient, make_user: UserFactory, contacts: dict[str, int]
) -> None:
    log_in(client, make_user(Role.ADMIN).email)
    found = client.get(f"/api/v1/contacts/{contacts['P4']}/profile")
    assert found.status_code == 200
    assert found.json()["churn_band"] == "lost"
    bare = client.get(f"/api/v1/contacts/{contacts['bare']}/profile")
    assert bare.status_code == 404
    assert bare.json()["error"]["message"] == (
        f"Contact {contacts['bare']} has no profile yet: run `retentio recompute`."
    )
    for missing in (contacts["gone"], 999_999):
        assert client.get(f"/api/v1/contacts/{missing}/profile").status_code == 404


def test_the_api_needs_authentication(client: TestClient) -> None:
    for path in ("/api/v1/profiles", "/api/v1/contacts/1/profile"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
