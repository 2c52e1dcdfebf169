"""`create_app()`: the FastAPI application with its middleware, routers and error handlers."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from retentio import __version__
from retentio.auth import api as auth_api
from retentio.auth import pages as auth_pages
from retentio.commerce import api as commerce_api
from retentio.companies import api as companies_api
from retentio.contacts import api as contacts_api
from retentio.fields import api as fields_api
from retentio.migrate import ensure_current
from retentio.settings import Settings, get_settings
from retentio.web import health
from retentio.web import pages as shell_pages
from retentio.web.csrf import csrf_protect
from retentio.web.errors import install_error_handlers
from retentio.web.locale_middleware import LocaleMiddleware
from retentio.web.templating import PACKAGE_DIR

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
    )
    app.state.settings = settings
    app.add_middleware(LocaleMiddleware, default=settings.default_locale)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie=settings.session_cookie_name,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.is_https,
    )
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "web" / "static"), name="static")
    app.include_router(health.router)
    app.include_router(_api_router())
    # Public endpoints (tracker, Segment-compatible API, embedded forms): one line each.
    # HTML pages: one line per domain.
    app.include_router(auth_pages.router)
    # Last: its catch-all `/{area}` must not shadow the routes above.
    app.include_router(shell_pages.router)
    return app


def _api_router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    # One line per domain's JSON router.
    api.include_router(auth_api.router)
    api.include_router(contacts_api.router)
    api.include_router(companies_api.router)
    api.include_router(commerce_api.router)
    api.include_router(fields_api.router)
    return api
