"""Pages of the shell itself: the dashboard, the settings hub and areas not built yet."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from retentio import __version__
from retentio.auth.deps import CurrentUser, require
from retentio.auth.permissions import Permission, role_allows
from retentio.db import utcnow
from retentio.errors import NotFound, PermissionDenied
from retentio.web import dashboard as dashboard_data
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.navigation import area_by_key
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


@router.get("/{area_key}", response_class=HTMLResponse)
def unbuilt_area(request: Request, area_key: str, user: CurrentUser) -> Response:
    area = area_by_key(area_key)
    if area is None or area.built:
        raise NotFound(f"There is no page at /{area_key}.")
    if not role_allows(user.role, area.permission):
        raise PermissionDenied("Your role does not allow this area.")
    return render(request, "web/not_built.html", {"area": area})
