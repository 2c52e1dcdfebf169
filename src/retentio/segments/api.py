"""JSON API of segments under `/api/v1/segments`: CRUD, preview of a rule, members (paged),
export, static lists, refresh, size history and the field catalog for a rule builder.

Marketers and admins write (the marketing permission); every role may read, and sales users
see only their visible contacts in counts, samples, members and exports. Refreshes are enqueued
after the request commits, so the worker always finds the segment row.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response, status
from fastapi.responses import FileResponse, StreamingResponse
from starlette.background import BackgroundTask

from retentio.audit import service as audit
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.contacts import export as contact_export
from retentio.db import utcnow
from retentio.kit.downloads import attachment
from retentio.kit.paging import Pager
from retentio.segments import export, queries, service, tasks
from retentio.segments.catalog import OPERATORS, load_catalog
from retentio.segments.models import Segment
from retentio.segments.prebuilt import ensure_prebuilt
from retentio.segments.schemas import (
    ChangedRead,
    ContactIdsIn,
    FieldRead,
    ListIn,
    ListResultRead,
    MemberRead,
    MembersPage,
    PreviewIn,
    PreviewRead,
    RefreshRead,
    SampleRead,
    SegmentIn,
    SegmentPatch,
    SegmentRead,
    SizePoint,
)
from retentio.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/segments", tags=["segments"])
Writer = Annotated[User, Depends(require(Permission.MARKETING))]
Reader = Annotated[User, Depends(require(Permission.VIEW))]


def _enqueue_refresh(background: BackgroundTasks, segment_ids: list[int]) -> None:
    for segment_id in segment_ids:
        background.add_task(tasks.refresh_segment, segment_id)


@router.get("", response_model=list[SegmentRead])
def list_segments(
    session: SessionDep, _user: Reader, background: BackgroundTasks
) -> list[SegmentRead]:
    """Every segment; on the very first call the prebuilt ones are created (and refreshed)."""
    if not queries.has_prebuilt(session):
        _enqueue_refresh(background, ensure_prebuilt(session))
    return [SegmentRead.model_validate(s) for s in queries.segments(session)]


@router.get("/fields", response_model=list[FieldRead])
def fields(session: SessionDep, _user: Reader) -> list[FieldRead]:
    """What a rule's `field` may name, with its type, choices and operators."""
    return [
        FieldRead(
            name=spec.name,
            type=spec.type,
            label=spec.label,
            choices=list(spec.choices),
            operators=sorted(OPERATORS[spec.type]),
        )
        for spec in load_catalog(session).fields.values()
    ]


@router.post("/preview", response_model=PreviewRead)
def preview(body: PreviewIn, session: SessionDep, user: Reader) -> PreviewRead:
    """Count, reachable counts per channel and a sample of what a rule selects now."""
    node = queries.checked_rule(session, body.rule)
    seen = queries.preview(session, node, user=user, now=utcnow(), sample=body.sample)
    return PreviewRead(
        count=seen.count,
        reachable=seen.reachable,
        sample=[SampleRead(**vars(s)) for s in seen.sample],
    )


@router.post("", response_model=SegmentRead, status_code=status.HTTP_201_CREATED)
def create_segment(
    body: SegmentIn, session: SessionDep, user: Writer, background: BackgroundTasks
) -> SegmentRead:
    segment = service.create_segment(
        session,
        name=body.name,
        description=body.description,
        kind=body.kind,
        rule=body.rule,
        actor_id=user.id,
    )
    _enqueue_refresh(background, [segment.id])
    return SegmentRead.model_validate(segment)


@router.get("/{segment_id}", response_model=SegmentRead)
def get_segment(segment_id: int, session: SessionDep, _user: Reader) -> SegmentRead:
    return SegmentRead.model_validate(queries.get(session, segment_id))


@router.patch("/{segment_id}", response_model=SegmentRead)
def update_segment(
    segment_id: int,
    body: SegmentPatch,
    session: SessionDep,
    _user: Writer,
    background: BackgroundTasks,
) -> SegmentRead:
    segment = service.update_segment(
        session, segment_id, name=body.name, description=body.description, rule=body.rule
    )
    if body.rule is not None:
        _enqueue_refresh(background, [segment.id])
    return SegmentRead.model_validate(segment)


@router.delete("/{segment_id}", status_code=status.HTTP_204_NO_CONTENT)
def archive_segment(segment_id: int, session: SessionDep, _user: Writer) -> Response:
    service.archive_segment(session, segment_id, now=utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{segment_id}/refresh", response_model=RefreshRead)
def refresh_segment(segment_id: int, session: SessionDep, _user: Writer) -> RefreshRead:
    """Refresh now, in the request: for a button and for scripts that need the result."""
    result = service.refresh_segment(session, segment_id, now=utcnow())
    return RefreshRead(entered=result.entered, left=result.left, size=result.size)


@router.get("/{segment_id}/members", response_model=MembersPage)
def members(
    segment_id: int,
    session: SessionDep,
    user: Reader,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> MembersPage:
    queries.get(session, segment_id)
    rows, total = queries.members_page(session, segment_id, user=user, page=page, per_page=per_page)
    pager = Pager(page=page, per_page=per_page, total=total)
    items = [
        MemberRead(
            id=c.id,
            name=c.display_name,
            email=c.email,
            phone=c.phone,
            city=c.city,
            entered_at=entered,
        )
        for c, entered in rows
    ]
    return MembersPage(items=items, total=total, page=page, pages=pager.pages, per_page=per_page)


@router.get("/{segment_id}/history", response_model=list[SizePoint])
def history(
    segment_id: int,
    session: SessionDep,
    _user: Reader,
    days: Annotated[int, Query(ge=1, le=3650)] = 90,
) -> list[SizePoint]:
    queries.get(session, segment_id)
    points = queries.size_history(session, segment_id, today=utcnow().date(), days=days)
    return [SizePoint(day=day, size=size) for day, size in points]


@router.get("/{segment_id}/export", response_class=Response)
def export_members(
    segment_id: int,
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    format: Annotated[Literal["csv", "xlsx"], Query(description="File type")] = "csv",
    delimiter: Annotated[Literal[";", ","], Query(description="CSV only")] = ";",
    columns: Annotated[
        list[str] | None, Query(description="Column keys as in the contact export")
    ] = None,
) -> Response:
    """Members this user may see, with the contact export's columns; cells made safe."""
    segment = queries.get(session, segment_id)
    keys = [k.strip() for raw in columns or [] for k in raw.split(",")]
    chosen = contact_export.choose_columns(session, keys)
    audit.record(
        session,
        entity="segment",
        entity_id=segment_id,
        action="export",
        actor_id=user.id,
        changes={"format": format},
    )
    headers = {"Content-Disposition": attachment(_file_name(segment, format))}
    url = settings.database_url
    if format == "csv":
        body = export.csv_stream(url, user, segment_id, chosen, delimiter=delimiter)
        return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        export.write_xlsx(url, user, segment_id, chosen, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=contact_export.XLSX_MEDIA_TYPE,
        headers=headers,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _file_name(segment: Segment, format: str) -> str:
    return f"segment-{segment.id}-{utcnow().date().isoformat()}.{format}"


@router.post("/{segment_id}/contacts", response_model=ChangedRead)
def add_contacts(
    segment_id: int, body: ContactIdsIn, session: SessionDep, _user: Writer
) -> ChangedRead:
    """Static segments: add contacts by id (the contact list's bulk action)."""
    added = service.add_contacts(session, segment_id, body.contact_ids, now=utcnow())
    return ChangedRead(changed=added)


@router.post("/{segment_id}/contacts/remove", response_model=ChangedRead)
def remove_contacts(
    segment_id: int, body: ContactIdsIn, session: SessionDep, _user: Writer
) -> ChangedRead:
    removed = service.remove_contacts(session, segment_id, body.contact_ids, now=utcnow())
    return ChangedRead(changed=removed)


@router.post("/{segment_id}/list", response_model=ListResultRead)
def add_list(
    segment_id: int, body: ListIn, session: SessionDep, settings: SettingsDep, _user: Writer
) -> ListResultRead:
    """Static segments: add the contacts named by e-mails, phones or external ids; values that
    match nobody come back in `unmatched`."""
    result = service.add_from_list(
        session, segment_id, body.values, region=settings.default_region, now=utcnow()
    )
    return ListResultRead(matched=result.matched, added=result.added, unmatched=result.unmatched)
