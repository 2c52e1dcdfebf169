"""The import's fast paths give exactly what the general paths give, and fall back to them.

Fast paths: plain e-mails and Russian phones skip the full validators, a batch whose keys all
look new is written without looking them up, rows go to the database as plain tuples.
"""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from retentio.contacts import normalize
from retentio.contacts.models import Contact, ContactIdentity
from retentio.imports.reader import count_rows, detect_format, read_rows
from tests.imports.conftest import Importer
from tests.imports.files import write_csv

# The plain-address test as it was written before it was made faster.
_OLD_SIMPLE_EMAIL = re.compile(
    r"^[a-z0-9](?:[a-z0-9_+\-]|\.(?!\.))*@(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$"
)


def _old_is_simple(lowered: str) -> bool:
    return bool(_OLD_SIMPLE_EMAIL.match(lowered)) and "." not in lowered.split("@")[0][-1:]


@given(st.text(alphabet="ab0._+-@.xyzрф\n ", max_size=24))
@settings(max_examples=2000)
def test_the_plain_email_test_accepts_exactly_what_it_did(candidate: str) -> None:
    lowered = candidate.strip().lower()
    assert bool(normalize._SIMPLE_EMAIL.fullmatch(lowered)) == _old_is_simple(lowered)


def test_plain_email_examples() -> None:
    for address in ("a@b.ru", "a.b@c.ru", "a-.b@c.ru", "first.last+tag@mail.example.com"):
        assert normalize._SIMPLE_EMAIL.fullmatch(address), address
    for address in ("a.@b.ru", ".a@b.ru", "a..b@c.ru", "a@b", "a@@b.ru", "a@b.ru."):
        assert not normalize._SIMPLE_EMAIL.fullmatch(address), address


@given(st.text(alphabet="0123456789+78 ()-.\t\u00a0x٣", max_size=22))
@settings(max_examples=3000)
def test_russian_digits_are_read_as_the_regex_alone_read_them(candidate: str) -> None:
    old = normalize._RU_DIGITS.match(normalize._PHONE_NOISE.sub("", candidate.strip()))
    assert normalize._russian_digits(candidate.strip()) == (old.group(1) if old else None)


def test_phones_typed_the_usual_ways() -> None:
    for typed in ("8 (912) 345-67-89", "+7 912 345 67 89", "9123456789", "+7\t912\u00a0345.67.89"):
        assert normalize.normalize_phone(typed, default_region="RU") == "+79123456789"


def test_count_rows_counts_what_read_rows_yields(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        'email;note\na@example.ru;"two\nlines"\n;\n\n  ;  \nb@example.ru;x\n', encoding="utf-8"
    )
    fmt = detect_format(path, delimiter=";")
    assert count_rows(path, fmt) == sum(1 for _ in read_rows(path, fmt)[1]) == 2


def test_a_batch_with_one_known_key_the_sample_missed_is_written_the_careful_way(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    # given: a contact, then a batch of 200 new people whose last row is that contact again
    run_import(write_csv(tmp_path / "a.csv", [["email", "city"], ["old@example.ru", "Тула"]]))
    rows = [["email", "city"]] + [[f"new{i}@example.ru", "Омск"] for i in range(199)]
    rows.append(["old@example.ru", "Казань"])
    # when
    job = run_import(write_csv(tmp_path / "b.csv", rows), batch_size=1_000)
    # then: nothing doubled, the known person updated
    assert (job.inserted, job.updated, job.rejected) == (199, 1, 0)
    assert db.scalar(select(func.count()).select_from(Contact)) == 200
    assert db.scalar(select(func.count()).select_from(ContactIdentity)) == 200
    assert db.scalar(select(Contact.city).where(Contact.email == "old@example.ru")) == "Казань"


def test_a_fresh_batch_inside_a_file_duplicates_merge_in_file_order(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    rows = [["id", "email", "phone", "city"]]
    rows += [[str(i), f"u{i}@example.ru", f"+7912{i:07d}", "Омск"] for i in range(50)]
    rows += [
        ["7", "", "", "Казань"],
        ["", "", "+79120000008", "Тула"],
        ["7", "u8@example.ru", "", ""],
    ]
    job = run_import(write_csv(tmp_path / "d.csv", rows), batch_size=1_000)
    assert (job.inserted, job.updated, job.rejected) == (50, 2, 1)
    assert db.scalar(select(Contact.city).where(Contact.email == "u7@example.ru")) == "Казань"
    assert db.scalar(select(Contact.city).where(Contact.email == "u8@example.ru")) == "Тула"


def test_bulk_written_values_read_back_as_the_orm_writes_them(
    tmp_path: Path, run_import: Importer, db: Session
) -> None:
    rows = [["email", "birthday"], ["a@example.ru", "05.03.1990"]]
    run_import(write_csv(tmp_path / "v.csv", rows))
    contact = db.scalars(select(Contact)).one()
    assert contact.birthday is not None
    assert contact.birthday.isoformat() == "1990-03-05"
    assert contact.custom == {}
    assert contact.created_at.utcoffset() is not None
    identity = db.scalars(select(ContactIdentity)).one()
    assert identity.created_at.utcoffset() is not None
    if db.get_bind().dialect.name == "sqlite":
        # The text SQLAlchemy's DateTime writes on SQLite: no "T", no offset.
        stored = db.execute(text("SELECT created_at, birthday FROM contacts")).one()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stored[0]), stored[0]
        assert stored[1] == "1990-03-05"
