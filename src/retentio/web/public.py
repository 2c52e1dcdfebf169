"""Helpers for the endpoints that shops' own pages call from the browser: the tracker's collect
endpoint and embedded forms.

These requests come from another origin, so every answer carries CORS headers for an allowed
origin and none for any other; errors use the API's JSON shape even though the paths are not
under `/api/`. Authentication (write keys, form ids) stays with each router.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from retentio.errors import InvalidInput, PermissionDenied, RetentioError
from retentio.web.errors import with_retry_after

# Generous for a tracker batch or a form, small enough that a flood of huge bodies costs little.
MAX_BODY = 256 * 1024
PREFLIGHT_MAX_AGE = "600"


class OriginNotAllowed(PermissionDenied):
    code = "origin_not_allowed"


class PayloadTooLarge(RetentioError):
    status = 413
    code = "payload_too_large"


class MalformedBody(RetentioError):
    status = 400
    code = "malformed_body"


async def raw_body(request: Request) -> bytes:
    """The body, read no further than one byte past MAX_BODY (`json_object` rejects that)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            break
    return b"".join(chunks)


def json_object(body: bytes) -> dict[str, Any]:
    """Parse a JSON object whatever the Content-Type: `text/plain` spares the browser a
    preflight, so `sendBeacon` and simple `fetch` calls send JSON labelled as text."""
    if len(body) > MAX_BODY:
        raise PayloadTooLarge(f"The request body is larger than {MAX_BODY} bytes.")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedBody(f"The request body is not valid JSON ({error}).") from error
    if not isinstance(parsed, dict):
        raise InvalidInput("The request body must be a JSON object.", details={"field": "body"})
    return parsed


def request_origin(request: Request) -> str | None:
    """The Origin header; absent for server-to-server calls, which the write key authenticates."""
    return request.headers.get("origin") or None


def check_origin(origin: str | None, *, allowed: bool) -> None:
    """OriginNotAllowed for a browser on a site the source does not list.

    A request without an Origin is not a browser on another site (servers, curl, same-origin
    GETs) and passes: the write key or form id is what authenticates it.
    """
    if origin is not None and not allowed:
        raise OriginNotAllowed(f"Requests from {origin} are not allowed for this source.")


def cors_headers(origin: str | None) -> dict[str, str]:
    # Vary on every answer: a cache must not hand one origin's answer to another.
    headers = {"Vary": "Origin"}
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
    return headers


def preflight(origin: str | None, *, allowed: bool, methods: str = "POST, OPTIONS") -> Response:
    """The answer to an OPTIONS preflight: permissive for an allowed origin, 403 otherwise."""
    if origin is None or not allowed:
        return Response(status_code=403, headers=cors_headers(None))
    headers = {
        **cors_headers(origin),
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }
    return Response(status_code=204, headers=headers)


def public_json(body: Any, *, origin: str | None, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=cors_headers(origin))


def public_error(error: RetentioError, *, origin: str | None) -> JSONResponse:
    """The API's error shape; CORS headers only for an origin already checked as allowed."""
    details = error.details
    if error.status == 422 and isinstance(details, dict) and "field" in details:
        # As in `retentio.web.errors`: field errors are a list of {field, message}.
        details = [{**details, "message": error.message}]
    body = {"error": {"code": error.code, "message": error.message, "details": details}}
    response = public_json(body, origin=origin, status_code=error.status)
    with_retry_after(response, error)
    return response
