"""Upserts, re-imports, reconciliation of counts and the report of bad rows."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact, ContactIdentity, ContactTag
from tests.imports.conftest import Importer
from tests.imports.files import write_csv

Rejections = Callable[[int], list[tuple[int, str | None, str]]]


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_reimporting_the_same_file_changes_nothing(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    rows = [
        ["id", "email", "phone", "first_name", "tags"],
        ["1", "a@example.ru", "+79120000001", "Анна", "vip, опт"],
        ["2", "b@example.ru", "", "Борис", ""],
    ]
    path = write_csv(tmp_path / "c.csv", rows)
    first = run_import(path)
    second = run_import(path)
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 2)
    assert (_count(db, Contact), _count(db, ContactIdentity), _count(db, ContactTag)) == (2, 5, 2)


def test_matching_order_external_id_then_email_then_phone(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    run_import(
        write_csv(
            tmp_path / "a.csv",
            [["id", "email", "phone", "city"], ["7", "a@example.ru", "+79120000001", "Тула"]],
        )
    )
    # by external id (new e-mail added), by e-mail alone, by phone alone
    job = run_import(
        write_csv(
            tmp_path / "b.csv",
            [
                ["id", "email", "phone", "city"],
                ["7", "second@example.ru", "", "Казань"],
                ["", "a@example.ru", "", "Самара"],
                ["", "", "8 912 000-00-01", "Омск"],
            ],
        )
    )
    contact = db.scalars(select(Contact)).one()
    assert (job.updated, job.inserted) == (3, 0)
    assert (contact.city, contact.email) == ("Омск", "a@example.ru")
    emails = set(db.scalars(select(ContactIdentity.value).where(ContactIdentity.kind == "email")))
    assert emails == {"a@example.ru", "second@example.ru"}


def test_empty_cells_keep_values_unless_asked(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    run_import(write_csv(tmp_path / "a.csv", [["email", "city"], ["a@example.ru", "Тула"]]))
    kept = run_import(write_csv(tmp_path / "b.csv", [["email", "city"], ["a@example.ru", ""]]))
    city_kept = db.scalar(select(Contact.city))
    cleared = run_import(
        write_csv(tmp_path / "c.csv", [["email", "city"], ["a@example.ru", ""]]),
        overwrite_empty=True,
    )
    assert (kept.unchanged, city_kept) == (1, "Тула")
    assert (cleared.updated, db.scalar(select(Contact.city))) == (1, None)


def test_an_address_of_another_contact_rejects_the_row(
    tmp_path: Path, run_import: Importer, db: Session, rejections: Rejections
) -> None:
    run_import(
        write_csv(
            tmp_path / "a.csv", [["id", "email"], ["1", "a@example.ru"], ["2", "b@example.ru"]]
        )
    )
    job = run_import(write_csv(tmp_path / "b.csv", [["id", "email"], ["1", "b@example.ru"]]))
    assert job.rejected == 1
    assert rejections(job.id) == [(2, "email", "already belongs to another contact")]


def test_a_ten_percent_bad_file_keeps_every_good_row_and_names_every_bad_one(
    tmp_path: Path, run_import: Importer, db: Session, rejections: Rejections
) -> None:
    # given: 200 rows, every tenth broken in a different way
    broken = [("email", "not-an-email"), ("phone", "12"), ("birthday", "31.02.1990"), ("email", "")]
    rows: list[list[str]] = [["email", "phone", "birthday", "first_name"]]
    bad_rows: dict[int, str] = {}
    for i in range(200):
        row = [f"user{i}@example.ru", f"+7912{i:07d}", "01.01.1990", f"Имя{i}"]
        if i % 10 == 9:
            column, value = broken[(i // 10) % len(broken)]
            if column == "email":
                row[0], row[1] = value, ""
            else:
                row[["email", "phone", "birthday"].index(column)] = value
            bad_rows[i + 2] = column
        rows.append(row)
    # when
    job = run_import(write_csv(tmp_path / "bad.csv", rows), batch_size=37)
    # then: counts reconcile and every bad row is reported by number
    reported = rejections(job.id)
    assert (job.rows_read, job.inserted, job.rejected) == (200, 180, 20)
    assert job.inserted + job.updated + job.unchanged + job.rejected == job.rows_read
    assert {n for n, _, _ in reported} == set(bad_rows)
    assert _count(db, Contact) == 180
    for number, column, _reason in reported:
        expected = {"email": "email", "phone": "phone", "birthday": "birthday"}[bad_rows[number]]
        assert column in (expected, None), (number, column)


def test_duplicates_inside_one_file_follow_file_order(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    rows = [["email", "city"]] + [["same@example.ru", city] for city in ("A", "B", "C")]
    for batch_size in (1, 2, 10):
        db.execute(Contact.__table__.delete())
        db.execute(ContactIdentity.__table__.delete())
        job = run_import(write_csv(tmp_path / f"d{batch_size}.csv", rows), batch_size=batch_size)
        assert (job.inserted, job.updated, db.scalar(select(Contact.city))) == (1, 2, "C")


def test_counts_always_add_up(tmp_path: Path, run_import: Importer) -> None:
    rng = random.Random(5)
    rows = [["email", "phone", "gender"]] + [
        [
            rng.choice([f"u{rng.randint(0, 40)}@example.ru", "bad", ""]),
            rng.choice(["", "+79120000000", "123"]),
            rng.choice(["м", "ж", "x", ""]),
        ]
        for _ in range(300)
    ]
    job = run_import(write_csv(tmp_path / "r.csv", rows), batch_size=17)
    # Wholly blank lines are not rows: people leave them between blocks in Excel.
    non_blank = sum(1 for row in rows[1:] if any(row))
    assert job.inserted + job.updated + job.unchanged + job.rejected == job.rows_read == non_blank
    assert non_blank > 250
