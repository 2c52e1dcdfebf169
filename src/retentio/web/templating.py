"""Jinja2 for pages: one environment, every domain's `templates/` folder, gettext installed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from retentio import __version__
from retentio.auth.permissions import ROLE_LABELS
from retentio.web import i18n
from retentio.web.csrf import csrf_token
from retentio.web.flash import pop_flashes
from retentio.web.navigation import navigation_for

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _environment() -> Environment:
    folders = sorted(str(p) for p in PACKAGE_DIR.glob("*/templates") if p.is_dir())
    env = Environment(
        loader=FileSystemLoader(folders),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["datetime"] = _format_datetime
    env.filters["number"] = lambda value: format_decimal(value, locale=i18n.current_locale.get())
    env.filters["money"] = _format_money
    env.filters["date"] = _format_date
    env.globals["version"] = __version__
    env.globals["role_labels"] = ROLE_LABELS
    return env


def _format_datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    return format_datetime(value, format="medium", locale=i18n.current_locale.get())


def _format_money(value: Decimal | None, currency: str = "RUB") -> str:
    if value is None:
        return "—"
    return format_currency(value, currency, locale=i18n.current_locale.get())


def _format_date(value: date | None) -> str:
    if value is None:
        return "—"
    return format_date(value, format="medium", locale=i18n.current_locale.get())


templates = Jinja2Templates(env=_environment())


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page with what the layout needs: user, navigation, CSRF token, flash messages."""
    user = getattr(request.state, "user", None)
    base = {
        "user": user,
        "nav": navigation_for(user.role if user else None),
        "csrf_token": csrf_token(request),
        "flashes": pop_flashes(request),
        "locale": i18n.current_locale.get(),
        "locales": i18n.LOCALE_NAMES,
        "current_path": request.url.path,
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status_code
    )
