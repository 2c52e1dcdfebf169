"""Changes to settings are in the audit log with who made them, through the API and the pages
alike: tracking sources, web forms, import schedules and saved mappings, the loyalty programme
and its tiers, sales pipelines with their stages and lost reasons. No secret is logged."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.audit.helpers import admin_id, entries
from tests.conftest import csrf_from

# --- tracking sources --------------------------------------------------------------------------


def test_tracking_sources_created_changed_and_rekeyed_are_recorded_without_their_keys(
    admin_client: TestClient, db: Session
) -> None:
    # when an admin creates a source through the API, renames it and re-keys it there
    body = {"name": "Shop", "allowed_origins": ["https://shop.example"]}
    created = admin_client.post("/api/v1/sources", json=body).json()
    by_api = created["id"]
    renamed = admin_client.patch(f"/api/v1/sources/{by_api}", json={"name": "Store"})
    rotated = admin_client.post(f"/api/v1/sources/{by_api}/rotate-key")
    # and creates another on the settings page, adds an origin to it and re-keys it there
    token = csrf_from(admin_client, "/settings/sources")
    made = admin_client.post(
        "/settings/sources",
        data={"name": "Blog", "allowed_origins": "https://blog.example", "csrf_token": token},
        follow_redirects=False,
    )
    by_page = int(made.headers["location"].rsplit("/", 1)[1])
    origins = "https://blog.example\r\nhttps://m.blog.example"
    changed = admin_client.post(
        f"/settings/sources/{by_page}",
        data={"name": "Blog", "allowed_origins": origins, "csrf_token": token},
        follow_redirects=False,
    )
    rekeyed = admin_client.post(
        f"/settings/sources/{by_page}/rotate", data={"csrf_token": token}, follow_redirects=False
    )
    # then each step is in the log with its actor and what changed
    statuses = [r.status_code for r in (renamed, rotated, made, changed, rekeyed)]
    assert statuses == [200, 200, 303, 303, 303]
    admin = admin_id(db)
    assert entries(db) == [
        ("source", by_api, "create", admin, body),
        ("source", by_api, "update", admin, {"name": ["Shop", "Store"]}),
        ("source", by_api, "rotate_key", admin, {}),
        (
            "source",
            by_page,
            "create",
            admin,
            {"name": "Blog", "allowed_origins": ["https://blog.example"]},
        ),
        (
            "source",
            by_page,
            "update",
            admin,
            {
                "allowed_origins": [
                    ["https://blog.example"],
                    ["https://blog.example", "https://m.blog.example"],
                ]
            },
        ),
        ("source", by_page, "rotate_key", admin, {}),
    ]
    # and no write key, old or current, is anywhere in the log
    keys = {created["write_key"], rotated.json()["write_key"]}
    keys |= {s["write_key"] for s in admin_client.get("/api/v1/sources").json()}
    logged = json.dumps(entries(db))
    assert [key for key in keys if key in logged] == []


def test_a_source_refused_on_the_page_is_not_recorded(
    admin_client: TestClient, db: Session
) -> None:
    token = csrf_from(admin_client, "/settings/sources")
    refused = admin_client.post(
        "/settings/sources",
        data={"name": "Shop", "allowed_origins": "shop.example", "csrf_token": token},
    )
    assert refused.status_code == 422
    assert entries(db) == []


# --- web forms ---------------------------------------------------------------------------------

EMAIL_FIELD = {
    "name": "email",
    "label": "E-mail",
    "maps_to": "email",
    "required": True,
    "kind": "email",
    "overwrite": False,
}
# A consent as the log keeps it: with its wording's version, without the earlier wordings.
NEWS_CONSENT = {
    "key": "news",
    "channel": "email",
    "purpose": "marketing",
    "text": "News by e-mail",
    "required": False,
    "version": "1",
}


def _editor(name: str, *, consent: bool, active: bool) -> dict[str, str]:
    """What the form editor posts: the e-mail field, the news consent if asked, a blank row."""
    data = {
        "name": name,
        "fields-0-label": "E-mail",
        "fields-0-name": "email",
        "fields-0-maps_to": "email",
        "fields-0-kind": "email",
        "fields-0-required": "true",
        "fields-1-label": "",
        "fields-1-name": "",
        "fields-1-maps_to": "",
        "fields-1-kind": "text",
        "consents-0-key": "news" if consent else "",
        "consents-0-channel": "email",
        "consents-0-purpose": "marketing",
        "consents-0-text": "News by e-mail" if consent else "",
        "success_message": "Thank you!",
        "tag": "",
        "source_id": "",
    }
    return {**data, "is_active": "true"} if active else data


def test_web_forms_defined_changed_and_switched_off_and_on_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # when a marketer defines a form through the API, renames it, switches it off and on again
    body: dict[str, Any] = {
        "name": "News",
        "fields": [{k: v for k, v in EMAIL_FIELD.items() if k != "overwrite"}],
        "consents": [{"key": "news", "channel": "email", "text": "News by e-mail"}],
    }
    by_api = admin_client.post("/api/v1/forms", json=body).json()["id"]
    api_steps = [
        admin_client.patch(f"/api/v1/forms/{by_api}", json={"name": "Newsletter"}).status_code,
        admin_client.delete(f"/api/v1/forms/{by_api}").status_code,
        admin_client.patch(f"/api/v1/forms/{by_api}", json={"is_active": True}).status_code,
    ]
    # and defines another in the editor, adds a consent while switching it off, then on again
    token = csrf_from(admin_client, "/settings/forms/new")
    made = admin_client.post(
        "/settings/forms/new",
        data={**_editor("Spring", consent=False, active=True), "csrf_token": token},
        follow_redirects=False,
    )
    by_page = int(made.headers["location"].rsplit("/", 1)[1])
    page_steps = [
        admin_client.post(
            f"/settings/forms/{by_page}/edit",
            data={**_editor("Spring", consent=consent, active=active), "csrf_token": token},
            follow_redirects=False,
        ).status_code
        for consent, active in ((True, False), (True, True))
    ]
    # then the log holds each definition whole and each change by what it changed
    assert (api_steps, made.status_code, page_steps) == ([200, 204, 200], 303, [303, 303])
    admin = admin_id(db)
    defined = {"consents": [], "tag": None, "source_id": None, "is_active": True}
    assert entries(db) == [
        (
            "form",
            by_api,
            "create",
            admin,
            {
                **defined,
                "name": "News",
                "fields": [EMAIL_FIELD],
                "consents": [NEWS_CONSENT],
                "success_message": "",
            },
        ),
        ("form", by_api, "update", admin, {"name": ["News", "Newsletter"]}),
        ("form", by_api, "deactivate", admin, {}),
        ("form", by_api, "activate", admin, {}),
        (
            "form",
            by_page,
            "create",
            admin,
            {
                **defined,
                "name": "Spring",
                "fields": [EMAIL_FIELD],
                "success_message": "Thank you!",
            },
        ),
        (
            "form",
            by_page,
            "update",
            admin,
            {"consents": [[], [NEWS_CONSENT]], "is_active": [True, False]},
        ),
        ("form", by_page, "activate", admin, {}),
    ]


# --- import schedules and saved mappings ---------------------------------------------------------

DEFAULT_OPTIONS = {
    "match_by": ["external_id", "email", "phone"],
    "overwrite_empty": False,
    "dry_run": False,
}
PRICES_URL = "https://sheets.example/prices.csv"


def test_import_schedules_created_changed_paused_and_deleted_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # when an importer schedules an import through the API, changes its time, pauses, deletes it
    body = {"name": "Prices", "entity": "products", "location": PRICES_URL, "cron": "0 3 * * *"}
    by_api = admin_client.post("/api/v1/imports/schedules", json=body).json()["id"]
    url = f"/api/v1/imports/schedules/{by_api}"
    api_steps = [
        admin_client.patch(url, json={"cron": "0 4 * * *"}).status_code,
        admin_client.patch(url, json={"is_active": False}).status_code,
        admin_client.delete(url).status_code,
    ]
    # and on the pages schedules another, renames it, pauses and resumes it, and deletes it
    token = csrf_from(admin_client, "/imports/schedules/new")
    form = {**body, "mapping_id": "", "preset": "", "csrf_token": token}
    made = admin_client.post("/imports/schedules/new", data=form, follow_redirects=False)
    by_page = admin_client.get("/api/v1/imports/schedules").json()[0]["id"]
    page = f"/imports/schedules/{by_page}"
    page_steps = [
        admin_client.post(page, data={**form, "name": "Nightly prices"}, follow_redirects=False),
        admin_client.post(f"{page}/pause", data={"csrf_token": token}, follow_redirects=False),
        admin_client.post(f"{page}/pause", data={"csrf_token": token}, follow_redirects=False),
        admin_client.post(f"{page}/delete", data={"csrf_token": token}, follow_redirects=False),
    ]
    # then every change is in the log, a pause or resume alone under its own name
    assert api_steps == [200, 200, 204]
    assert [made.status_code, *(r.status_code for r in page_steps)] == [303] * 5
    admin = admin_id(db)
    scheduled = {**body, "mapping_id": None, "options": DEFAULT_OPTIONS, "is_active": True}
    assert entries(db) == [
        ("import_schedule", by_api, "create", admin, scheduled),
        ("import_schedule", by_api, "update", admin, {"cron": ["0 3 * * *", "0 4 * * *"]}),
        ("import_schedule", by_api, "pause", admin, {}),
        ("import_schedule", by_api, "delete", admin, {"name": "Prices"}),
        ("import_schedule", by_page, "create", admin, scheduled),
        ("import_schedule", by_page, "update", admin, {"name": ["Prices", "Nightly prices"]}),
        ("import_schedule", by_page, "pause", admin, {}),
        ("import_schedule", by_page, "resume", admin, {}),
        ("import_schedule", by_page, "delete", admin, {"name": "Nightly prices"}),
    ]


def test_saved_import_mappings_created_and_deleted_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # when an importer saves a mapping through the API and deletes it there
    columns = {"Код": "external_id", "Телефон": "phone"}
    body = {"name": "1C", "entity": "contacts", "mapping": columns}
    by_api = admin_client.post("/api/v1/imports/mappings", json=body).json()["id"]
    api_delete = admin_client.delete(f"/api/v1/imports/mappings/{by_api}")
    # and saves another while starting a dry run on the import page, then deletes it there
    token = csrf_from(admin_client, "/imports")
    uploaded = admin_client.post(
        "/imports/upload",
        data={"entity": "contacts", "csrf_token": token},
        files={"file": ("shop.csv", "E-mail;Имя\r\nanna@example.ru;Анна\r\n".encode(), "text/csv")},
        follow_redirects=False,
    )
    mapping_step = uploaded.headers["location"].split("?")[0]
    started = admin_client.post(
        mapping_step,
        data={
            "name": "shop.csv",
            "entity": "contacts",
            "action": "dry_run",
            "column-0": "email",
            "column-1": "first_name",
            "mapping_name": "Shop",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    job = int(started.headers["location"].rsplit("/", 1)[1])
    by_page = admin_client.get("/api/v1/imports/mappings").json()[0]["id"]
    page_delete = admin_client.post(
        f"/imports/mappings/{by_page}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    # then both mappings are in the log from their saving to their deletion, beside the run
    assert (api_delete.status_code, started.status_code, page_delete.status_code) == (204, 303, 303)
    admin = admin_id(db)
    shop = {"E-mail": "email", "Имя": "first_name"}
    assert entries(db) == [
        ("import_mapping", by_api, "create", admin, {**body, "options": DEFAULT_OPTIONS}),
        ("import_mapping", by_api, "delete", admin, {"name": "1C"}),
        (
            "import_mapping",
            by_page,
            "create",
            admin,
            {"name": "Shop", "entity": "contacts", "mapping": shop, "options": DEFAULT_OPTIONS},
        ),
        ("import", job, "start", admin, {}),
        ("import_mapping", by_page, "delete", admin, {"name": "Shop"}),
    ]


# --- loyalty -----------------------------------------------------------------------------------


def test_loyalty_settings_and_tiers_changed_through_the_api_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # when an admin switches the programme on with a welcome bonus, then adds, changes and
    # deletes a tier
    programme = {"enabled": True, "points_per_unit": "0.05", "welcome_bonus": 100}
    put = admin_client.put("/api/v1/loyalty/programme", json=programme)
    tier = admin_client.post("/api/v1/loyalty/tiers", json={"name": "Silver", "threshold": "15000"})
    tier_id = tier.json()["id"]
    raised = {"name": "Silver", "threshold": "20000", "multiplier": "1.25"}
    steps = [
        admin_client.put(f"/api/v1/loyalty/tiers/{tier_id}", json=raised).status_code,
        admin_client.delete(f"/api/v1/loyalty/tiers/{tier_id}").status_code,
    ]
    # then only what changed is logged (the rate was already 0.05), amounts as stored
    assert (put.status_code, tier.status_code, steps) == (200, 201, [200, 204])
    admin = admin_id(db)
    silver = {
        "name": "Silver",
        "threshold": "15000.00",
        "multiplier": "1.00",
        "discount_percent": "0.00",
    }
    assert entries(db) == [
        (
            "loyalty_programme",
            1,
            "update",
            admin,
            {"enabled": [False, True], "welcome_bonus": [0, 100]},
        ),
        ("loyalty_tier", tier_id, "create", admin, silver),
        (
            "loyalty_tier",
            tier_id,
            "update",
            admin,
            {"threshold": ["15000.00", "20000.00"], "multiplier": ["1.00", "1.25"]},
        ),
        ("loyalty_tier", tier_id, "delete", admin, {"name": "Silver"}),
    ]


def test_loyalty_settings_and_tiers_changed_on_the_page_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # when an admin sets a rate and a category's multiplier on the loyalty page, then adds,
    # renames and deletes a tier there
    token = csrf_from(admin_client, "/loyalty")
    programme = {
        "enabled": "",
        "points_per_unit": "0.1",
        "category_rates": "coffee = 2",
        "welcome_bonus": "0",
        "birthday_bonus": "0",
        "expiry_days": "",
        "tier_window_days": "365",
        "csrf_token": token,
    }
    saved = admin_client.post("/loyalty/programme", data=programme, follow_redirects=False)
    gold = {"name": "Gold", "threshold": "40000", "multiplier": "", "discount_percent": "5"}
    added = admin_client.post(
        "/loyalty/tiers", data={**gold, "csrf_token": token}, follow_redirects=False
    )
    tier_id = admin_client.get("/api/v1/loyalty/tiers").json()[0]["id"]
    steps = [
        admin_client.post(
            f"/loyalty/tiers/{tier_id}",
            data={**gold, "name": "Gold+", "csrf_token": token},
            follow_redirects=False,
        ).status_code,
        admin_client.post(
            f"/loyalty/tiers/{tier_id}/delete", data={"csrf_token": token}, follow_redirects=False
        ).status_code,
    ]
    # then the log has the new rate as typed, the tier as stored, and the rename
    assert (saved.status_code, added.status_code, steps) == (303, 303, [303, 303])
    admin = admin_id(db)
    created = {
        "name": "Gold",
        "threshold": "40000.00",
        "multiplier": "1.00",
        "discount_percent": "5.00",
    }
    assert entries(db) == [
        (
            "loyalty_programme",
            1,
            "update",
            admin,
            {"points_per_unit": ["0.0500", "0.1"], "category_rates": [{}, {"coffee": "2"}]},
        ),
        ("loyalty_tier", tier_id, "create", admin, created),
        ("loyalty_tier", tier_id, "update", admin, {"name": ["Gold", "Gold+"]}),
        ("loyalty_tier", tier_id, "delete", admin, {"name": "Gold+"}),
    ]


# --- sales pipelines and lost reasons ------------------------------------------------------------


def _stage(name: str, probability: int, kind: str, position: int) -> dict[str, Any]:
    return {"name": name, "probability": probability, "kind": kind, "position": position}


def test_pipelines_their_stages_and_lost_reasons_changed_through_the_api_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # given the shop's starting pipeline, made by the first read: nobody's change
    admin_client.get("/api/v1/pipelines")
    # when an admin creates a pipeline, then renames its first stage and inserts a second
    stages = [
        {"name": "New", "probability": 10, "kind": "open"},
        {"name": "Won", "probability": 100, "kind": "won"},
        {"name": "Lost", "probability": 0, "kind": "lost"},
    ]
    created = admin_client.post("/api/v1/pipelines", json={"name": "B2B", "stages": stages})
    pipeline = created.json()
    new, won, lost = (s["id"] for s in pipeline["stages"])
    changed = [
        {**stages[0], "id": new, "name": "Incoming"},
        {"name": "Offer", "probability": 50, "kind": "open"},
        {**stages[1], "id": won},
        {**stages[2], "id": lost},
    ]
    put = admin_client.put(
        f"/api/v1/pipelines/{pipeline['id']}", json={"name": "B2B", "stages": changed}
    )
    offer = put.json()["stages"][1]["id"]
    # and adds a lost reason
    reason = admin_client.post("/api/v1/lost-reasons", json={"name": "Too slow"})
    # then the pipeline, each stage made or moved, and the reason are in the log
    assert (created.status_code, put.status_code, reason.status_code) == (201, 200, 201)
    admin = admin_id(db)
    assert entries(db) == [
        ("pipeline", pipeline["id"], "create", admin, {"name": "B2B"}),
        ("pipeline_stage", new, "create", admin, _stage("New", 10, "open", 0)),
        ("pipeline_stage", won, "create", admin, _stage("Won", 100, "won", 1)),
        ("pipeline_stage", lost, "create", admin, _stage("Lost", 0, "lost", 2)),
        ("pipeline", pipeline["id"], "update", admin, {}),
        ("pipeline_stage", new, "update", admin, {"name": ["New", "Incoming"]}),
        ("pipeline_stage", offer, "create", admin, _stage("Offer", 50, "open", 1)),
        ("pipeline_stage", won, "update", admin, {"position": [1, 2]}),
        ("pipeline_stage", lost, "update", admin, {"position": [2, 3]}),
        ("lost_reason", reason.json()["id"], "create", admin, {"name": "Too slow"}),
    ]


def test_pipelines_their_stages_and_lost_reasons_changed_on_the_pages_are_recorded(
    admin_client: TestClient, db: Session
) -> None:
    # when an admin creates a pipeline on the settings page
    token = csrf_from(admin_client, "/settings/pipelines/new")
    rows = [
        ("New", "10", "open"),
        ("Call", "30", "open"),
        ("Won", "100", "won"),
        ("Lost", "0", "lost"),
    ]
    made = admin_client.post(
        "/settings/pipelines/new",
        data=_pipeline_form("Retail", rows, ids=[""] * 4, token=token),
        follow_redirects=False,
    )
    listed = admin_client.get("/api/v1/pipelines").json()
    pipeline = next(p for p in listed if p["name"] == "Retail")
    new, call, won, lost = (s["id"] for s in pipeline["stages"])
    # and renames it while removing its second stage
    kept = [rows[0], rows[2], rows[3]]
    changed = admin_client.post(
        f"/settings/pipelines/{pipeline['id']}",
        data=_pipeline_form("Retail shop", kept, ids=[str(new), str(won), str(lost)], token=token),
        follow_redirects=False,
    )
    # and adds a lost reason
    reason = admin_client.post(
        "/settings/pipelines/lost-reasons",
        data={"name": "No stock", "csrf_token": token},
        follow_redirects=False,
    )
    reason_id = next(
        r["id"] for r in admin_client.get("/api/v1/lost-reasons").json() if r["name"] == "No stock"
    )
    # then the log shows the pipeline made, renamed, the stage removed and the others moved up
    assert (made.status_code, changed.status_code, reason.status_code) == (303, 303, 303)
    admin = admin_id(db)
    assert entries(db) == [
        ("pipeline", pipeline["id"], "create", admin, {"name": "Retail"}),
        ("pipeline_stage", new, "create", admin, _stage("New", 10, "open", 0)),
        ("pipeline_stage", call, "create", admin, _stage("Call", 30, "open", 1)),
        ("pipeline_stage", won, "create", admin, _stage("Won", 100, "won", 2)),
        ("pipeline_stage", lost, "create", admin, _stage("Lost", 0, "lost", 3)),
        ("pipeline", pipeline["id"], "update", admin, {"name": ["Retail", "Retail shop"]}),
        ("pipeline_stage", won, "update", admin, {"position": [2, 1]}),
        ("pipeline_stage", lost, "update", admin, {"position": [3, 2]}),
        ("pipeline_stage", call, "delete", admin, {"name": "Call"}),
        ("lost_reason", reason_id, "create", admin, {"name": "No stock"}),
    ]


def _pipeline_form(
    name: str, rows: list[tuple[str, str, str]], *, ids: list[str], token: str
) -> dict[str, Any]:
    """What the pipeline form posts: one value per stage row in each column, in order."""
    return {
        "name": name,
        "stage_id": ids,
        "stage_name": [r[0] for r in rows],
        "stage_probability": [r[1] for r in rows],
        "stage_kind": [r[2] for r in rows],
        "stage_order": [str(i) for i in range(len(rows))],
        "csrf_token": token,
    }
