"""`create_app()`: the FastAPI application with its middleware, routers and error handlers."""

from __future__ import annotations

import gc
import importlib.util
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from retentio import __version__
from retentio.activities import api as activities_api
from retentio.analytics import api as analytics_api
from retentio.analytics import pages as analytics_pages
from retentio.audit import pages as audit_pages
from retentio.auth import api as auth_api
from retentio.auth import pages as auth_pages
from retentio.campaigns import api as campaigns_api
from retentio.campaigns import pages as campaigns_pages
from retentio.commerce import api as commerce_api
from retentio.commerce import pages as commerce_pages
from retentio.companies import api as companies_api
from retentio.companies import pages as companies_pages
from retentio.contacts import api as contacts_api
from retentio.contacts import export_api as contacts_export_api
from retentio.contacts import export_pages as contacts_export_pages
from retentio.contacts import pages as contacts_pages
from retentio.db import is_sqlite
from retentio.errors import NotFound
from retentio.events import api as events_api
from retentio.events import pages as events_pages
from retentio.events import segment_api
from retentio.events import tracker as events_tracker
from retentio.feedback import api as feedback_api
from retentio.feedback import pages as feedback_pages
from retentio.feedback import public as feedback_public
from retentio.fields import api as fields_api
from retentio.fields import pages as fields_pages
from retentio.forms import api as forms_api
from retentio.forms import pages as forms_pages
from retentio.forms import public as forms_public
from retentio.imports import api as imports_api
from retentio.imports import pages as imports_pages
from retentio.journeys import api as journeys_api
from retentio.journeys import pages as journeys_pages
from retentio.loyalty import api as loyalty_api
from retentio.loyalty import pages as loyalty_pages
from retentio.messaging import accounts_api as messaging_accounts_api
from retentio.messaging import api as messaging_api
from retentio.messaging import hooks as messaging_hooks
from retentio.messaging import pages as messaging_pages
from retentio.messaging import public as messaging_public
from retentio.migrate import ensure_current
from retentio.profiles import api as profiles_api
from retentio.recommend import api as recommend_api
from retentio.sales import analytics_pages as sales_analytics_pages
from retentio.sales import api as sales_api
from retentio.sales import pages as sales_pages
from retentio.segments import api as segments_api
from retentio.segments import pages as segments_pages
from retentio.settings import Settings, get_settings
from retentio.web import health, ops, security
from retentio.web import pages as shell_pages
from retentio.web.csrf import csrf_protect
from retentio.web.errors import ERROR_RESPONSES, install_error_handlers
from retentio.web.locale_middleware import LocaleMiddleware
from retentio.web.templating import PACKAGE_DIR
from retentio.web.write_gate import install_write_gate
from retentio.worker import bind_settings

SESSION_MAX_AGE = 14 * 24 * 3600


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; refuses (SchemaOutdated) when the database needs `retentio migrate`."""
    settings = settings or get_settings()
    ensure_current(settings.database_url)
    app = FastAPI(
        title="Retentio API",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(csrf_protect)],
        responses=ERROR_RESPONSES,
    )
    app.state.settings = settings
    bind_settings(settings)
    if is_sqlite(settings.database_url):
        install_write_gate(app)
    app.add_middleware(LocaleMiddleware, default=settings.default_locale)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie=settings.session_cookie_name,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.is_https,
    )
    app.add_middleware(security.PublicRateLimit)
    app.add_middleware(security.SecureHeaders)  # outside the limit: its 429s get them too
    # Outermost: the request id, access log and metrics cover every other layer's answer.
    app.add_middleware(ops.RequestContext)
    install_error_handlers(app)
    # Before the /static mount, which would otherwise answer this path with a 404.
    app.add_api_route("/static/vendor/plotly.min.js", _plotly_js, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "web" / "static"), name="static")
    app.include_router(health.router)
    app.include_router(ops.router)
    app.include_router(_api_router())
    # Public endpoints (tracker, Segment-compatible API, embedded forms): one line each.
    app.include_router(segment_api.router)
    app.include_router(events_tracker.router)
    app.include_router(forms_public.router)
    app.include_router(messaging_public.router)
    app.include_router(feedback_public.router)
    app.include_router(messaging_hooks.router)
    # HTML pages: one line per domain.
    app.include_router(events_pages.router)
    app.include_router(messaging_pages.router)
    app.include_router(forms_pages.router)
    # Before contacts_pages: `/contacts/export` is not a contact id.
    app.include_router(contacts_export_pages.router)
    app.include_router(contacts_pages.router)
    app.include_router(companies_pages.router)
    app.include_router(commerce_pages.router)
    app.include_router(fields_pages.router)
    app.include_router(imports_pages.router)
    app.include_router(segments_pages.router)
    app.include_router(campaigns_pages.router)
    app.include_router(journeys_pages.router)
    app.include_router(feedback_pages.router)
    app.include_router(loyalty_pages.router)
    app.include_router(auth_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(analytics_pages.router)
    app.include_router(sales_pages.router)
    app.include_router(sales_analytics_pages.router)
    app.include_router(shell_pages.router)
    # What exists now (modules, routes, SQLAlchemy metadata) lives as long as the process: taken
    # out of the cyclic collector's reach, a full collection no longer walks those ~200k objects
    # (~0.1 s each time; ingesting busy batches triggered one every few requests).
    gc.freeze()
    return app


def _plotly_js() -> FileResponse:
    """Plotly.js from the installed `plotly` package: no CDN; versioned URLs, so cached long."""
    spec = importlib.util.find_spec("plotly")
    folders = spec.submodule_search_locations if spec else None
    if not folders:
        raise NotFound("The plotly package is not installed.")
    return FileResponse(
        Path(next(iter(folders))) / "package_data" / "plotly.min.js",
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


def _api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    # One line per domain's JSON router.
    api.include_router(auth_api.router)
    # Before contacts_api: `/contacts/export` is not a contact id.
    api.include_router(contacts_export_api.router)
    api.include_router(contacts_api.router)
    api.include_router(companies_api.router)
    api.include_router(commerce_api.router)
    api.include_router(fields_api.router)
    api.include_router(events_api.router)
    api.include_router(forms_api.router)
    api.include_router(imports_api.router)
    api.include_router(segments_api.router)
    api.include_router(campaigns_api.router)
    api.include_router(journeys_api.router)
    api.include_router(feedback_api.router)
    api.include_router(loyalty_api.router)
    api.include_router(messaging_api.router)
    api.include_router(messaging_accounts_api.router)
    api.include_router(analytics_api.router)
    api.include_router(profiles_api.router)
    api.include_router(recommend_api.router)
    api.include_router(sales_api.router)
    api.include_router(activities_api.router)
    return api
