"""Running an import job: stream the file in batches, one transaction per batch.

Each batch's rows, its rejected rows and the job's new position and counts are committed
together; a job killed at any moment resumes from its last commit and ends in the same state
as a run that was never interrupted. A dry run applies everything inside one transaction and
rolls it back, so it reports exactly what a real run would do.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from retentio.db import session_scope, utcnow
from retentio.fields.models import FieldEntity
from retentio.fields.queries import definitions
from retentio.imports import writers
from retentio.imports.contacts_writer import ContactWriter, Outcome
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob, ImportRejection, JobStatus
from retentio.imports.reader import Cell, FileFormat, count_rows, read_rows
from retentio.imports.rows import ContactParser, ContactRow, RowError, text
from retentio.kit.collector import collector_paused

Progress = Callable[[int, int | None], None]
Cells = dict[str, tuple[str, Cell]]
GENERIC_WRITERS: dict[
    ImportEntity, Callable[[writers.WriteContext, list[tuple[int, Any]]], Outcome]
] = {
    ImportEntity.COMPANIES: writers.write_companies,
    ImportEntity.PRODUCTS: writers.write_products,
    ImportEntity.ORDERS: writers.write_orders,
    ImportEntity.EVENTS: writers.write_events,
    ImportEntity.CONSENTS: writers.write_consents,
}


@dataclass(frozen=True)
class JobPlan:
    """What the runner needs from the job row, read once."""

    entity: ImportEntity
    path: Path
    fmt: FileFormat
    mapping: dict[str, str]
    match_by: list[str]
    overwrite_empty: bool
    dry_run: bool
    position: int
    header: list[str]


def run_job(
    url: str, job_id: int, *, region: str, batch_size: int = 5_000, progress: Progress | None = None
) -> None:
    plan = _start(url, job_id)
    if plan is None:
        return
    try:
        if plan.dry_run:
            _dry_run(url, job_id, plan, region=region, batch_size=batch_size, progress=progress)
        else:
            _run(url, job_id, plan, region=region, batch_size=batch_size, progress=progress)
    except Exception as error:
        with session_scope(url) as session:
            job = session.get(ImportJob, job_id)
            if job is not None:
                job.status, job.error, job.finished_at = (
                    JobStatus.FAILED,
                    str(error)[:2000],
                    utcnow(),
                )
        raise
    with session_scope(url) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        job.status, job.finished_at = JobStatus.DONE, utcnow()


def _start(url: str, job_id: int) -> JobPlan | None:
    with session_scope(url) as session:
        job = session.get(ImportJob, job_id, with_for_update=True)
        if job is None or job.status == JobStatus.DONE:
            return None
        plan = JobPlan(
            entity=job.entity,
            path=Path(job.stored_path),
            fmt=job.file_format(),
            mapping=dict(job.mapping),
            match_by=list(job.options.get("match_by", [])),
            overwrite_empty=bool(job.options.get("overwrite_empty")),
            dry_run=bool(job.options.get("dry_run")),
            position=job.position,
            header=read_rows(Path(job.stored_path), job.file_format())[0],
        )
        if job.total_rows is None:
            job.total_rows = count_rows(plan.path, plan.fmt)
        job.status, job.error = JobStatus.RUNNING, None
        job.started_at = job.started_at or utcnow()
        return plan


def _mapped(plan: JobPlan, header: list[str]) -> list[tuple[int, str, str]]:
    """(position, column name, target) of each mapped column, in file order."""
    columns = [(i, name, plan.mapping.get(name, "")) for i, name in enumerate(header)]
    return [(i, name, target) for i, name, target in columns if target]


def _batches(plan: JobPlan, batch_size: int) -> Iterator[list[tuple[int, Cells, list[Cell]]]]:
    _header, rows = read_rows(plan.path, plan.fmt)
    mapped = _mapped(plan, plan.header)
    items: Iterator[tuple[int, Cells, list[Cell]]] = (
        (n, {t: (name, row[i] if i < len(row) else None) for i, name, t in mapped}, row)
        for n, row in rows
    )
    if plan.entity == ImportEntity.CONTACTS:
        # Contacts are parsed from the raw row by position (`ContactParser`): no cells needed.
        items = ((n, {}, row) for n, row in rows)
    if plan.entity == ImportEntity.ORDERS and "external_id" not in plan.mapping.values():
        items = _with_row_order_ids(items)
    # Rows before the position are still read (and numbered above): a resumed job must give
    # every row the same derived order number as an uninterrupted run.
    numbered = itertools.islice(items, plan.position, None)
    batch: list[tuple[int, Cells, list[Cell]]] = []
    for item in numbered:
        # Orders: the rows of one order always land in the same batch.
        if len(batch) >= batch_size and not _same_order(plan, batch[-1][1], item[1]):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def _collector_paused(batches: Iterator[list[Any]]) -> Iterator[list[Any]]:
    """Each batch read and written with the cyclic collector paused (`kit.collector`): it
    resumes for a moment between batches, and collects their cycles then."""
    while True:
        with collector_paused():
            batch = next(batches, None)
            if batch is None:
                return
            yield batch


def _with_row_order_ids(
    items: Iterator[tuple[int, Cells, list[Cell]]],
) -> Iterator[tuple[int, Cells, list[Cell]]]:
    """Orders from a file without an order number: each row is one order, named after its
    content (`writers.row_order_id`), so importing the same file again finds every order."""
    seen: dict[bytes, int] = {}
    for number, cells, row in items:
        # No column holds the number: an empty column name marks it as derived.
        cells["external_id"] = ("", writers.row_order_id(cells, seen))
        yield number, cells, row


def _same_order(plan: JobPlan, previous: Cells, current: Cells) -> bool:
    return plan.entity == ImportEntity.ORDERS and (
        writers.order_key(previous) == writers.order_key(current)
    )


def _run(
    url: str, job_id: int, plan: JobPlan, *, region: str, batch_size: int, progress: Progress | None
) -> None:
    for batch in _collector_paused(_batches(plan, batch_size)):
        with session_scope(url) as session:
            outcome = _write(session, plan, batch, region=region)
            job = _advance(session, job_id, len(batch), outcome)
            _reject(session, job_id, batch, outcome)
            done, total = job.position, job.total_rows
        if progress:
            progress(done, total)


def _dry_run(
    url: str, job_id: int, plan: JobPlan, *, region: str, batch_size: int, progress: Progress | None
) -> None:
    totals, rejected, read = Outcome(), [], 0
    with session_scope(url) as session:
        for batch in _collector_paused(_batches(plan, batch_size)):
            outcome = _write(session, plan, batch, region=region)
            session.flush()
            read += len(batch)
            for name in ("inserted", "updated", "unchanged"):
                setattr(totals, name, getattr(totals, name) + getattr(outcome, name))
            if outcome.rejected:
                rejected.append((batch, outcome))
            if progress:
                progress(read, None)
        session.rollback()
    with session_scope(url) as session:
        totals.rejected = [r for _, o in rejected for r in o.rejected]
        _advance(session, job_id, read, totals)
        for batch, outcome in rejected:
            _reject(session, job_id, batch, outcome)


def _write(
    session: Session, plan: JobPlan, batch: list[tuple[int, Cells, list[Cell]]], *, region: str
) -> Outcome:
    if plan.entity == ImportEntity.CONTACTS:
        return _write_contacts(session, plan, batch, region=region)
    ctx = writers.WriteContext(session=session, region=region, now=utcnow())
    return GENERIC_WRITERS[plan.entity](ctx, [(n, cells) for n, cells, _ in batch])


def _write_contacts(
    session: Session, plan: JobPlan, batch: list[tuple[int, Cells, list[Cell]]], *, region: str
) -> Outcome:
    parser = ContactParser(
        [(i, target, name) for i, name, target in _mapped(plan, plan.header)],
        region=region,
        custom_fields={d.key: d for d in definitions(session, FieldEntity.CONTACT)},
    )
    parsed: list[tuple[int, ContactRow]] = []
    early: list[tuple[int, RowError]] = []
    parse = parser.parse
    for number, _cells, raw in batch:
        try:
            parsed.append((number, parse(raw)))
        except RowError as error:
            early.append((number, error))
    writer = ContactWriter(
        session=session, match_by=plan.match_by, overwrite_empty=plan.overwrite_empty
    )
    outcome = writer.write(parsed)
    outcome.rejected = sorted(early + outcome.rejected, key=lambda r: r[0])
    return outcome


def _advance(session: Session, job_id: int, rows: int, outcome: Outcome) -> ImportJob:
    job = session.get(ImportJob, job_id, with_for_update=True)
    assert job is not None
    job.position += rows
    job.rows_read += rows
    job.inserted += outcome.inserted
    job.updated += outcome.updated
    job.unchanged += outcome.unchanged
    job.rejected += len(outcome.rejected)
    return job


def _reject(
    session: Session, job_id: int, batch: list[tuple[int, Cells, list[Cell]]], outcome: Outcome
) -> None:
    if not outcome.rejected:
        return
    raw_by_number = {n: raw for n, _, raw in batch}
    session.execute(
        insert(ImportRejection),
        [
            {
                "job_id": job_id,
                "row_number": number,
                "column": error.column,
                "value": None if error.value is None else text(error.value)[:1000],
                "reason": error.reason[:1000],
                "raw": [text(c) for c in raw_by_number.get(number, [])],
            }
            for number, error in outcome.rejected
        ],
    )
