"""Reading import jobs, their rejected rows, saved mappings and scheduled imports."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.errors import NotFound
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob, ImportRejection, SavedMapping, ScheduledImport

STREAM_CHUNK = 2_000


def job(session: Session, job_id: int) -> ImportJob:
    found = session.get(ImportJob, job_id)
    if found is None:
        raise NotFound(f"Import job {job_id} does not exist.")
    return found


def jobs_page(session: Session, *, offset: int, limit: int) -> tuple[Sequence[ImportJob], int]:
    """The history, newest first."""
    total = session.scalar(select(func.count()).select_from(ImportJob)) or 0
    rows = session.scalars(
        select(ImportJob).order_by(ImportJob.id.desc()).offset(offset).limit(limit)
    ).all()
    return rows, total


def rejections_page(
    session: Session, job_id: int, *, offset: int, limit: int
) -> tuple[Sequence[ImportRejection], int]:
    total = (
        session.scalar(
            select(func.count())
            .select_from(ImportRejection)
            .where(ImportRejection.job_id == job_id)
        )
        or 0
    )
    rows = session.scalars(
        select(ImportRejection)
        .where(ImportRejection.job_id == job_id)
        .order_by(ImportRejection.row_number, ImportRejection.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total


def iter_rejections(session: Session, job_id: int) -> Iterator[ImportRejection]:
    """Every rejected row in file order, a chunk at a time (a bad file may reject millions)."""
    last = (-1, -1)
    while True:
        chunk = session.scalars(
            select(ImportRejection)
            .where(
                ImportRejection.job_id == job_id,
                # Keyset paging on (row_number, id): no OFFSET that slows down as it grows.
                (ImportRejection.row_number > last[0])
                | ((ImportRejection.row_number == last[0]) & (ImportRejection.id > last[1])),
            )
            .order_by(ImportRejection.row_number, ImportRejection.id)
            .limit(STREAM_CHUNK)
        ).all()
        if not chunk:
            return
        yield from chunk
        last = (chunk[-1].row_number, chunk[-1].id)
        session.expunge_all()


def mappings(session: Session, entity: ImportEntity | None = None) -> Sequence[SavedMapping]:
    query = select(SavedMapping).order_by(SavedMapping.name)
    if entity is not None:
        query = query.where(SavedMapping.entity == entity)
    return session.scalars(query).all()


def saved_mapping(session: Session, mapping_id: int) -> SavedMapping:
    found = session.get(SavedMapping, mapping_id)
    if found is None:
        raise NotFound(f"Saved mapping {mapping_id} does not exist.")
    return found


def schedules(session: Session) -> Sequence[ScheduledImport]:
    return session.scalars(select(ScheduledImport).order_by(ScheduledImport.name)).all()


def mapping_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(SavedMapping.id, SavedMapping.name)).all())
