"""Imports in real Chromium: upload a file with Russian headers, see it mapped, import it,
watch the job finish live, find the contacts in the list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from retentio.auth.models import Role
from retentio.db import session_scope
from retentio.imports import service
from retentio.imports.mapping import ImportEntity
from retentio.imports.runner import run_job
from retentio.settings import Settings
from tests.browser.conftest import PageErrors, screenshot
from tests.conftest import TEST_PASSWORD, UserFactory
from tests.imports.page_helpers import immediate_worker

pytestmark = pytest.mark.browser

CLIENTS = (
    "Имя;Фамилия;Телефон;Эл. почта;Город\r\n"
    "Анна;Ёлкина;8 912 345-67-89;anna.yolkina@example.ru;Казань\r\n"
    "Борис;Петров;+7 903 111-22-33;boris.petrov@example.ru;Москва\r\n"
    "Вера;Сидорова;не телефон;vera@example.ru;Пермь\r\n"
).encode("cp1251")


@pytest.fixture(autouse=True)
def _worker() -> Iterator[None]:
    with immediate_worker():
        yield


def test_upload_map_and_import_a_file_of_contacts(
    page: Page, live_server: str, make_user: UserFactory
) -> None:
    # given: a marketer logged in
    user = make_user(Role.MARKETER)
    errors = PageErrors(page)
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    expect(page.locator("h1")).to_have_text("Dashboard")

    # when: uploading a Windows-1251 file from the imports page
    page.click("nav a[data-area=imports]")
    form = page.locator("[data-testid=upload-form]")
    form.locator("input[name=file]").set_input_files(
        files=[{"name": "клиенты.csv", "mimeType": "text/csv", "buffer": CLIENTS}]
    )
    form.locator("button[type=submit]").click()
    # then: the first rows are shown, each column mapped by its Russian name
    expect(page.locator("h1")).to_have_text("Map the columns")
    preview = page.locator("[data-testid=preview]")
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview.locator("tbody tr").first).to_contain_text("Ёлкина")
    for index, target in enumerate(["first_name", "last_name", "phone", "email", "city"]):
        expect(preview.locator(f"select[name=column-{index}]")).to_have_value(target)
    screenshot(page, "import-mapping.png")

    # when: importing
    page.click("[data-testid=import]")
    # then: the job page follows it to the end by itself
    status = page.locator("[data-testid=job-status]")
    expect(status).to_have_attribute("data-status", "done", timeout=30_000)
    expect(page.locator("[data-testid=progress-text]")).to_have_text("3 / 3 rows")
    counts = page.locator("[data-testid=job-counts]")
    expect(counts.locator("[data-count=inserted]")).to_have_text("2")
    expect(counts.locator("[data-count=rejected]")).to_have_text("1")
    expect(page.locator("[data-testid=count-check]")).to_contain_text("Every row is accounted for.")
    expect(page.locator("[data-testid=rejections] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=rejections] tbody tr")).to_contain_text("не телефон")
    expect(page.locator("[data-testid=rejected-csv]")).to_be_visible()
    screenshot(page, "import-job.png")

    # when: opening the contact list
    page.click("nav a[data-area=contacts]")
    # then: the imported people are there
    table = page.locator("[data-testid=contacts-table]")
    expect(table.locator("tbody tr[data-contact-id]")).to_have_count(2)
    expect(table).to_contain_text("Анна Ёлкина")
    expect(table).to_contain_text("boris.petrov@example.ru")
    assert errors.messages == []


def test_the_job_page_follows_a_running_job_live(
    page: Page, live_server: str, make_user: UserFactory, settings: Settings
) -> None:
    # given: a job started but not yet run, and its page open
    path = settings.data_dir / "clients.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(CLIENTS)
    with session_scope(settings.database_url) as session:
        job_id = service.create_job(
            session, entity=ImportEntity.CONTACTS, path=path, filename="clients.csv"
        ).id
        assert service.claim_run(session, job_id)
    user = make_user(Role.ADMIN)
    errors = PageErrors(page)
    page.goto(f"{live_server}/login?next=/imports/{job_id}")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    status = page.locator("[data-testid=job-status]")
    expect(status).to_have_attribute("data-status", "running")
    expect(status).to_have_text("Running")
    expect(page.locator("[data-queued-note]")).to_be_visible()
    # when: the job runs
    run_job(settings.database_url, job_id, region="RU")
    # then: the page notices by itself and shows the final state
    expect(status).to_have_attribute("data-status", "done", timeout=10_000)
    expect(status).to_have_text("Done")
    expect(page.locator("[data-testid=progress-text]")).to_have_text("3 / 3 rows")
    expect(page.locator("[data-count=inserted]")).to_have_text("2")
    expect(page.locator("[data-queued-note]")).to_have_count(0)
    expect(page.locator("[data-testid=rejections] tbody tr")).to_have_count(1)
    assert errors.messages == []
