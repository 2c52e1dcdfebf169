"""The imports JSON API: upload a job, run it (once), follow it, read its rejected rows;
saved mappings; scheduled imports with their cron and next run."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.auth import service as auth_service
from retentio.auth.models import Role, User
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.imports.models import ScheduledImport
from retentio.settings import Settings
from tests.conftest import UserFactory
from tests.imports.page_helpers import counts, csv_bytes, immediate_worker, wait_for_job

ROWS = [
    ["Код клиента", "ФИО", "Телефон", "Email"],
    ["C-1", "Иванова Анна Сергеевна", "8 912 345-67-89", "anna@example.ru"],
    ["C-2", "Петров Борис", "не телефон", "boris@example.ru"],
    ["C-3", "Орлов Глеб", "+7 903 111-22-33", ""],
]


@pytest.fixture(autouse=True)
def _worker() -> Iterator[None]:
    with immediate_worker():
        yield


def _bearer(settings: Settings, user: User) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        owner = session.get(User, user.id)
        assert owner is not None
        _token, secret = auth_service.create_token(session, owner, name="script")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def api(client: TestClient, make_user: UserFactory, settings: Settings) -> TestClient:
    """A script holding a marketer's API token."""
    client.headers.update(_bearer(settings, make_user(Role.MARKETER)))
    return client


def _create(api: TestClient, content: bytes, **form: str) -> dict[str, object]:
    response = api.post(
        "/api/v1/imports",
        data={"entity": "contacts", **form},
        files={"file": ("clients.csv", content, "text/csv")},
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


# --- jobs ----------------------------------------------------------------------------------


def test_upload_creates_a_waiting_job_with_the_detected_format_and_mapping(
    api: TestClient,
) -> None:
    # when
    job = _create(api, csv_bytes(ROWS, encoding="cp1251"))
    # then
    assert job["status"] == "pending"
    assert (job["encoding"], job["delimiter"], job["sheet"]) == ("cp1251", ";", None)
    assert job["mapping"] == {
        "Код клиента": "external_id",
        "ФИО": "full_name",
        "Телефон": "phone",
        "Email": "email",
    }
    assert job["options"] == {
        "match_by": ["external_id", "email", "phone"],
        "overwrite_empty": False,
        "dry_run": False,
    }
    assert (job["position"], job["total_rows"], job["rows_read"]) == (0, None, 0)


def test_run_imports_once_however_often_it_is_called(
    api: TestClient, settings: Settings, db: Session
) -> None:
    # given
    job_id = _create(api, csv_bytes(ROWS))["id"]
    assert isinstance(job_id, int)
    # when: run, and run again at once and after it finished
    first = api.post(f"/api/v1/imports/{job_id}/run")
    second = api.post(f"/api/v1/imports/{job_id}/run")
    done = wait_for_job(settings.database_url, job_id)
    third = api.post(f"/api/v1/imports/{job_id}/run")
    # then
    assert (first.status_code, second.status_code, third.status_code) == (202, 202, 202)
    assert first.json()["status"] == "running"
    assert third.json()["status"] == "done"
    assert counts(done) == {
        "rows_read": 3,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert db.scalar(select(func.count()).select_from(Contact)) == 2
    status = api.get(f"/api/v1/imports/{job_id}").json()
    assert (status["status"], status["position"], status["total_rows"]) == ("done", 3, 3)
    assert status["finished_at"] is not None


def test_rejected_rows_are_listed_in_pages_and_as_csv(api: TestClient, settings: Settings) -> None:
    # given: a job with three rejected rows
    rows = [["Имя", "Телефон"], *[[f"P{n}", "123"] for n in range(3)], ["Ок", "+79123456789"]]
    job_id = _create(api, csv_bytes(rows))["id"]
    api.post(f"/api/v1/imports/{job_id}/run")
    wait_for_job(settings.database_url, int(str(job_id)))
    # when
    page = api.get(f"/api/v1/imports/{job_id}/rejections", params={"per_page": 2}).json()
    rest = api.get(f"/api/v1/imports/{job_id}/rejections", params={"per_page": 2, "page": 2}).json()
    download = api.get(f"/api/v1/imports/{job_id}/rejections.csv")
    # then
    assert (page["total"], page["page"], page["per_page"]) == (3, 1, 2)
    assert [r["row_number"] for r in page["items"]] == [2, 3]
    assert [r["row_number"] for r in rest["items"]] == [4]
    first = page["items"][0]
    assert (first["column"], first["value"], first["raw"]) == ("Телефон", "123", ["P0", "123"])
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert table[0] == ["Имя", "Телефон", "Reason"]
    assert [r[:2] for r in table[1:]] == [["P0", "123"], ["P1", "123"], ["P2", "123"]]


def test_a_dry_run_through_the_api_changes_nothing(
    api: TestClient, settings: Settings, db: Session
) -> None:
    job = _create(api, csv_bytes(ROWS), options=json.dumps({"dry_run": True}))
    api.post(f"/api/v1/imports/{job['id']}/run")
    done = wait_for_job(settings.database_url, int(str(job["id"])))
    assert job["dry_run"] is True
    assert (done.inserted, done.rejected) == (2, 1)
    assert db.scalar(select(func.count()).select_from(Contact)) == 0


def test_an_explicit_mapping_and_options_are_used(api: TestClient) -> None:
    mapping = {"Код клиента": "", "ФИО": "full_name", "Телефон": "phone", "Email": ""}
    job = _create(
        api,
        csv_bytes(ROWS),
        mapping=json.dumps(mapping, ensure_ascii=False),
        options=json.dumps({"match_by": ["phone"], "overwrite_empty": True}),
    )
    assert job["mapping"] == mapping
    assert job["options"] == {"match_by": ["phone"], "overwrite_empty": True, "dry_run": False}


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"mapping": "[1, 2]"}, "mapping", "mapping: a JSON object of column → field"),
        ({"mapping": '{"ФИО": "shoe_size"}'}, "mapping.ФИО", "'shoe_size' is not a field"),
        ({"mapping": '{"Нет такой": "email"}'}, "mapping", "the file has no column 'Нет такой'"),
        ({"options": "{"}, "options", "options: a JSON object"),
        ({"mapping_name": "missing"}, None, "No saved mapping named 'missing'."),
        ({"entity": "pets"}, "entity", "Input should be"),
    ],
)
def test_bad_uploads_are_refused_naming_the_field(
    api: TestClient, form: dict[str, str], field: str | None, message: str
) -> None:
    response = api.post(
        "/api/v1/imports",
        data={"entity": "contacts", **form},
        files={"file": ("clients.csv", csv_bytes(ROWS), "text/csv")},
    )
    error = response.json()["error"]
    assert response.status_code == (404 if field is None else 422)
    assert message in error["message"] or message in json.dumps(error, ensure_ascii=False)
    if field is not None:
        assert error["details"][0]["field"] == field


def test_a_refused_upload_leaves_no_file_behind(api: TestClient, settings: Settings) -> None:
    api.post(
        "/api/v1/imports",
        data={"entity": "contacts", "mapping": '{"ФИО": "shoe_size"}'},
        files={"file": ("clients.csv", csv_bytes(ROWS), "text/csv")},
    )
    assert list((settings.data_dir / "imports").iterdir()) == []


def test_unknown_job_is_a_404(api: TestClient) -> None:
    assert api.get("/api/v1/imports/999").status_code == 404
    assert api.post("/api/v1/imports/999/run").status_code == 404


# --- saved mappings ---------------------------------------------------------------------------


def test_saved_mappings_are_created_listed_used_and_deleted(
    api: TestClient, settings: Settings
) -> None:
    # given
    body = {
        "name": "1C клиенты",
        "entity": "contacts",
        "mapping": {"Код клиента": "external_id", "ФИО": "full_name"},
        "options": {"match_by": ["external_id"]},
    }
    created = api.post("/api/v1/imports/mappings", json=body)
    assert created.status_code == 201
    mapping_id = created.json()["id"]
    # when: a file is uploaded with it (no entity needed)
    job = api.post(
        "/api/v1/imports",
        data={"mapping_name": "1C клиенты"},
        files={"file": ("c.csv", csv_bytes([ROWS[0], ROWS[1]]), "text/csv")},
    ).json()
    # then
    assert job["entity"] == "contacts"
    assert job["mapping"] == body["mapping"]
    assert job["options"]["match_by"] == ["external_id"]
    assert [m["name"] for m in api.get("/api/v1/imports/mappings").json()] == ["1C клиенты"]
    assert api.post("/api/v1/imports/mappings", json=body).status_code == 409
    assert api.delete(f"/api/v1/imports/mappings/{mapping_id}").status_code == 204
    assert api.get("/api/v1/imports/mappings").json() == []


# --- schedules ------------------------------------------------------------------------------


def test_schedules_are_created_paused_resumed_changed_and_deleted(
    api: TestClient, db: Session
) -> None:
    # given
    before = datetime.now(UTC)
    body = {
        "name": "Прайс",
        "entity": "products",
        "location": "https://docs.google.com/spreadsheets/d/e/x/pub?output=csv",
        "cron": "0 3 * * *",
    }
    # when
    created = api.post("/api/v1/imports/schedules", json=body)
    # then: the next run is the next 03:00 UTC
    assert created.status_code == 201
    schedule = created.json()
    next_run = datetime.fromisoformat(schedule["next_run_at"])
    assert (next_run.hour, next_run.minute) == (3, 0)
    assert before < next_run <= before + timedelta(days=1)
    assert schedule["is_active"] is True

    # when: paused, then resumed with another expression
    sid = schedule["id"]
    paused = api.patch(f"/api/v1/imports/schedules/{sid}", json={"is_active": False}).json()
    resumed = api.patch(
        f"/api/v1/imports/schedules/{sid}", json={"is_active": True, "cron": "*/15 * * * *"}
    ).json()
    # then
    assert (paused["is_active"], paused["next_run_at"]) == (False, None)
    assert resumed["cron"] == "*/15 * * * *"
    assert datetime.fromisoformat(resumed["next_run_at"]).minute % 15 == 0
    assert api.get(f"/api/v1/imports/schedules/{sid}").json()["name"] == "Прайс"
    assert [s["id"] for s in api.get("/api/v1/imports/schedules").json()] == [sid]

    # when: deleted
    assert api.delete(f"/api/v1/imports/schedules/{sid}").status_code == 204
    assert db.scalar(select(func.count()).select_from(ScheduledImport)) == 0


@pytest.mark.parametrize(
    ("change", "status", "field", "message"),
    [
        ({"cron": "0 25 * * *"}, 422, "cron", "hour: '25' is outside 0–23"),
        ({"cron": "0 0 31 2 *"}, 422, "cron", "never fires"),
        ({"location": "ftp://example.ru/x.csv"}, 422, "location", "http(s) URL"),
        ({"location": "relative/folder"}, 422, "location", "absolute folder path"),
        ({"location": "/srv/exports"}, 403, None, "Only admins may import from folders"),
        ({"mapping_id": 999}, 422, "mapping_id", "there is no saved mapping 999"),
    ],
)
def test_bad_schedules_are_refused(
    api: TestClient, change: dict[str, object], status: int, field: str | None, message: str
) -> None:
    body = {"name": "x", "entity": "contacts", "location": "https://example.ru/a.csv"}
    response = api.post("/api/v1/imports/schedules", json={**body, "cron": "0 3 * * *", **change})
    error = response.json()["error"]
    assert response.status_code == status
    assert message in error["message"]
    if field is not None:
        assert error["details"][0]["field"] == field


def test_a_mapping_for_another_kind_is_refused(api: TestClient) -> None:
    mapping_id = api.post(
        "/api/v1/imports/mappings",
        json={"name": "orders", "entity": "orders", "mapping": {"№": "external_id"}},
    ).json()["id"]
    response = api.post(
        "/api/v1/imports/schedules",
        json={
            "name": "x",
            "entity": "contacts",
            "location": "https://example.ru/a.csv",
            "cron": "0 3 * * *",
            "mapping_id": mapping_id,
        },
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "mapping_id: the mapping 'orders' is for orders, not contacts."
    )


def test_admins_may_import_from_a_folder(
    client: TestClient, make_user: UserFactory, settings: Settings
) -> None:
    client.headers.update(_bearer(settings, make_user(Role.ADMIN)))
    response = client.post(
        "/api/v1/imports/schedules",
        json={"name": "1C", "entity": "orders", "location": "/srv/1c", "cron": "0 3 * * 1"},
    )
    assert response.status_code == 201
    assert datetime.fromisoformat(response.json()["next_run_at"]).weekday() == 0


@pytest.mark.parametrize("role", [Role.ANALYST, Role.SALES])
def test_only_importers_may_use_the_api(
    client: TestClient, make_user: UserFactory, settings: Settings, role: Role
) -> None:
    client.headers.update(_bearer(settings, make_user(role)))
    assert client.get("/api/v1/imports/mappings").status_code == 403
    assert client.get("/api/v1/imports/schedules").status_code == 403
    assert client.get("/api/v1/imports/1").status_code == 403
    upload = client.post(
        "/api/v1/imports", data={"entity": "contacts"}, files={"file": ("a.csv", b"x", "text/csv")}
    )
    assert upload.status_code == 403


def test_the_api_is_documented_with_examples(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/imports",
        "/api/v1/imports/{job_id}",
        "/api/v1/imports/{job_id}/run",
        "/api/v1/imports/{job_id}/rejections",
        "/api/v1/imports/{job_id}/rejections.csv",
        "/api/v1/imports/mappings",
        "/api/v1/imports/schedules",
        "/api/v1/imports/schedules/{schedule_id}",
        "/api/v1/contacts/export",
    ):
        assert path in paths, path
    example = paths["/api/v1/imports/{job_id}"]["get"]["responses"]["200"]["content"]
    assert example["application/json"]["example"]["total_rows"] == 50000
