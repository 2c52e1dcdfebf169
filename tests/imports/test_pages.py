"""The import pages: upload, the mapping step with its preview, dry run, import, the job page
with its rejected rows and their CSV, saved mappings, the history, and who may use them."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from retentio.contacts.models import Contact, ContactTag, Tag
from retentio.db import session_scope
from retentio.fields.models import CustomFieldDefinition, FieldEntity
from retentio.imports import service
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob, SavedMapping
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.imports.page_helpers import TOKEN_PATH, counts, csv_bytes, immediate_worker, wait_for_job
from tests.page_factories import Shop

SELECT = re.compile(r'<select name="column-(\d+)"(.*?)</select>', re.S)
SELECTED = re.compile(r'<option value="([^"]*)" selected>')
JOB_URL = re.compile(r"^/imports/(\d+)$")
REJECTED_ROW = re.compile(
    r'<tr data-row="(\d+)">\s*<td class="num">\d+</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>'
)
CLIENTS = [
    ["Имя", "Фамилия", "Телефон", "E-mail", "Город", "Теги"],
    ["Анна", "Иванова", "8 912 345-67-89", "anna@example.ru", "Казань", "vip"],
    ["Борис", "Петров", "+7 903 111-22-33", "boris@example.ru", "Москва", ""],
    ["Вера", "Сидорова", "не телефон", "vera@example.ru", "Пермь", ""],
    ["Глеб", "Орлов", "", "gleb@example.ru", "Самара", "new, vip"],
]


@pytest.fixture(autouse=True)
def _worker() -> Iterator[None]:
    with immediate_worker():
        yield


@pytest.fixture
def shop(settings: Settings) -> Shop:
    return Shop(settings.database_url)


@pytest.fixture
def marketer(client: TestClient, make_user: UserFactory) -> User:
    user = make_user(Role.MARKETER)
    client.headers["X-CSRF-Token"] = log_in(client, user.email)
    return user


def _upload(
    client: TestClient, content: bytes, *, name: str = "клиенты.csv", **form: str
) -> tuple[str, str]:
    """Upload through the page; returns the mapping step's URL and the upload token."""
    response = client.post(
        "/imports/upload",
        data={"entity": "contacts", **form},
        files={"file": (name, content, "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    match = TOKEN_PATH.match(location)
    assert match, location
    return location, match.group(1)


def _selected(page: str) -> dict[int, str]:
    """The field chosen for each column on the mapping step."""
    chosen = {}
    for index, body in SELECT.findall(page):
        found = SELECTED.search(body)
        chosen[int(index)] = found.group(1) if found else ""
    return chosen


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', page)
    assert match, f"no hidden {name}"
    return html.unescape(match.group(1))


def _submit(
    client: TestClient, token: str, page: str, action: str, **changes: str
) -> tuple[Response, int | None]:
    """Post the mapping form as the page filled it, with some fields changed."""
    data: dict[str, str | list[str]] = {
        "name": _hidden(page, "name"),
        "entity": _hidden(page, "entity"),
        "action": action,
    }
    for name in ("encoding", "delimiter", "sheet"):
        if f'name="{name}" value=' in page:
            data[name] = _hidden(page, name)
    data.update({f"column-{i}": target for i, target in _selected(page).items()})
    data["match_by"] = re.findall(r'name="match_by" value="(\w+)" checked', page)
    data.update(changes)
    response = client.post(f"/imports/upload/{token}", data=data, follow_redirects=False)
    match = JOB_URL.match(response.headers.get("location", ""))
    return response, int(match.group(1)) if match else None


def _contacts(db: Session) -> dict[str, Contact]:
    return {c.email or "": c for c in db.scalars(select(Contact))}


def _tags(db: Session, contact_id: int) -> list[str]:
    return sorted(
        db.scalars(
            select(Tag.name)
            .join(ContactTag, ContactTag.tag_id == Tag.id)
            .where(ContactTag.contact_id == contact_id)
        )
    )


# --- upload → map → dry run → import ------------------------------------------------------


def test_upload_maps_russian_headers_and_shows_the_first_rows(
    client: TestClient, marketer: User
) -> None:
    # given: a Windows-1251 file with `;`, as Excel in Russian saves it
    content = csv_bytes(CLIENTS, encoding="cp1251")
    # when
    location, _token = _upload(client, content)
    page = client.get(location)
    # then: the format is detected and each column is mapped by its Russian name
    assert page.status_code == 200
    assert _hidden(page.text, "encoding") == "cp1251"
    assert _hidden(page.text, "delimiter") == ";"
    assert _selected(page.text) == {
        0: "first_name",
        1: "last_name",
        2: "phone",
        3: "email",
        4: "city",
        5: "tags",
    }
    assert "<td>Анна</td><td>Иванова</td><td>8 912 345-67-89</td>" in page.text
    assert "<td>Глеб</td><td>Орлов</td><td></td><td>gleb@example.ru</td>" in page.text


def test_dry_run_reports_the_counts_and_changes_nothing_then_imports_them(
    client: TestClient, marketer: User, shop: Shop, settings: Settings, db: Session
) -> None:
    # given: Boris exists, living elsewhere
    boris = shop.contact(first_name="Борис", email="boris@example.ru", city="Тула")
    location, token = _upload(client, csv_bytes(CLIENTS, encoding="cp1251"))
    page = client.get(location).text

    # when: a dry run
    response, dry_id = _submit(client, token, page, "dry_run")
    assert response.status_code == 303
    assert dry_id is not None
    dry = wait_for_job(settings.database_url, dry_id)
    # then: the four counts as a real import would make them, and nothing changed
    assert dry.options["dry_run"] is True
    assert counts(dry) == {
        "rows_read": 4,
        "inserted": 2,
        "updated": 1,
        "unchanged": 0,
        "rejected": 1,
    }
    assert set(_contacts(db)) == {"boris@example.ru"}
    assert _contacts(db)["boris@example.ru"].city == "Тула"
    job_page = client.get(f"/imports/{dry_id}").text
    assert 'data-testid="dry-run-note"' in job_page
    assert REJECTED_ROW.findall(job_page) == [("4", "Телефон", "не телефон")]
    assert "Inserted + updated + unchanged + rejected = 4 of 4 rows read." in job_page

    # when: importing the checked file for real
    response = client.post(f"/imports/{dry_id}/import", follow_redirects=False)
    real_id = int(response.headers["location"].rsplit("/", 1)[1])
    real = wait_for_job(settings.database_url, real_id)
    # then: the same counts, now applied
    assert real_id != dry_id
    assert real.options["dry_run"] is False
    assert counts(real) == counts(dry)
    contacts = _contacts(db)
    assert set(contacts) == {"anna@example.ru", "boris@example.ru", "gleb@example.ru"}
    assert contacts["boris@example.ru"].id == boris
    assert contacts["boris@example.ru"].city == "Москва"
    assert contacts["anna@example.ru"].phone == "+79123456789"
    assert _tags(db, contacts["gleb@example.ru"].id) == ["new", "vip"]
    final_page = client.get(f"/imports/{real_id}").text
    assert 'data-status="done"' in final_page
    assert "Every row is accounted for." in final_page


def test_import_button_runs_the_job_and_the_page_shows_its_counts(
    client: TestClient, marketer: User, settings: Settings
) -> None:
    # given
    location, token = _upload(client, csv_bytes(CLIENTS))
    # when
    _response, job_id = _submit(client, token, client.get(location).text, "import")
    assert job_id is not None
    job = wait_for_job(settings.database_url, job_id)
    # then
    assert counts(job) == {
        "rows_read": 4,
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }
    assert job.created_by == marketer.id
    page = client.get(f"/imports/{job_id}").text
    assert re.search(r'data-count="inserted">3<', page)
    assert re.search(r'data-count="rejected">1<', page)
    assert re.search(r'data-testid="progress-text">4 / 4 rows<', page)


# --- rejected rows --------------------------------------------------------------------------


def test_rejected_rows_download_as_csv_and_import_again_once_fixed(
    client: TestClient, marketer: User, settings: Settings, db: Session
) -> None:
    # given: an import where two rows are refused, one of them named like a formula
    rows = [
        ["Имя", "E-mail", "Дата рождения"],
        ["Анна", "anna@example.ru", "05.03.1990"],
        ["=1+1", "bad@", "01.01.1980"],
        ["Вера", "vera@example.ru", "31.02.1990"],
        ["Глеб", "gleb@example.ru", ""],
    ]
    location, token = _upload(client, csv_bytes(rows, delimiter=","), name="people.csv")
    _response, job_id = _submit(client, token, client.get(location).text, "import")
    assert job_id is not None
    assert wait_for_job(settings.database_url, job_id).rejected == 2

    # when: downloading the rejected rows
    download = client.get(f"/api/v1/imports/{job_id}/rejections.csv")
    # then: Excel-friendly UTF-8, the file's delimiter and header, plus the reason
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert "people-rejected.csv" in download.headers["content-disposition"]
    assert download.content.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=","))
    assert table[0] == ["Имя", "E-mail", "Дата рождения", "Reason"]
    assert [r[:3] for r in table[1:]] == [
        ["'=1+1", "bad@", "01.01.1980"],
        ["Вера", "vera@example.ru", "31.02.1990"],
    ]
    assert table[1][3].startswith("E-mail — ")
    assert table[2][3].startswith("Дата рождения — ")

    # when: the cells are fixed and the same file is imported again
    table[1][1], table[2][2] = "eq@example.ru", "28.02.1990"
    fixed = csv_bytes(table, delimiter=",")
    location, token = _upload(client, b"\xef\xbb\xbf" + fixed, name="people-rejected.csv")
    page = client.get(location).text
    assert _selected(page)[3] == ""  # the Reason column is ignored
    _response, again_id = _submit(client, token, page, "import")
    assert again_id is not None
    again = wait_for_job(settings.database_url, again_id)
    # then: nothing is refused, and the formula-like name is stored as it was typed
    assert counts(again) == {
        "rows_read": 2,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    contacts = _contacts(db)
    assert contacts["eq@example.ru"].first_name == "=1+1"
    assert str(contacts["vera@example.ru"].birthday) == "1990-02-28"
    assert len(contacts) == 4


def test_rejected_rows_are_paged_on_the_job_page(
    client: TestClient, marketer: User, settings: Settings
) -> None:
    # given: 60 rows without any way to find the contact again
    rows = [["Имя", "Город"], *[[f"Person {n}", "Казань"] for n in range(60)]]
    location, token = _upload(client, csv_bytes(rows))
    _response, job_id = _submit(client, token, client.get(location).text, "import")
    assert job_id is not None
    assert wait_for_job(settings.database_url, job_id).rejected == 60
    # when / then
    first = client.get(f"/imports/{job_id}").text
    second = client.get(f"/imports/{job_id}", params={"page": 2}).text
    assert [int(n) for n, _c, _v in REJECTED_ROW.findall(first)] == list(range(2, 52))
    assert [int(n) for n, _c, _v in REJECTED_ROW.findall(second)] == list(range(52, 62))
    assert "1–50 of 60" in first


# --- the mapping step -----------------------------------------------------------------------


def test_encoding_and_delimiter_overrides_read_the_file_again(
    client: TestClient, marketer: User
) -> None:
    # given
    location, _token = _upload(client, csv_bytes(CLIENTS, encoding="cp1251"))
    # when: reading it as UTF-8
    wrong = client.get(location + "&encoding=utf-8")
    # then: the page says so instead of showing garbage
    assert wrong.status_code == 422
    assert "The file is not valid utf-8: choose the encoding explicitly." in wrong.text
    # when: reading it with a comma as the delimiter
    one_column = client.get(location + "&delimiter=%2C&encoding=cp1251")
    # then: one column holding the whole line
    assert one_column.status_code == 200
    assert list(_selected(one_column.text)) == [0]
    assert "<td>Анна;Иванова;8 912 345-67-89;anna@example.ru;Казань;vip</td>" in one_column.text


def test_a_spreadsheet_sheet_is_chosen_and_imported(
    client: TestClient, marketer: User, settings: Settings, db: Session
) -> None:
    # given: a workbook whose clients are on its second sheet
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "Сводка"
    first.append(["Итого", 2])
    clients = book.create_sheet("Клиенты")
    clients.append(["Имя", "Телефон"])
    clients.append(["Анна", "+79123456789"])
    clients.append(["Борис", 79031112233])
    buffer = io.BytesIO()
    book.save(buffer)
    location, token = _upload(client, buffer.getvalue(), name="clients.xlsx")
    # when: the second sheet is chosen
    assert '<option value="Клиенты">' in client.get(location).text
    page = client.get(location + "&sheet=Клиенты").text
    # then: its rows are previewed and imported
    assert _selected(page) == {0: "first_name", 1: "phone"}
    assert "<td>Борис</td><td>79031112233</td>" in page
    _response, job_id = _submit(client, token, page, "import")
    assert job_id is not None
    job = wait_for_job(settings.database_url, job_id)
    assert (job.sheet, job.inserted, job.rejected) == ("Клиенты", 2, 0)
    assert sorted(c.phone or "" for c in db.scalars(select(Contact))) == [
        "+79031112233",
        "+79123456789",
    ]


def test_a_new_custom_field_is_made_from_an_unknown_column(
    client: TestClient, marketer: User, settings: Settings, db: Session
) -> None:
    # given: a column nothing maps to
    rows = [["E-mail", "Любимый цвет"], ["anna@example.ru", "красный"]]
    location, token = _upload(client, csv_bytes(rows))
    page = client.get(location).text
    offered = [index for index, body in SELECT.findall(page) if 'value="__new__"' in body]
    # when: choosing "create a custom field from this column"
    _response, job_id = _submit(client, token, page, "import", **{"column-1": "__new__"})
    assert job_id is not None
    job = wait_for_job(settings.database_url, job_id)
    # then: only the unknown column offered it; a text field keyed in Latin holds the value
    assert offered == ["1"]
    field = db.scalar(
        select(CustomFieldDefinition).where(CustomFieldDefinition.key == "lyubimyy_tsvet")
    )
    assert field is not None
    assert (field.entity, field.label, field.type.value) == (
        FieldEntity.CONTACT,
        "Любимый цвет",
        "string",
    )
    assert job.mapping == {"E-mail": "email", "Любимый цвет": "custom.lyubimyy_tsvet"}
    assert _contacts(db)["anna@example.ru"].custom == {"lyubimyy_tsvet": "красный"}


def test_two_columns_on_one_field_keep_the_choices_and_say_why(
    client: TestClient, marketer: User, db: Session
) -> None:
    # given
    location, token = _upload(client, csv_bytes(CLIENTS))
    page = client.get(location).text
    # when
    response, job_id = _submit(client, token, page, "import", **{"column-4": "first_name"})
    # then
    assert response.status_code == 422
    assert job_id is None
    assert "mapping: two columns are mapped to the same field." in response.text
    assert _selected(response.text)[4] == "first_name"
    assert db.scalar(select(func.count()).select_from(ImportJob)) == 0


def test_a_saved_mapping_is_offered_applied_and_deleted(
    client: TestClient, marketer: User, settings: Settings, db: Session
) -> None:
    # given: an import whose "Примечание" column was mapped by hand and saved as "1C"
    rows = [["E-mail", "Примечание"], ["anna@example.ru", "Казань"]]
    location, token = _upload(client, csv_bytes(rows))
    page = client.get(location).text
    _response, job_id = _submit(
        client, token, page, "import", **{"column-1": "city", "mapping_name": "1C"}
    )
    assert job_id is not None
    wait_for_job(settings.database_url, job_id)
    saved = db.scalar(select(SavedMapping))
    assert saved is not None
    assert (saved.name, saved.mapping) == ("1C", {"E-mail": "email", "Примечание": "city"})
    assert "1C" in client.get("/imports").text

    # when: the next file is uploaded with that mapping
    location, _token = _upload(client, csv_bytes(rows), saved=str(saved.id))
    # then: its columns are mapped as saved
    assert f"saved={saved.id}" in location
    assert _selected(client.get(location).text) == {0: "email", 1: "city"}

    # when: the mapping is deleted
    response = client.post(f"/imports/mappings/{saved.id}/delete", follow_redirects=False)
    # then
    assert response.status_code == 303
    assert db.scalar(select(func.count()).select_from(SavedMapping)) == 0


def test_uploading_nothing_asks_for_a_file(client: TestClient, marketer: User) -> None:
    response = client.post(
        "/imports/upload",
        data={"entity": "contacts"},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert response.status_code == 422
    assert 'data-field-error="file">Choose a file.<' in response.text


def test_an_unknown_upload_is_not_found(client: TestClient, marketer: User) -> None:
    for token in ("0" * 32 + "_x.csv", "../../etc/passwd", "nothing"):
        assert client.get(f"/imports/upload/{token}").status_code == 404


# --- history --------------------------------------------------------------------------------


def test_history_lists_jobs_newest_first_twenty_a_page(
    client: TestClient, marketer: User, settings: Settings
) -> None:
    # given: 25 jobs
    path = settings.data_dir / "one.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes([["E-mail"], ["a@example.ru"]]))
    with session_scope(settings.database_url) as session:
        ids = [
            service.create_job(
                session, entity=ImportEntity.CONTACTS, path=path, filename=f"f{n}.csv"
            ).id
            for n in range(25)
        ]
    # when
    first = client.get("/imports").text
    second = client.get("/imports", params={"page": 2}).text
    # then
    shown = [int(i) for i in re.findall(r'<tr data-job-id="(\d+)">', first)]
    assert shown == sorted(ids, reverse=True)[:20]
    assert [int(i) for i in re.findall(r'<tr data-job-id="(\d+)">', second)] == sorted(
        ids, reverse=True
    )[20:]


# --- who may import -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ANALYST, Role.SALES])
def test_analysts_and_sales_may_not_import(
    client: TestClient, make_user: UserFactory, role: Role
) -> None:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(role).email)
    for path in ("/imports", "/imports/schedules", "/imports/schedules/new", "/imports/1"):
        assert client.get(path).status_code == 403, path
    upload = client.post(
        "/imports/upload", data={"entity": "contacts"}, files={"file": ("a.csv", b"x", "text/csv")}
    )
    assert upload.status_code == 403
    assert client.get("/api/v1/imports/mappings").status_code == 403
    assert 'data-area="imports"' not in client.get("/").text


def test_marketers_see_imports_in_the_navigation(client: TestClient, marketer: User) -> None:
    page = client.get("/")
    assert 'href="/imports" data-area="imports"' in page.text
