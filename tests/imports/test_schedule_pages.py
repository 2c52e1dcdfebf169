"""The scheduled imports pages: list, create with a preset or an expression, edit, pause and
resume, delete; who may read folders of the server."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.imports.models import ScheduledImport
from tests.conftest import UserFactory, log_in

FORM = {
    "name": "Прайс из Google Sheets",
    "entity": "products",
    "location": "https://docs.google.com/spreadsheets/d/e/x/pub?output=csv",
    "mapping_id": "",
    "preset": "",
    "cron": "",
}


@pytest.fixture
def marketer(client: TestClient, make_user: UserFactory) -> TestClient:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(Role.MARKETER).email)
    return client


def _field_error(page: str, name: str) -> str:
    match = re.search(rf'data-field-error="{re.escape(name)}">([^<]*)<', page)
    assert match, f"no error shown next to {name}"
    return html.unescape(match.group(1))


def _only(db: Session) -> ScheduledImport:
    schedules = list(db.scalars(select(ScheduledImport)))
    assert len(schedules) == 1
    return schedules[0]


def test_a_preset_schedule_is_saved_with_its_next_run(marketer: TestClient, db: Session) -> None:
    # given
    before = datetime.now(UTC)
    # when: "every Monday" is chosen
    response = marketer.post(
        "/imports/schedules/new", data={**FORM, "preset": "0 3 * * 1"}, follow_redirects=False
    )
    # then
    assert response.status_code == 303
    schedule = _only(db)
    assert (schedule.cron, schedule.is_active) == ("0 3 * * 1", True)
    assert schedule.next_run_at is not None
    assert (schedule.next_run_at.weekday(), schedule.next_run_at.hour) == (0, 3)
    assert before < schedule.next_run_at <= before + timedelta(days=7)
    listing = marketer.get("/imports/schedules").text
    assert "Прайс из Google Sheets" in listing
    assert "Every Monday at 03:00" in listing


def test_a_typed_expression_is_used_when_no_preset_is_chosen(
    marketer: TestClient, db: Session
) -> None:
    marketer.post("/imports/schedules/new", data={**FORM, "cron": "*/15 9-18 * * 1-5"})
    assert _only(db).cron == "*/15 9-18 * * 1-5"
    assert "<code>*/15 9-18 * * 1-5</code>" in marketer.get("/imports/schedules").text


def test_a_bad_expression_is_shown_next_to_its_field(marketer: TestClient, db: Session) -> None:
    # when
    response = marketer.post("/imports/schedules/new", data={**FORM, "cron": "0 3 * *"})
    # then: the form comes back as typed, nothing saved
    assert response.status_code == 422
    assert "5 fields" in _field_error(response.text, "cron")
    assert 'value="Прайс из Google Sheets"' in response.text
    assert db.scalar(select(func.count()).select_from(ScheduledImport)) == 0


def test_marketers_may_not_read_folders_of_the_server(marketer: TestClient, db: Session) -> None:
    response = marketer.post(
        "/imports/schedules/new", data={**FORM, "location": "/etc", "cron": "0 3 * * *"}
    )
    assert response.status_code == 403
    assert _field_error(response.text, "location") == (
        "Only admins may import from folders of the server; use an http(s) URL."
    )
    assert db.scalar(select(func.count()).select_from(ScheduledImport)) == 0


def test_a_schedule_is_edited_paused_resumed_and_deleted(marketer: TestClient, db: Session) -> None:
    # given
    marketer.post("/imports/schedules/new", data={**FORM, "preset": "0 3 * * *"})
    schedule = _only(db)
    # when: edited
    edit = marketer.get(f"/imports/schedules/{schedule.id}")
    assert 'value="0 3 * * *" selected' in edit.text
    marketer.post(
        f"/imports/schedules/{schedule.id}",
        data={**FORM, "name": "Прайс", "cron": "0 5 1 * *"},
    )
    db.refresh(schedule)
    # then
    assert (schedule.name, schedule.cron) == ("Прайс", "0 5 1 * *")
    assert schedule.next_run_at is not None
    assert schedule.next_run_at.day == 1

    # when: paused
    marketer.post(f"/imports/schedules/{schedule.id}/pause")
    db.refresh(schedule)
    # then: no next run while paused
    assert (schedule.is_active, schedule.next_run_at) == (False, None)
    assert ">Resume<" in marketer.get("/imports/schedules").text

    # when: resumed
    marketer.post(f"/imports/schedules/{schedule.id}/pause")
    db.refresh(schedule)
    assert schedule.is_active is True
    assert schedule.next_run_at is not None

    # when: deleted
    response = marketer.post(f"/imports/schedules/{schedule.id}/delete", follow_redirects=False)
    assert response.status_code == 303
    assert db.scalar(select(func.count()).select_from(ScheduledImport)) == 0


def test_the_new_form_offers_the_presets(marketer: TestClient) -> None:
    page = marketer.get("/imports/schedules/new").text
    for expr, label in [
        ("0 3 * * *", "Every day at 03:00"),
        ("0 3 * * 1", "Every Monday at 03:00"),
        ("0 3 1 * *", "Every month on the 1st at 03:00"),
    ]:
        assert f'<option value="{expr}"' in page
        assert label in page
