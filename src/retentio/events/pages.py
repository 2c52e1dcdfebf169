"""HTML pages of the events domain: tracking sources in the settings (list, create, card)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.errors import RetentioError
from retentio.events import sources
from retentio.events.models import Source
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.flash import flash
from retentio.web.i18n import gettext as _
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]


def _lines(text: str) -> list[str]:
    """One origin per line, as typed in the textarea."""
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.get("/settings/sources", response_class=HTMLResponse)
def source_list(request: Request, session: SessionDep, _admin: Admin) -> Response:
    context = {"sources": sources.list_sources(session), "form": {}}
    return render(request, "events/sources.html", context)


@router.post("/settings/sources", response_class=HTMLResponse)
def source_create(
    request: Request,
    session: SessionDep,
    _admin: Admin,
    name: Annotated[str, Form()],
    allowed_origins: Annotated[str, Form()] = "",
) -> Response:
    try:
        source = sources.create_source(
            session, name=name, allowed_origins=_lines(allowed_origins), actor_id=_admin.id
        )
    except RetentioError as error:
        session.rollback()
        form = {"name": name, "allowed_origins": allowed_origins}
        context = {"sources": sources.list_sources(session), "form": form, "error": error.message}
        return render(request, "events/sources.html", context, status_code=error.status)
    flash(request, _("Source {name} created.").format(name=source.name))
    return RedirectResponse(f"/settings/sources/{source.id}", status_code=303)


@router.get("/settings/sources/{source_id}", response_class=HTMLResponse)
def source_card(
    request: Request, session: SessionDep, settings: SettingsDep, _admin: Admin, source_id: int
) -> Response:
    source = sources.get_source(session, source_id)
    return _card(request, source, base_url=settings.base_url)


@router.post("/settings/sources/{source_id}", response_class=HTMLResponse)
def source_update(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _admin: Admin,
    source_id: int,
    name: Annotated[str, Form()],
    allowed_origins: Annotated[str, Form()] = "",
) -> Response:
    try:
        sources.update_source(
            session,
            source_id,
            name=name,
            allowed_origins=_lines(allowed_origins),
            actor_id=_admin.id,
        )
    except RetentioError as error:
        session.rollback()
        source = sources.get_source(session, source_id)
        form = {"name": name, "allowed_origins": allowed_origins}
        return _card(
            request,
            source,
            base_url=settings.base_url,
            form=form,
            error=error.message,
            status_code=error.status,
        )
    flash(request, _("Source saved."))
    return RedirectResponse(f"/settings/sources/{source_id}", status_code=303)


@router.post("/settings/sources/{source_id}/rotate")
def source_rotate(request: Request, session: SessionDep, _admin: Admin, source_id: int) -> Response:
    sources.rotate_write_key(session, source_id, actor_id=_admin.id)
    flash(request, _("A new write key was issued; the old one no longer works."))
    return RedirectResponse(f"/settings/sources/{source_id}", status_code=303)


def _card(
    request: Request,
    source: Source,
    *,
    base_url: str,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    form = form or {"name": source.name, "allowed_origins": "\n".join(source.allowed_origins)}
    context = {
        "source": source,
        "base_url": base_url.rstrip("/"),
        "form": form,
        "error": error,
    }
    return render(request, "events/source.html", context, status_code=status_code)
