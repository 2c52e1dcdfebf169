"""Every file format, encoding, delimiter and value style the importer promises to read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderItem
from retentio.contacts.models import Contact
from retentio.fields.models import FieldEntity, FieldType
from retentio.fields.service import define_field
from retentio.imports.mapping import ImportEntity
from retentio.imports.values import parse_bool, parse_date, parse_datetime, parse_decimal
from tests.imports.conftest import Importer
from tests.imports.files import write_csv, write_ods, write_xls, write_xlsx

HEADER = ["Имя", "Фамилия", "Телефон", "E-mail", "Дата рождения", "Город"]
ROWS = [
    ["Анна", "Иванова", "8 (912) 345-67-89", " Anna.Ivanova@Example.RU ", "05.03.1990", "Казань"],
    ["Пётр", "Петров", "+7 912 000 11 22", "petr@example.ru", "1985-12-01", "Москва"],
    ["Ольга", "Сидорова", "9123334455", "OLGA@example.ru", "7/11/1979", "Тула"],
]
EXPECTED = {
    ("anna.ivanova@example.ru", "+79123456789", "Анна", "Иванова", date(1990, 3, 5), "Казань"),
    ("petr@example.ru", "+79120001122", "Пётр", "Петров", date(1985, 12, 1), "Москва"),
    ("olga@example.ru", "+79123334455", "Ольга", "Сидорова", date(1979, 11, 7), "Тула"),
}


def _contacts(db: Session) -> set[tuple[object, ...]]:
    rows = db.execute(
        select(
            Contact.email,
            Contact.phone,
            Contact.first_name,
            Contact.last_name,
            Contact.birthday,
            Contact.city,
        )
    )
    return {tuple(r) for r in rows}


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_with_any_delimiter(
    tmp_path: Path, run_import: Importer, db: Session, delimiter: str
) -> None:
    job = run_import(write_csv(tmp_path / "c.csv", [HEADER, *ROWS], delimiter=delimiter))
    assert (job.inserted, job.rejected, job.delimiter) == (3, 0, delimiter)
    assert _contacts(db) == EXPECTED


@pytest.mark.parametrize(
    ("encoding", "bom", "detected"),
    [("utf-8", False, "utf-8"), ("utf-8", True, "utf-8-sig"), ("cp1251", False, "cp1251")],
)
def test_csv_encodings_are_detected(
    tmp_path: Path, run_import: Importer, db: Session, encoding: str, bom: bool, detected: str
) -> None:
    job = run_import(
        write_csv(tmp_path / "c.csv", [HEADER, *ROWS], delimiter=";", encoding=encoding, bom=bom)
    )
    assert (job.encoding, job.inserted) == (detected, 3)
    assert _contacts(db) == EXPECTED


def test_encoding_can_be_overridden(tmp_path: Path, run_import: Importer, db: Session) -> None:
    path = write_csv(tmp_path / "c.csv", [HEADER, *ROWS], delimiter=";", encoding="cp1251")
    job = run_import(path, encoding="cp1251", delimiter=";")
    assert (job.encoding, job.inserted) == ("cp1251", 3)


def test_quoted_fields_with_delimiters_and_newlines(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    rows = [
        ["email", "city", "first_name"],
        ["a@example.ru", "Москва; центр", "Анна\nМария"],
        ["b@example.ru", 'Город "N"', "Борис"],
    ]
    job = run_import(write_csv(tmp_path / "q.csv", rows, delimiter=";"))
    cities = dict(db.execute(select(Contact.email, Contact.city)).all())
    assert job.inserted == 2
    assert cities == {"a@example.ru": "Москва; центр", "b@example.ru": 'Город "N"'}


@pytest.mark.parametrize("writer", [write_xlsx, write_xls, write_ods])
def test_spreadsheets(
    tmp_path: Path,
    run_import: Importer,
    db: Session,
    writer: Callable[[Path, list[list[object]]], Path],
) -> None:
    suffix = {write_xlsx: ".xlsx", write_xls: ".xls", write_ods: ".ods"}[writer]
    rows: list[list[object]] = [HEADER, *[list(r) for r in ROWS]]
    rows[3][2] = 9123334455  # a phone typed as a number
    job = run_import(writer(tmp_path / f"book{suffix}", rows))
    assert (job.inserted, job.rejected) == (3, 0)
    assert _contacts(db) == EXPECTED


def test_excel_serial_dates_and_booleans_in_custom_fields(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    define_field(
        db, entity=FieldEntity.CONTACT, key="subscribed", label="Подписан", type=FieldType.BOOLEAN
    )
    db.commit()
    rows = [
        ["email", "Дата рождения", "subscribed"],
        ["a@example.ru", 32937, "да"],
        ["b@example.ru", "1990-03-05 10:30", "нет"],
        ["c@example.ru", "05.03.1990", "yes"],
        ["d@example.ru", "", "0"],
    ]
    job = run_import(write_xlsx(tmp_path / "s.xlsx", rows))
    got = {
        e: (b, c.get("subscribed"))
        for e, b, c in db.execute(select(Contact.email, Contact.birthday, Contact.custom))
    }
    assert job.inserted == 4
    assert got == {
        "a@example.ru": (date(1990, 3, 5), True),
        "b@example.ru": (date(1990, 3, 5), False),
        "c@example.ru": (date(1990, 3, 5), True),
        "d@example.ru": (None, False),
    }


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2024-03-05", date(2024, 3, 5)),
        ("05.03.2024", date(2024, 3, 5)),
        ("5/3/2024", date(2024, 3, 5)),
        ("05.03.24", date(2024, 3, 5)),
        (45356, date(2024, 3, 5)),
        ("45356", date(2024, 3, 5)),
        ("2024-03-05T10:00:00+03:00", date(2024, 3, 5)),
        ("05.03.2024 23:15", date(2024, 3, 5)),
    ],
)
def test_date_styles(raw: str | int, value: date) -> None:
    assert parse_date(raw) == value


def test_datetime_keeps_the_time() -> None:
    assert parse_datetime("05.03.2024 23:15").isoformat() == "2024-03-05T23:15:00+00:00"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1 234,50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("1.234,50", Decimal("1234.50")),
        ("1234.5", Decimal("1234.5")),
        ("12 345 ₽", Decimal("12345")),
        ("1\u00a0000,00 руб.", Decimal("1000.00")),
        (99.9, Decimal("99.9")),
    ],
)
def test_number_styles(raw: str | float, value: Decimal) -> None:
    assert parse_decimal(raw) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("да", True),
        ("Нет", False),
        ("yes", True),
        ("NO", False),
        ("1", True),
        ("0", False),
        (1.0, True),
        ("1.0", True),
    ],
)
def test_boolean_styles(raw: str | float, value: bool) -> None:
    assert parse_bool(raw) is value


@pytest.mark.parametrize("raw", ["31.02.2024", "вчера", "2024-13-01"])
def test_bad_dates_name_the_problem(raw: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_date(raw)


def test_orders_one_row_per_item(tmp_path: Path, run_import: Importer, db: Session) -> None:
    rows = [
        ["Номер заказа", "Дата заказа", "E-mail", "Артикул", "Товар", "Количество", "Цена"],
        ["A-1", "05.03.2024", "anna@example.ru", "TEA", "Чай", "2", "350,00"],
        ["A-1", "05.03.2024", "anna@example.ru", "CUP", "Кружка", "1", "500"],
        ["A-2", "06.03.2024", "petr@example.ru", "TEA", "Чай", "1", "1 350,50"],
    ]
    job = run_import(
        write_csv(tmp_path / "o.csv", rows, delimiter=";"), ImportEntity.ORDERS, batch_size=1
    )
    totals = dict(db.execute(select(Order.external_id, Order.total)).all())
    assert (job.inserted, job.rejected, job.rows_read) == (3, 0, 3)
    assert totals == {"A-1": Decimal("1200.00"), "A-2": Decimal("1350.50")}
    assert db.scalar(select(func.count()).select_from(OrderItem)) == 3
    again = run_import(write_csv(tmp_path / "o.csv", rows, delimiter=";"), ImportEntity.ORDERS)
    assert (again.unchanged, again.inserted, again.updated) == (3, 0, 0)


def test_orders_one_row_per_order(tmp_path: Path, run_import: Importer, db: Session) -> None:
    rows = [
        ["Номер заказа", "Дата", "Телефон", "Сумма", "Статус"],
        ["B-1", "2024-03-05", "8 912 345 67 89", "2 500,00", "выполнен"],
        ["B-2", "2024-03-06", "8 912 345 67 89", "100", "отменён"],
    ]
    job = run_import(write_csv(tmp_path / "o.csv", rows, delimiter=";"), ImportEntity.ORDERS)
    orders = {
        o.external_id: (o.total, o.status.value, o.revenue) for o in db.scalars(select(Order))
    }
    assert job.inserted == 2
    assert orders == {
        "B-1": (Decimal("2500.00"), "fulfilled", Decimal("2500.00")),
        "B-2": (Decimal("100.00"), "cancelled", Decimal("0.00")),
    }
    assert db.scalar(select(func.count()).select_from(Contact)) == 1
