"""Tracking sources: the admin API and the settings pages (create, card with snippets, rotate)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.events.models import Source
from tests.conftest import UserFactory, log_in


def test_an_admin_creates_lists_updates_and_rotates_a_source(admin_client: TestClient) -> None:
    # when: a source is created with origins typed loosely
    created = admin_client.post(
        "/api/v1/sources",
        json={"name": " Shop ", "allowed_origins": ["https://Shop.example/any/path", ""]},
    )
    source = created.json()
    # then
    assert created.status_code == 201
    assert (source["name"], source["allowed_origins"]) == ("Shop", ["https://shop.example"])
    assert len(source["write_key"]) >= 32
    listed = admin_client.get("/api/v1/sources").json()
    assert [s["id"] for s in listed] == [source["id"]]
    # when: renamed only, then rotated
    renamed = admin_client.patch(f"/api/v1/sources/{source['id']}", json={"name": "Store"})
    rotated = admin_client.post(f"/api/v1/sources/{source['id']}/rotate-key")
    # then: the origins stay, the key changes
    assert (renamed.json()["name"], renamed.json()["allowed_origins"]) == (
        "Store",
        ["https://shop.example"],
    )
    assert rotated.json()["write_key"] != source["write_key"]


def test_an_old_write_key_stops_working_after_rotation(admin_client: TestClient) -> None:
    source = admin_client.post("/api/v1/sources", json={"name": "Shop"}).json()
    admin_client.post(f"/api/v1/sources/{source['id']}/rotate-key")
    event = {"message_id": "m", "type": "page_view", "anonymous_id": "a"}
    response = admin_client.post(
        "/api/v1/events", json=event, headers={"X-Write-Key": source["write_key"]}
    )
    assert response.status_code == 401


def test_a_bad_origin_is_422_naming_the_field(admin_client: TestClient, db: Session) -> None:
    response = admin_client.post(
        "/api/v1/sources", json={"name": "Shop", "allowed_origins": ["shop.example"]}
    )
    assert response.status_code == 422
    assert [d["field"] for d in response.json()["error"]["details"]] == ["allowed_origins"]
    assert db.scalars(select(Source)).all() == []


def test_only_admins_manage_sources(client: TestClient, make_user: UserFactory) -> None:
    csrf = log_in(client, make_user(Role.MARKETER).email)
    listed = client.get("/api/v1/sources")
    created = client.post("/api/v1/sources", json={"name": "X"}, headers={"X-CSRF-Token": csrf})
    page = client.get("/settings/sources")
    assert (listed.status_code, created.status_code, page.status_code) == (403, 403, 403)


def test_the_settings_page_creates_a_source_and_shows_its_snippets(
    admin_client: TestClient, db: Session
) -> None:
    # given: the settings hub links to the sources page
    assert 'href="/settings/sources"' in admin_client.get("/settings").text
    # when: the create form is sent with two origins, one per line
    response = admin_client.post(
        "/settings/sources",
        data={
            "name": "Shop",
            "allowed_origins": "https://shop.example\r\nhttps://m.shop.example\r\n",
        },
        follow_redirects=True,
    )
    # then: the card shows the key, the tracker tag and the SDK example for this server
    source = db.scalars(select(Source)).one()
    key = source.write_key
    assert response.status_code == 200
    assert source.allowed_origins == ["https://shop.example", "https://m.shop.example"]
    assert f'data-testid="write-key">{key}<' in response.text
    tracker = f'&lt;script src="http://127.0.0.1:8000/t.js" data-write-key="{key}" async&gt;'
    assert tracker in response.text
    assert 'analytics.host = "http://127.0.0.1:8000"' in response.text
    assert "Shop" in admin_client.get("/settings/sources").text


def test_the_page_form_shows_an_invalid_origin_and_keeps_the_input(
    admin_client: TestClient, db: Session
) -> None:
    response = admin_client.post(
        "/settings/sources", data={"name": "Shop", "allowed_origins": "ftp://x"}
    )
    assert response.status_code == 422
    assert re.search(r"role=\"alert\">[^<]*ftp://x", response.text)
    assert ">ftp://x</textarea>" in response.text
    assert db.scalars(select(Source)).all() == []


def test_rotating_from_the_card_issues_a_new_key(admin_client: TestClient, db: Session) -> None:
    admin_client.post("/settings/sources", data={"name": "Shop"})
    source = db.scalars(select(Source)).one()
    old = source.write_key
    db.commit()
    response = admin_client.post(f"/settings/sources/{source.id}/rotate", follow_redirects=True)
    assert response.status_code == 200
    assert db.scalars(select(Source.write_key)).one() not in (old, "")
    assert old not in response.text


def test_the_card_form_renames_and_sets_origins(admin_client: TestClient, db: Session) -> None:
    admin_client.post("/settings/sources", data={"name": "Shop"})
    source_id = db.scalars(select(Source.id)).one()
    db.commit()
    response = admin_client.post(
        f"/settings/sources/{source_id}",
        data={"name": "Store", "allowed_origins": "https://store.example"},
        follow_redirects=False,
    )
    stored = db.scalars(select(Source)).one()
    assert response.status_code == 303
    assert (stored.name, stored.allowed_origins) == ("Store", ["https://store.example"])
