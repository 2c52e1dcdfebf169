"""CSRF protection for every state-changing request made with the session cookie.

The token lives in the signed session; forms send it as the `csrf_token` field, scripts as the
`X-CSRF-Token` header. Requests authenticated by an API token carry no ambient credential and
are exempt; public endpoints (tracking, forms for visitors) opt out with `@csrf_exempt`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.routing import APIRoute

from retentio.errors import CsrfFailure

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
HEADER = "x-csrf-token"
FIELD = "csrf_token"

F = TypeVar("F", bound=Callable[..., Any])


def csrf_exempt(endpoint: F) -> F:
    endpoint.__csrf_exempt__ = True  # type: ignore[attr-defined]
    return endpoint


def csrf_token(request: Request) -> str:
    token = request.session.get(FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[FIELD] = token
    return token


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: reject unsafe requests whose token does not match the session's."""
    if request.method in SAFE_METHODS or _is_exempt(request):
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    _check(request, request.headers.get(HEADER) or await _form_token(request))


def check_header_token(request: Request) -> None:
    """The check for an exempt endpoint that is nevertheless being called with the cookie.

    Endpoints that also accept a non-ambient credential (e.g. a tracking write key) opt out of
    the app-wide check and call this when they fall back to the session.
    """
    _check(request, request.headers.get(HEADER))


def _check(request: Request, sent: str | None) -> None:
    expected = request.session.get(FIELD)
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise CsrfFailure("The form has expired or was not sent from Retentio. Reload the page.")


def _is_exempt(request: Request) -> bool:
    route = request.scope.get("route")
    return isinstance(route, APIRoute) and getattr(route.endpoint, "__csrf_exempt__", False)


async def _form_token(request: Request) -> str | None:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    value = (await request.form()).get(FIELD)
    return value if isinstance(value, str) else None
