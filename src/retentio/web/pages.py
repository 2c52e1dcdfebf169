"""Pages of the shell itself: the dashboard and the settings hub."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from retentio import __version__
from retentio.auth.deps import CurrentUser, require
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.web import dashboard as dashboard_data
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, _user: CurrentUser) -> Response:
    data = dashboard_data.build(session, utcnow())
    context = {"dashboard": data, "plotly_version": dashboard_data.PLOTLY_VERSION}
    return render(request, "web/dashboard.html", context)


@router.get("/settings", response_class=HTMLResponse)
def settings_hub(request: Request, settings: SettingsDep, user: CurrentUser) -> Response:
    require(Permission.MANAGE_SETTINGS)(user)
    engine = settings.database_url.split(":", 1)[0]
    return render(request, "web/settings.html", {"engine": engine, "version": __version__})
