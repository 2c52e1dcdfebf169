"""The audit log covers settings changes, imports started and exports: who, what, which.

Tracking sources, web forms, import schedules and mappings, loyalty and sales settings are in
`test_audit_settings.py`.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.audit.helpers import admin_id, entries
from tests.conftest import csrf_from


def test_api_tokens_created_and_revoked_are_recorded(admin_client: TestClient, db: Session) -> None:
    # when an admin creates a token through the API and another on the page, then revokes both
    by_api = admin_client.post("/api/v1/tokens", json={"name": "script"}).json()["id"]
    token = csrf_from(admin_client, "/account/tokens")
    page = admin_client.post("/account/tokens", data={"name": "sheet", "csrf_token": token})
    by_page = next(
        t["id"] for t in admin_client.get("/api/v1/tokens").json() if t["name"] == "sheet"
    )
    revoked = [
        admin_client.delete(f"/api/v1/tokens/{by_api}").status_code,
        admin_client.post(
            f"/account/tokens/{by_page}/revoke", data={"csrf_token": token}, follow_redirects=False
        ).status_code,
    ]
    # then each step is in the log with its actor, and no secret is
    assert (page.status_code, revoked) == (201, [204, 303])
    admin = admin_id(db)
    assert entries(db) == [
        ("api_token", by_api, "create", admin, {}),
        ("api_token", by_page, "create", admin, {}),
        ("api_token", by_api, "revoke", admin, {}),
        ("api_token", by_page, "revoke", admin, {}),
    ]


def test_custom_fields_defined_and_relabelled_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # when an admin defines a field through the API, relabels it there and on the page
    body = {"entity": "contact", "key": "shoe_size", "label": "Shoe", "type": "number"}
    field = admin_client.post("/api/v1/custom-fields", json=body).json()["id"]
    relabelled = admin_client.patch(f"/api/v1/custom-fields/{field}", json={"label": "Size"})
    token = csrf_from(admin_client, "/settings/fields")
    page = admin_client.post(
        f"/settings/fields/{field}/label",
        data={"label": "Shoe size", "csrf_token": token},
        follow_redirects=False,
    )
    # then the log holds the definition and both new labels
    assert (relabelled.status_code, page.status_code) == (200, 303)
    admin = admin_id(db)
    assert entries(db) == [
        ("custom_field", field, "create", admin, {"key": "shoe_size", "label": "Shoe"}),
        ("custom_field", field, "update", admin, {"label": "Size"}),
        ("custom_field", field, "update", admin, {"label": "Shoe size"}),
    ]


def test_a_custom_field_defined_on_the_page_is_recorded(
    admin_client: TestClient, db: Session
) -> None:
    token = csrf_from(admin_client, "/settings/fields")
    form = {"entity": "contact", "key": "pet", "label": "Pet", "type": "string"}
    response = admin_client.post(
        "/settings/fields", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    field = admin_client.get("/api/v1/custom-fields/contact").json()[0]["id"]
    assert entries(db) == [
        ("custom_field", field, "create", admin_id(db), {"key": "pet", "label": "Pet"})
    ]


def test_a_restored_sending_account_is_recorded(admin_client: TestClient, db: Session) -> None:
    # given an archived account
    body = {
        "name": "Hook",
        "kind": "webhook",
        "channel": "email",
        "settings": {"url": "https://hooks.example.com/in", "secret": "s3cret"},
    }
    account = admin_client.post("/api/v1/messaging/accounts", json=body).json()["id"]
    admin_client.post(f"/api/v1/messaging/accounts/{account}/archive")
    # when it is restored through the API, archived again and restored on its page
    restored = admin_client.post(f"/api/v1/messaging/accounts/{account}/restore")
    admin_client.post(f"/api/v1/messaging/accounts/{account}/archive")
    token = csrf_from(admin_client, f"/settings/accounts/{account}")
    page = admin_client.post(
        f"/settings/accounts/{account}/restore", data={"csrf_token": token}, follow_redirects=False
    )
    # then both restores are in the log
    assert (restored.status_code, page.status_code) == (200, 303)
    actions = [(entity, action) for entity, _id, action, _actor, _ in entries(db)]
    assert actions == [
        ("account", "create"),
        ("account", "archive"),
        ("account", "restore"),
        ("account", "archive"),
        ("account", "restore"),
    ]


def test_an_import_started_is_recorded_once(admin_client: TestClient, db: Session) -> None:
    # given an uploaded file, waiting
    job = admin_client.post(
        "/api/v1/imports",
        data={"entity": "contacts"},
        files={"file": ("clients.csv", b"email\na@example.com\n", "text/csv")},
    ).json()["id"]
    # when it is started, and started again while it runs
    first = admin_client.post(f"/api/v1/imports/{job}/run")
    second = admin_client.post(f"/api/v1/imports/{job}/run")
    # then one start is recorded, naming the job and who started it
    assert (first.status_code, second.status_code) == (202, 202)
    assert entries(db) == [("import", job, "start", admin_id(db), {})]


def test_contact_and_segment_exports_are_recorded(admin_client: TestClient, db: Session) -> None:
    # given a segment
    rule = {"field": "contact.city", "op": "eq", "value": "Kazan"}
    segment = admin_client.post("/api/v1/segments", json={"name": "K", "rule": rule}).json()["id"]
    # when the admin exports a filtered contact list and the segment's members
    contacts = admin_client.get("/api/v1/contacts/export?city=Kazan&format=csv")
    members = admin_client.get(f"/api/v1/segments/{segment}/export?format=xlsx")
    # then both exports are in the log with what was asked for
    assert (contacts.status_code, members.status_code) == (200, 200)
    admin = admin_id(db)
    exports = [e for e in entries(db) if e[2] == "export"]
    assert exports == [
        ("contacts", 0, "export", admin, {"filters": {"city": "Kazan"}, "format": "csv"}),
        ("segment", segment, "export", admin, {"format": "xlsx"}),
    ]
