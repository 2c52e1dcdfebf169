"""Turns exceptions into the API's JSON error shape or into an error page.

API errors look like `{"error": {"code", "message", "details"}}` everywhere, whatever raised
them: a domain error, a validation failure or an unknown route. A database that cannot be
reached is a 503 with Retry-After (the request was not stored; sent again later, it will be),
never a 500.
"""

from __future__ import annotations

import logging
from html import escape
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from retentio.errors import DatabaseUnavailable, NotAuthenticated, RetentioError, TryAgain
from retentio.web.i18n import current_locale
from retentio.web.i18n import gettext as _
from retentio.web.templating import render

logger = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_input",
    429: "too_many_requests",
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The JSON error shape, declared in the OpenAPI schema so clients can rely on it."""

    error: ErrorDetail


# What any JSON route may answer besides its success: the handlers below give every one of
# these the error shape (422 replaces FastAPI's own `{"detail": …}` validation schema).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 422, 429, 503)
}


def wants_json(request: Request) -> bool:
    # /v1/ is the Segment-compatible API: SDKs read JSON errors, whatever they Accept.
    return request.url.path.startswith(("/api/", "/healthz", "/v1/")) or (
        "application/json" in request.headers.get("accept", "")
        and "text/html" not in request.headers.get("accept", "")
    )


def error_response(
    request: Request, *, status: int, code: str, message: str, details: Any = None
) -> Response:
    if wants_json(request):
        body = {"error": {"code": code, "message": message, "details": details}}
        return JSONResponse(body, status_code=status)
    context = {"status": status, "code": code, "message": message, "details": details}
    return render(request, "errors/error.html", context, status_code=status)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RetentioError)
    if isinstance(exc, NotAuthenticated) and not wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    details = exc.details
    if exc.status == 422 and isinstance(details, dict) and "field" in details:
        # The same shape as request validation errors: a list of {field, message}.
        details = [{**details, "message": exc.message}]
    response = error_response(
        request, status=exc.status, code=exc.code, message=exc.message, details=details
    )
    return with_retry_after(response, exc)


def with_retry_after(response: Response, error: RetentioError) -> Response:
    """Tell clients when a lost race may be sent again (they retry 503s that say so)."""
    if isinstance(error, TryAgain):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": ".".join(str(p) for p in err["loc"] if p != "body"), "message": err["msg"]}
        for err in exc.errors()
    ]
    fields = ", ".join(d["field"] for d in details)
    return error_response(
        request,
        status=422,
        code="invalid_input",
        message=f"Invalid input: {fields}",
        details=details,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "error")
    response = error_response(request, status=exc.status_code, code=code, message=str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _out_of_range(request: Request, _exc: Exception) -> Response:
    """Ids, offsets and amounts are parsed as unbounded numbers; one beyond what the column
    holds (SQLite: OverflowError; PostgreSQL: a DataError such as integer out of range) is
    the caller's input, not a server fault: it can match no row and be stored nowhere."""
    return error_response(
        request, status=422, code="invalid_input", message="Invalid input: a value is out of range."
    )


async def _database_unreachable(request: Request, exc: Exception) -> Response:
    """A lost or refused database connection: 503 with Retry-After, which HTTP clients and
    tracking SDKs retry. Pages get a plain page, as the layout may itself need the database."""
    if not isinstance(exc, OperationalError | InterfaceError | DisconnectionError) and not (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        raise exc  # any other driver error is a fault of ours: the usual 500
    # One line, not a stack trace per request: during an outage every request lands here.
    logger.warning("database unavailable: %s", str(exc).strip().splitlines()[0][:300])
    error = DatabaseUnavailable("The database is unavailable; send the request again shortly.")
    if wants_json(request):
        response = error_response(
            request, status=error.status, code=error.code, message=error.message
        )
    else:
        response = HTMLResponse(_unavailable_page(), status_code=error.status)
    return with_retry_after(response, error)


def _unavailable_page() -> str:
    title = escape(_("Retentio is unavailable for a moment"))
    message = escape(_("The database cannot be reached right now. Try again in a minute."))
    return (
        f'<!doctype html><html lang="{escape(current_locale.get())}"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><h1>{title}</h1><p>{message}</p></body></html>"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RetentioError, _domain_error)
    for unreachable in (OperationalError, InterfaceError, DisconnectionError, DBAPIError):
        app.add_exception_handler(unreachable, _database_unreachable)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
