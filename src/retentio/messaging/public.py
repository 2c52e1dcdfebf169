"""What recipients reach from a message: the open pixel `/o/{token}.gif`, the click redirect
`/c/{token}` and the unsubscribe page `/u/{token}`.

Public and cookie-less: the signed token is the only credential. A token that does not verify
gets a 404 and never a redirect. GET on the unsubscribe page only asks; the POST (the page's
button, or a mailbox provider's RFC 8058 one-click POST, which carries no cookie and no CSRF
token) unsubscribes and answers 200 without a redirect.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from retentio.consent.labels import CHANNEL_LABELS
from retentio.consent.models import Channel
from retentio.db import utcnow
from retentio.errors import NotFound
from retentio.messaging import service
from retentio.messaging.models import Message
from retentio.messaging.tracking import BadToken, Signer, Token, TokenKind
from retentio.web import i18n
from retentio.web.csrf import csrf_exempt
from retentio.web.deps import SessionDep, SettingsDep, client_ip
from retentio.web.templating import templates

router = APIRouter(include_in_schema=False)
# The smallest transparent GIF (1×1, 43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private"}
PAGE = "messaging/unsubscribe.html"


@lru_cache(maxsize=4)
def _signer(secret_key: str) -> Signer:
    return Signer(secret_key)


def _verify(settings: SettingsDep, text: str, kind: TokenKind) -> Token | None:
    try:
        return _signer(settings.resolved_secret_key()).verify(text, kind)
    except BadToken:
        return None


@router.get("/o/{token}.gif")
def open_pixel(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    found = _verify(settings, token, "o")
    if found is None:
        return Response(status_code=404, headers=NO_STORE)
    service.record_open(session, found.message_id, now=utcnow())
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/c/{token}")
def click(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    found = _verify(settings, token, "c")
    # Only http(s) destinations are ever signed; checked again so no token can say javascript:.
    if found is None or not found.url.startswith(("https://", "http://")):
        return Response("This link is not valid.", status_code=404, headers=NO_STORE)
    service.record_click(session, found.message_id, found.url, now=utcnow())
    return RedirectResponse(found.url, status_code=302, headers=NO_STORE)


def _page(request: Request, *, done: bool, channel: Channel | None, status: int = 200) -> Response:
    html = templates.env.get_template(PAGE).render(
        done=done,
        channel_label=i18n.gettext(CHANNEL_LABELS[channel]) if channel else "",
        action=request.url.path,
        locale=i18n.current_locale.get(),
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


@router.get("/u/{token}")
def unsubscribe_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    found = _verify(settings, token, "u")
    message = session.get(Message, found.message_id) if found else None
    if message is None:
        return _page(request, done=False, channel=None, status=404)
    return _page(request, done=False, channel=message.channel)


@router.post("/u/{token}")
@csrf_exempt
def unsubscribe(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    found = _verify(settings, token, "u")
    if found is None:
        return _page(request, done=False, channel=None, status=404)
    try:
        message = service.unsubscribe(
            session, found.message_id, now=utcnow(), ip=client_ip(request)
        )
    except NotFound:
        return _page(request, done=False, channel=None, status=404)
    return _page(request, done=True, channel=message.channel)
