"""Property: any table of valid contact rows survives import → export → import unchanged.

Each example gets its own tag, exports only that tag, and compares the exported values with the
generated ones (as the importer normalises them); importing the export then changes nothing.
"""

from __future__ import annotations

import csv
import io
import itertools
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retentio.auth.models import Role
from retentio.db import session_scope
from retentio.imports import service
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob
from retentio.imports.runner import run_job
from retentio.kit.csv_safety import restore
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.imports.files import write_csv

COLUMNS = ["external_id", "first_name", "last_name", "email", "phone", "city", "tags"]
_examples = itertools.count()
# Names and cities as people type them, including text that looks like a formula.
text = (
    st.text(
        alphabet=st.sampled_from("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВЁЯabcxyzXYZ -'=+@0123456789"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(lambda s: s != "" and not s.isdigit())
)
row = st.tuples(text, text, text, st.booleans(), st.booleans())


def _import(settings_: Settings, path: Path) -> ImportJob:
    with session_scope(settings_.database_url) as session:
        job_id = service.create_job(
            session, entity=ImportEntity.CONTACTS, path=path, filename=path.name
        ).id
    run_job(settings_.database_url, job_id, region="RU", batch_size=7)
    with session_scope(settings_.database_url) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        session.expunge(job)
        return job


@given(st.lists(row, min_size=1, max_size=12))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_valid_rows_round_trip_through_export_and_import(
    client: TestClient,
    make_user: UserFactory,
    settings: Settings,
    tmp_path: Path,
    rows: list[tuple[str, str, str, bool, bool]],
) -> None:
    # given: a table of valid rows, unique per example, imported once
    n = next(_examples)
    if n == 0:
        log_in(client, make_user(Role.ADMIN).email)
    tag = f"example{n}"
    table = [
        [
            f"E{n}-{i}",
            first,
            last,
            f"u{n}.{i}@example.ru" if has_email else "",
            f"+7912{n:03d}{i:04d}" if has_phone or not has_email else "",
            city,
            tag,
        ]
        for i, (first, last, city, has_email, has_phone) in enumerate(rows)
    ]
    first = _import(settings, write_csv(tmp_path / f"in{n}.csv", [COLUMNS, *table]))
    # when: exported (only this example's tag) and the export imported again
    response = client.get(
        "/api/v1/contacts/export",
        params={"format": "csv", "columns": ",".join(COLUMNS), "tag": tag},
    )
    exported = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    path = tmp_path / f"out{n}.csv"
    path.write_bytes(response.content)
    second = _import(settings, path)
    # then: nothing was rejected, the export holds what was imported, and nothing changed
    assert (first.inserted, first.rejected) == (len(rows), 0)
    assert exported[0] == COLUMNS
    # A cell typed as a neutralised one ("'-") is read as its original ("-"), by design.
    as_imported = sorted(tuple(restore(c) for c in r) for r in table)
    as_exported = sorted(
        tuple(c.removeprefix("'") if c[:2] in ("'=", "'+", "'@", "'-") else c for c in r)
        for r in exported[1:]
    )
    assert as_exported == as_imported
    assert (
        second.rows_read,
        second.unchanged,
        second.inserted,
        second.updated,
        second.rejected,
    ) == (len(rows), len(rows), 0, 0, 0)
