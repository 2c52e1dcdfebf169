"""JSON-API route exporting a contact list as a CSV or XLSX file.

Kept apart from `contacts.api` and mounted before it: `/contacts/export` must be matched
before `/contacts/{contact_id}` would take "export" for an id.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from retentio.audit import service as audit
from retentio.auth.deps import CurrentUser
from retentio.contacts import export
from retentio.db import utcnow
from retentio.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/contacts", tags=["contacts"])


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "The file: CSV (UTF-8 with BOM) or XLSX",
            "content": {
                "text/csv": {"example": "retentio_id;first_name;…\r\n"},
                export.XLSX_MEDIA_TYPE: {},
            },
        }
    },
)
def export_contacts(
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    format: Annotated[Literal["csv", "xlsx"], Query(description="File type")] = "csv",
    delimiter: Annotated[Literal[";", ","], Query(description="CSV only")] = ";",
    columns: Annotated[
        list[str] | None,
        Query(
            description="Column keys, repeated or comma-separated (`custom.<key>` for custom "
            "fields); default: retentio_id, first_name, last_name, email, phone, city, tags, "
            "created_at",
        ),
    ] = None,
    q: Annotated[str | None, Query(description="Name, e-mail or phone contains")] = None,
    tag: str | None = None,
    owner: Annotated[str | None, Query(description="Owner's user id (also `owner_id`)")] = None,
    owner_id: str | None = None,
    city: str | None = None,
    source: str | None = None,
    field: Annotated[str | None, Query(description="A custom field's key …")] = None,
    value: Annotated[str | None, Query(description="… and the value it must equal")] = None,
    anonymous: Annotated[
        str | None, Query(description="`1` includes anonymous visitors (`include_anonymous`)")
    ] = None,
    include_anonymous: str | None = None,
) -> Response:
    """The contacts of a list filter — the same query parameters as the contact list — that
    the caller may see (sales users: only their visible contacts), with the chosen columns.
    Headers are the importer's field names, so the file imports back unchanged."""
    params = {
        "q": q,
        "tag": tag,
        "owner": owner,
        "owner_id": owner_id,
        "city": city,
        "source": source,
        "field": field,
        "value": value,
        "anonymous": anonymous,
        "include_anonymous": include_anonymous,
    }
    filters = {k: v for k, v in params.items() if v}
    flt = export.filter_from_params(session, filters)
    keys = [k.strip() for raw in columns or [] for k in raw.split(",")]
    chosen = export.choose_columns(session, keys)
    # A list has no id of its own: 0, with the filter that chose the contacts.
    audit.record(
        session,
        entity="contacts",
        entity_id=0,
        action="export",
        actor_id=user.id,
        changes={"filters": filters, "format": format},
    )
    name = f"contacts-{utcnow().date().isoformat()}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        body = export.csv_stream(settings.database_url, user, flt, chosen, delimiter=delimiter)
        return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=disposition)
    # A zip file cannot be streamed while it is written: build it in a temporary file first.
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    path = Path(handle.name)
    try:
        export.write_xlsx(settings.database_url, user, flt, chosen, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=export.XLSX_MEDIA_TYPE,
        headers=disposition,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
