"""What recipients reach from a message: the open pixel `/o/{token}.gif`, the click redirect
`/c/{token}`, the unsubscribe page `/u/{token}` and the preference page `/p/{token}`.

Public and cookie-less: the signed token is the only credential. A token that does not verify
gets a 404 and never a redirect. GET on the unsubscribe page only asks; the POST (the page's
button, or a mailbox provider's RFC 8058 one-click POST, which carries no cookie and no CSRF
token) unsubscribes and answers 200 without a redirect. The preference page works the same
way: GET shows the contact's channels and topics, POST saves them and shows the page again.
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
from retentio.messaging import preferences, service
from retentio.messaging.models import Message
from retentio.messaging.preferences import ChannelPreference, Preferences
from retentio.messaging.tracking import BadToken, Signer, Token, TokenKind
from retentio.web import forms, i18n
from retentio.web.csrf import csrf_exempt
from retentio.web.deps import SessionDep, SettingsDep, client_ip
from retentio.web.forms import FormDep
from retentio.web.templating import templates

router = APIRouter(include_in_schema=False)
# The smallest transparent GIF (1×1, 43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, private"}
PAGE = "messaging/unsubscribe.html"
PREFERENCES_PAGE = "messaging/preferences.html"


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


def _page(
    request: Request,
    *,
    done: bool,
    channel: Channel | None,
    preferences_url: str = "",
    status: int = 200,
) -> Response:
    html = templates.env.get_template(PAGE).render(
        done=done,
        channel_label=i18n.gettext(CHANNEL_LABELS[channel]) if channel else "",
        action=request.url.path,
        preferences_url=preferences_url,
        locale=i18n.current_locale.get(),
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def _preferences_path(settings: SettingsDep, message_id: int) -> str:
    """A freshly signed link to the same message's preference page."""
    token = _signer(settings.resolved_secret_key()).sign(Token(kind="p", message_id=message_id))
    return f"/p/{token}"


@router.get("/u/{token}")
def unsubscribe_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    found = _verify(settings, token, "u")
    message = session.get(Message, found.message_id) if found else None
    if message is None:
        return _page(request, done=False, channel=None, status=404)
    return _page(
        request,
        done=False,
        channel=message.channel,
        preferences_url=_preferences_path(settings, message.id),
    )


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
    return _page(
        request,
        done=True,
        channel=message.channel,
        preferences_url=_preferences_path(settings, message.id),
    )


def _mask(channel: ChannelPreference) -> str:
    """Enough of the address to recognise it: the link may have been forwarded, and whoever
    holds it should not learn the contact's phone number or full e-mail from it."""
    address = channel.address or ""
    if channel.channel == Channel.EMAIL and "@" in address:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"***{address[-2:]}" if len(address) > 4 else "***"


def _preferences_page(
    request: Request, found: Preferences | None, *, saved: bool = False, status: int = 200
) -> Response:
    channels = [c for c in found.channels if c.address] if found else []
    html = templates.env.get_template(PREFERENCES_PAGE).render(
        valid=found is not None,
        saved=saved,
        channels=[
            {
                "value": c.channel.value,
                "label": i18n.gettext(CHANNEL_LABELS[c.channel]),
                "address": _mask(c),
                "granted": c.granted,
            }
            for c in channels
        ],
        topics=found.topics if found else [],
        action=request.url.path,
        locale=i18n.current_locale.get(),
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def _contact_id(session: SessionDep, settings: SettingsDep, token: str) -> int | None:
    found = _verify(settings, token, "p")
    if found is None:
        return None
    try:
        return preferences.contact_of_message(session, found.message_id).id
    except NotFound:
        return None


@router.get("/p/{token}")
def preferences_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    contact_id = _contact_id(session, settings, token)
    if contact_id is None:
        return _preferences_page(request, None, status=404)
    return _preferences_page(request, preferences.preferences_of(session, contact_id))


@router.post("/p/{token}")
@csrf_exempt
def save_preferences(
    request: Request, token: str, session: SessionDep, settings: SettingsDep, form: FormDep
) -> Response:
    contact_id = _contact_id(session, settings, token)
    if contact_id is None:
        return _preferences_page(request, None, status=404)
    # Only what the page showed is saved: a channel or topic added since it was loaded has no
    # box on it, and its absence from the form must not read as "off".
    current = preferences.preferences_of(session, contact_id)
    shown_channels = set(forms.texts(form, "shown_channel"))
    chosen_channels = set(forms.texts(form, "channel"))
    channels = {
        c.channel: c.channel.value in chosen_channels
        for c in current.channels
        if c.address and c.channel.value in shown_channels
    }
    shown_topics = set(forms.ints(form, "shown_topic"))
    chosen_topics = set(forms.ints(form, "topic"))
    topics = {
        t.topic_id: t.topic_id in chosen_topics
        for t in current.topics
        if t.topic_id in shown_topics
    }
    preferences.save_preferences(
        session, contact_id, channels=channels, topics=topics, now=utcnow(), ip=client_ip(request)
    )
    return _preferences_page(request, preferences.preferences_of(session, contact_id), saved=True)
