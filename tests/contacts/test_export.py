"""Exporting contact lists: the list's filters, only what the user may see, chosen columns,
CSV and XLSX safe against formula injection, and files that import back unchanged."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from retentio.auth.models import Role, User
from retentio.contacts import export
from retentio.contacts.queries import ContactFilter
from retentio.db import session_scope
from retentio.fields.models import FieldType
from retentio.imports import service as import_service
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob
from retentio.imports.runner import run_job
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.page_factories import Shop

DEFAULT_HEADER = [
    "retentio_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "city",
    "tags",
    "created_at",
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def shop(settings: Settings) -> Shop:
    return Shop(settings.database_url)


def _login(client: TestClient, user: User) -> None:
    client.headers["X-CSRF-Token"] = log_in(client, user.email)


def _csv(response: Response, delimiter: str = ";") -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=delimiter))


def _xlsx_rows(response: Response, tmp_path: Path) -> list[list[object]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    path = tmp_path / "export.xlsx"
    path.write_bytes(response.content)
    return [
        list(row) for row in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    ]


def _ids(table: list[list[str]]) -> list[int]:
    return [int(row[0]) for row in table[1:]]


# --- what is in the file --------------------------------------------------------------------


def test_csv_has_the_default_columns_under_importer_names(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given
    anna = shop.contact(
        first_name="Анна",
        last_name="Иванова",
        email="anna@example.ru",
        phone="8 912 345-67-89",
        city="Казань",
        tags=["vip", "new"],
    )
    boris = shop.contact(first_name="Борис", email="boris@example.ru")
    _login(client, make_user(Role.ADMIN))
    # when
    response = client.get("/api/v1/contacts/export")
    # then
    table = _csv(response)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="contacts-')
    assert table[0] == DEFAULT_HEADER
    assert [row[:7] for row in table[1:]] == [
        [str(anna), "Анна", "Иванова", "anna@example.ru", "+79123456789", "Казань", "new, vip"],
        [str(boris), "Борис", "", "boris@example.ru", "", "", ""],
    ]
    created = datetime.fromisoformat(table[1][7])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 600


def test_the_list_filters_and_chosen_columns_apply(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given
    shop.field("vip_level", FieldType.NUMBER, label="VIP level")
    anna = shop.contact(first_name="Анна", city="Казань", tags=["vip"], custom={"vip_level": 2})
    shop.contact(first_name="Борис", city="Москва", tags=["vip"])
    shop.contact(first_name="Вера", city="Казань")
    _login(client, make_user(Role.MARKETER))
    # when: the list page's own parameters, columns repeated and comma-separated
    response = client.get(
        "/api/v1/contacts/export",
        params={
            "tag": "vip",
            "city": "Казань",
            "columns": ["retentio_id,first_name", "custom.vip_level"],
            "delimiter": ",",
        },
    )
    # then
    assert _csv(response, ",") == [
        ["retentio_id", "first_name", "vip_level"],
        [str(anna), "Анна", "2"],
    ]


def test_an_unknown_column_is_refused(client: TestClient, make_user: UserFactory) -> None:
    _login(client, make_user(Role.ADMIN))
    response = client.get("/api/v1/contacts/export", params={"columns": "first_name,password"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "columns"
    assert "unknown column 'password'" in response.json()["error"]["message"]


def test_large_lists_are_read_in_chunks_in_id_order(
    client: TestClient, make_user: UserFactory, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: more contacts than one chunk holds
    monkeypatch.setattr(export, "CHUNK", 7)
    ids = shop.contacts(30)
    _login(client, make_user(Role.ADMIN))
    # when
    table = _csv(client.get("/api/v1/contacts/export"))
    # then
    assert _ids(table) == ids


def test_csv_is_streamed_in_pieces(settings: Settings, make_user: UserFactory, shop: Shop) -> None:
    # given
    shop.contacts(12)
    user = make_user(Role.ADMIN)
    columns = export.BASE_COLUMNS[:2]
    # when
    pieces = list(
        export.csv_stream(
            settings.database_url, user, ContactFilter(), columns, delimiter=";", flush_rows=5
        )
    )
    # then: a piece every five rows, then the rest
    lines = [piece.decode("utf-8-sig").count("\r\n") for piece in pieces]
    assert lines == [6, 5, 2]


# --- who sees what ----------------------------------------------------------------------------


def test_sales_export_only_the_contacts_they_may_see(
    client: TestClient, make_user: UserFactory, shop: Shop, tmp_path: Path
) -> None:
    # given: a sales user's own, watched and shared contacts, and two hidden from them
    sales, other = make_user(Role.SALES), make_user(Role.SALES)
    own = shop.contact(first_name="Своя", email="own@example.ru", owner_id=sales.id)
    watched = shop.contact(first_name="Наблюдаемая", owner_id=other.id, watcher_ids=[sales.id])
    shared = shop.contact(first_name="Общая", available_to_all=True)
    shop.contact(first_name="Чужая", email="hidden@example.ru", owner_id=other.id)
    shop.contact(first_name="Ничья", email="nobody@example.ru")
    _login(client, sales)
    # when / then: CSV, XLSX and the export page agree
    assert _ids(_csv(client.get("/api/v1/contacts/export"))) == [own, watched, shared]
    rows = _xlsx_rows(client.get("/api/v1/contacts/export", params={"format": "xlsx"}), tmp_path)
    assert [int(r[0]) for r in rows[1:]] == [own, watched, shared]
    assert "All your contacts: 3" in client.get("/contacts/export").text
    # when: searching for a hidden contact by its e-mail
    searched = _csv(client.get("/api/v1/contacts/export", params={"q": "hidden@"}))
    # then: it is not there
    assert searched == [DEFAULT_HEADER]
    every_cell = str(rows) + str(_csv(client.get("/api/v1/contacts/export")))
    assert "hidden@example.ru" not in every_cell
    assert "nobody@example.ru" not in every_cell


# --- formula injection ------------------------------------------------------------------------

FORMULAS = {
    "first_name": '=HYPERLINK("http://evil.example","Click")',
    "last_name": "+cmd|' /C calc'!A0",
    "city": "@SUM(1+1)",
}


def test_csv_cells_that_look_like_formulas_get_a_quote(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given
    shop.contact(phone="+7 912 345-67-89", tags=["-5"], **FORMULAS)
    _login(client, make_user(Role.ADMIN))
    # when
    table = _csv(client.get("/api/v1/contacts/export"))
    # then: formulas quoted; the phone (a plain number) and the tag "-5" stay as they are
    assert table[1][1:7] == [
        '\'=HYPERLINK("http://evil.example","Click")',
        "'+cmd|' /C calc'!A0",
        "",
        "+79123456789",
        "'@SUM(1+1)",
        "-5",
    ]


def test_xlsx_cells_are_text_never_formulas(
    client: TestClient, make_user: UserFactory, shop: Shop, tmp_path: Path
) -> None:
    # given
    contact = shop.contact(phone="+7 912 345-67-89", **FORMULAS)
    _login(client, make_user(Role.ADMIN))
    # when
    response = client.get("/api/v1/contacts/export", params={"format": "xlsx"})
    path = tmp_path / "contacts.xlsx"
    path.write_bytes(response.content)
    sheet = load_workbook(path).active
    assert sheet is not None
    row = next(iter(sheet.iter_rows(min_row=2, max_row=2)))
    # then: the text is kept as typed, stored as text with Excel's quote prefix
    assert [c.value for c in row[:6]] == [
        contact,
        FORMULAS["first_name"],
        FORMULAS["last_name"],
        None,
        "+79123456789",
        FORMULAS["city"],
    ]
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)
    assert [row[i].data_type for i in (1, 2, 4, 5)] == ["s", "s", "s", "s"]
    assert [row[i].quotePrefix for i in (1, 2, 4, 5)] == [True, True, False, True]
    assert row[0].data_type == "n"
    assert isinstance(row[7].value, datetime)


# --- round trip -----------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_exported_list_imports_back_unchanged(
    client: TestClient,
    make_user: UserFactory,
    shop: Shop,
    settings: Settings,
    tmp_path: Path,
    file_format: str,
) -> None:
    # given: contacts with every kind of value, exported with all the importable columns
    shop.field("vip_level", FieldType.NUMBER)
    shop.field("colour", FieldType.STRING)
    owner = make_user(Role.MARKETER)
    shop.contact(
        first_name="Анна",
        last_name="Иванова",
        email="anna@example.ru",
        phone="8 912 345-67-89",
        city="=Казань",
        birthday="1990-03-05",
        gender="f",
        tags=["vip", "new"],
        owner_id=owner.id,
        external_ids={"import": "C-1"},
        custom={"vip_level": 2, "colour": "-красный"},
    )
    shop.contact(first_name="Борис", phone="+7 903 111-22-33", country="RU")
    _login(client, make_user(Role.ADMIN))
    columns = [
        "retentio_id",
        "external_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "gender",
        "birthday",
        "city",
        "country",
        "owner_email",
        "tags",
        "custom.vip_level",
        "custom.colour",
        "created_at",
    ]
    response = client.get(
        "/api/v1/contacts/export", params={"format": file_format, "columns": ",".join(columns)}
    )
    path = tmp_path / f"contacts.{file_format}"
    path.write_bytes(response.content)
    # when: the file is imported as it is, columns mapped automatically
    with session_scope(settings.database_url) as session:
        job_id = import_service.create_job(
            session, entity=ImportEntity.CONTACTS, path=path, filename=path.name
        ).id
    run_job(settings.database_url, job_id, region="RU")
    # then: every column was recognised but the two of Retentio's own, and nothing changed
    with session_scope(settings.database_url) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        ignored = [column for column, target in job.mapping.items() if not target]
        outcome = (job.rows_read, job.inserted, job.updated, job.unchanged, job.rejected)
    assert ignored == ["retentio_id", "created_at"]
    assert outcome == (2, 0, 0, 2, 0)


# --- the page --------------------------------------------------------------------------------


def test_the_list_links_to_an_export_of_what_it_shows(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given
    shop.field("vip_level", FieldType.NUMBER, label="VIP level")
    shop.contact(first_name="Анна", tags=["vip"])
    shop.contact(first_name="Борис")
    _login(client, make_user(Role.ANALYST))
    # when
    listing = client.get("/contacts", params={"tag": "vip", "sort": "name"}).text
    page = client.get("/contacts/export", params={"tag": "vip", "sort": "name"})
    # then
    assert 'href="/contacts/export?tag=vip&amp;sort=name"' in listing
    assert page.status_code == 200
    assert re.search(
        r'data-testid="export-total">Contacts matching the list.*filters: 1<', page.text
    )
    assert '<input type="hidden" name="tag" value="vip">' in page.text
    assert 'name="sort"' not in page.text
    assert 'value="custom.vip_level"> VIP level' in page.text
    assert 'value="email" checked' in page.text
    assert 'value="telegram" checked' not in page.text
