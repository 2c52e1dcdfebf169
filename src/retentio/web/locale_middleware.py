"""Sets the request's language from the session (the user's choice) or Accept-Language."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from retentio.settings import SUPPORTED_LOCALES
from retentio.web import i18n


class LocaleMiddleware:
    def __init__(self, app: ASGIApp, *, default: str) -> None:
        self.app = app
        self.default = default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen = scope.get("session", {}).get("locale")
        if chosen not in SUPPORTED_LOCALES:
            headers = dict(scope.get("headers", []))
            accept = headers.get(b"accept-language", b"").decode("latin-1")
            chosen = i18n.negotiate(accept, self.default)
        token = i18n.current_locale.set(chosen)
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.current_locale.reset(token)
