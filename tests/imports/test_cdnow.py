"""CDNOW through the product: import the raw sample as orders, summarise what the database holds.

CDNOW_sample.txt (shared/data/cdnow) has no header and whitespace-separated columns: master id,
sample id, date YYYYMMDD, number of CDs, dollars. Each row becomes one order of its customer
(sample id) worth its dollars; the number of CDs is not a line quantity (the dollars are the
total already), so it is left unmapped. The per-customer summary of the 39-week calibration
period built from the stored orders must match the published file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order
from retentio.contacts.models import ContactIdentity, IdentityKind
from retentio.imports.mapping import ImportEntity
from retentio.imports.reader import WHITESPACE, detect_delimiter, detect_format, read_rows
from retentio.predict import summary
from tests.imports.conftest import Importer
from tests.predict.conftest import cdnow_folder

ROWS = 6_919
CUSTOMERS = 2_357
CALIBRATION_END = np.datetime64("1997-09-30")
MAPPING = {"column 2": "customer_id", "column 3": "placed_at", "column 5": "total"}
# The published file rounds to 2 decimals: half a cent, and a hair for float noise.
TOLERANCE = 0.005 + 1e-9


def _stored_purchases(db: Session) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer (sample id as a number), purchase day and revenue of every stored order."""
    rows = db.execute(
        select(ContactIdentity.value, Order.placed_at, Order.total, Order.refunded_total)
        .join(Order, Order.contact_id == ContactIdentity.contact_id)
        .where(ContactIdentity.kind == IdentityKind.EXTERNAL)
    ).all()
    # External ids are stored as "<system>:<id>" ("shop:0001"); the id is the sample id.
    customer = np.array([int(value.rpartition(":")[2]) for value, *_ in rows])
    moment = np.array([placed.date() for _, placed, *_ in rows], dtype="datetime64[D]")
    revenue = np.array([float(total - refunded) for *_, total, refunded in rows])
    return customer, moment, revenue


def test_cdnow_sample_imports_and_summarises_to_the_published_file(
    run_import: Importer, db: Session, tmp_path: Path
) -> None:
    # One test, not two: each import of the sample takes ~15-30 s.
    # given: the raw sample, found as the model tests find it (missing data fails the test)
    sample = cdnow_folder() / "CDNOW_sample.txt"
    published = np.loadtxt(
        cdnow_folder() / "cdnow_customers_summary_with_transactions.csv", delimiter=",", skiprows=1
    )
    assert detect_format(sample).delimiter == WHITESPACE
    # when: imported as orders, no header and no order number column
    job = run_import(
        sample, ImportEntity.ORDERS, mapping=MAPPING, has_header=False, batch_size=2_000
    )
    # then: every row read and stored, each its own order (19 rows repeat another's customer,
    # day and dollars exactly: the occurrence counter keeps them apart)
    assert (job.rows_read, job.total_rows, job.inserted) == (ROWS, ROWS, ROWS)
    assert (job.updated, job.unchanged, job.rejected) == (0, 0, 0)
    assert job.options["has_header"] is False
    customer, moment, revenue = _stored_purchases(db)
    assert customer.size == ROWS
    assert round(float(revenue.sum()), 2) == round(float(np.loadtxt(sample, usecols=4).sum()), 2)

    # when: the product's summary of what the database holds, days as periods, weeks as unit
    got = summary.summarise(
        customer, moment, revenue, calibration_end=CALIBRATION_END, unit=summary.WEEK
    )
    # then: all 2,357 customers; x exact, times and mean repeat spend to the file's rounding
    np.testing.assert_array_equal(got.customer, published[:, 0].astype(np.int64))
    assert got.customer.size == CUSTOMERS
    np.testing.assert_array_equal(got.x, published[:, 1])
    for column, expected in ((got.t_x, published[:, 2]), (got.T, published[:, 3])):
        assert np.max(np.abs(column - expected)) <= TOLERANCE
    assert np.max(np.abs(got.mean_spend - published[:, 4])) <= TOLERANCE

    before = sorted(db.execute(select(Order.external_id, Order.total)).all())
    # when: the same file again, its rows in reverse order (derived numbers ignore position)
    lines = sample.read_text().splitlines()
    reversed_copy = tmp_path / "CDNOW_reversed.txt"
    reversed_copy.write_text("\n".join(reversed(lines)) + "\n")
    again = run_import(
        reversed_copy, ImportEntity.ORDERS, mapping=MAPPING, has_header=False, batch_size=2_000
    )
    # then: every row found unchanged, no order added or altered
    assert (again.rows_read, again.unchanged) == (ROWS, ROWS)
    assert (again.inserted, again.updated, again.rejected) == (0, 0, 0)
    db.expire_all()
    assert sorted(db.execute(select(Order.external_id, Order.total)).all()) == before


def test_space_aligned_text_is_detected_and_read_without_a_header(tmp_path: Path) -> None:
    # given: columns aligned with runs of spaces and a tab, CRLF line ends, no header
    path = tmp_path / "aligned.txt"
    path.write_bytes(b" 00004 0001 19970101  2   29.33\r\n 00021 0002\t19970101 3  63.34\r\n")
    # when
    fmt = detect_format(path, delimiter="whitespace", has_header=False)
    header, rows = read_rows(path, fmt)
    # then: the first row is data, the columns are named by position
    assert header == ["column 1", "column 2", "column 3", "column 4", "column 5"]
    assert list(rows) == [
        (1, ["00004", "0001", "19970101", "2", "29.33"]),
        (2, ["00021", "0002", "19970101", "3", "63.34"]),
    ]


def test_whitespace_is_detected_only_without_csv_delimiters_and_at_one_width() -> None:
    assert detect_delimiter("a  b c\n1 2    3\n") == WHITESPACE
    # a one-column file of names stays one column: the names have different word counts
    assert detect_delimiter("Name\nAnna Petrova\nIvan Ivanovich Petrov\n") != WHITESPACE
    assert detect_delimiter("name\tcity\nAnna Petrova\tNew York\n") == "\t"
    assert detect_delimiter("name;city\nAnna Petrova;Tver\n") == ";"


def test_a_delimiter_missing_from_the_header_is_not_chosen_however_the_cells_look() -> None:
    # given a comma file whose only non-empty cell is a quoted `";`, which misleads the sniffer
    text = 'id,email,phone\r\n,,\r\n,,\r\n""";",,\r\n'
    # when the delimiter is detected, then the header's comma wins
    assert detect_delimiter(text) == ","
