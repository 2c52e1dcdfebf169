"""Property-based tests: garbage never crashes the importer, and counts always reconcile."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retentio.imports.rows import ContactRow, RowError, parse_contact
from tests.imports.conftest import Importer
from tests.imports.files import write_csv

COLUMNS = [
    "id",
    "email",
    "phone",
    "Дата рождения",
    "gender",
    "first_name",
    "country",
    "timezone",
    "tags",
]
garbage = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "=1+2", "31.02.2020", "+7", "@", "a@b", "None", "\x00", "ж", "ZZ"]),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@given(
    st.lists(
        st.lists(garbage, min_size=len(COLUMNS), max_size=len(COLUMNS)), min_size=1, max_size=25
    )
)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_garbage_rows_are_rejected_with_a_reason_never_crash(
    tmp_path: Path, run_import: Importer, rows: list[list[str]]
) -> None:
    # NUL cannot live in a CSV file; the csv module refuses it, so the test does too.
    clean = [[cell.replace("\x00", "") for cell in row] for row in rows]
    job = run_import(write_csv(tmp_path / "g.csv", [COLUMNS, *clean]), batch_size=7)
    assert job.inserted + job.updated + job.unchanged + job.rejected == job.rows_read
    assert job.rows_read == sum(1 for row in clean if any(c.strip() for c in row))


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "email",
                "phone",
                "birthday",
                "gender",
                "country",
                "timezone",
                "first_name",
                "external_id",
                "tags",
            ]
        ),
        garbage,
        min_size=1,
    )
)
@settings(max_examples=300, deadline=None)
def test_parse_contact_either_accepts_or_names_the_problem(cells: dict[str, str]) -> None:
    outcome: object
    try:
        outcome = parse_contact(
            {k: (k, v) for k, v in cells.items()}, region="RU", custom_fields={}
        )
    except RowError as error:
        outcome = error
    if isinstance(outcome, RowError):
        assert outcome.reason
        assert outcome.column in (*cells, None)
    else:
        assert isinstance(outcome, ContactRow)
        assert outcome.external_id or outcome.email or outcome.phone
