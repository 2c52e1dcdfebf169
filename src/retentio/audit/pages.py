"""The audit log page under Settings: who did what to which record, newest first (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from retentio.audit import queries
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.auth.queries import names_by_id
from retentio.web.deps import SessionDep
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[User, Depends(require(Permission.MANAGE_USERS))]


@router.get("/settings/audit", response_class=HTMLResponse)
def audit_log(request: Request, session: SessionDep, _admin: Admin) -> Response:
    listing = Listing.of(request, sorts={"id"}, default_sort="-id")
    entries, total = queries.log_page(
        session, offset=(listing.page - 1) * listing.per_page, limit=listing.per_page
    )
    names = names_by_id(session, queries.people_in(entries))
    context = {
        "entries": entries,
        "names": names,
        "listing": listing,
        "pager": listing.pager(total),
    }
    return render(request, "audit/log.html", context)
