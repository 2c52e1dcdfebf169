"""The "Export contacts" page: how many contacts the list's filter holds, the file type and the
columns to put in it. The download itself is `GET /api/v1/contacts/export` (same filter).

Mounted before `contacts.pages`, whose `/contacts/{contact_id}` would otherwise take "export"
for a contact id.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from retentio.auth.deps import CurrentUser
from retentio.contacts import export
from retentio.web.deps import SessionDep
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
# The list's own parameters that are not filters.
NOT_FILTERS = frozenset({"sort", "page"})


@router.get("/contacts/export", response_class=HTMLResponse)
def export_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    params = {k: v for k, v in request.query_params.items() if v and k not in NOT_FILTERS}
    flt = export.filter_from_params(session, params)
    context = {
        "filters": params,
        "total": export.count(session, user, flt),
        "columns": export.available_columns(session),
        "defaults": export.DEFAULT_KEYS,
        "back": "/contacts" + (f"?{request.url.query}" if request.url.query else ""),
    }
    return render(request, "contacts/export.html", context)
