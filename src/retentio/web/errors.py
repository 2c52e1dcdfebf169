"""Turns exceptions into the API's JSON error shape or into an error page.

API errors look like `{"error": {"code", "message", "details"}}` everywhere, whatever raised
them: a domain error, a validation failure or an unknown route.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from retentio.errors import NotAuthenticated, RetentioError, TryAgain
from retentio.web.templating import render

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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RetentioError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
