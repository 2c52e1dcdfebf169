"""Signed tracking links: the open pixel `/o/{token}.gif`, the click redirect `/c/{token}`, the
unsubscribe page `/u/{token}` and the preference page `/p/{token}`, and rewriting a rendered
HTML body to use them.

A token is `base64url(payload) "." base64url(HMAC-SHA256(key, payload)[:16])`, where the
payload is `kind:message_id[:url]`. The key is derived from the app's secret key, so a token
cannot be forged or altered (a changed URL fails the MAC) and says exactly where a click may
go: the redirect never takes a destination from anything but a verified token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TokenKind = Literal["o", "c", "u", "p", "s"]  # s: a survey answer link (feedback.links)
# 128 bits of MAC: forging is still out of reach, links stay shorter.
_MAC_BYTES = 16
_HREF = re.compile(r"""href\s*=\s*(["'])(https?://[^"']+)\1""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


class BadToken(Exception):
    """Tampered, truncated or not a token at all."""


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    message_id: int
    url: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret_key: str) -> None:
        # A key of its own, so a tracking token can never pass as a session cookie or back.
        self._key = hmac.new(secret_key.encode(), b"retentio.messaging.tracking", "sha256").digest()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def sign(self, token: Token) -> str:
        payload = f"{token.kind}:{token.message_id}"
        if token.url:
            payload += f":{token.url}"
        raw = payload.encode()
        return f"{_b64(raw)}.{_b64(self._mac(raw))}"

    def verify(self, text: str, kind: TokenKind) -> Token:
        encoded, _, mac = text.partition(".")
        try:
            raw, sent = _unb64(encoded), _unb64(mac)
        except (ValueError, TypeError) as error:
            raise BadToken("not a token") from error
        if not hmac.compare_digest(sent, self._mac(raw)):
            raise BadToken("signature does not match")
        found, _, rest = raw.decode().partition(":")
        number, _, url = rest.partition(":")
        if found != kind or not number.isdigit():
            raise BadToken("token of another kind")
        return Token(kind=kind, message_id=int(number), url=url)


@dataclass(frozen=True)
class Links:
    """Builds the public URLs of one message."""

    signer: Signer
    base_url: str

    def url(self, kind: TokenKind, message_id: int, target: str = "") -> str:
        token = self.signer.sign(Token(kind=kind, message_id=message_id, url=target))
        suffix = ".gif" if kind == "o" else ""
        return f"{self.base_url.rstrip('/')}/{kind}/{token}{suffix}"

    def survey(self, survey_id: int, contact_id: int, occurrence: str) -> str:
        """A survey's answer link for one send (checked and read by `feedback.links`)."""
        return self.url("s", survey_id, f"{contact_id}:{occurrence}")

    def for_message(self, message_id: int, contact_id: int = 0) -> dict[str, Any]:
        """The `links` template variable; `links.survey(12)` is survey 12's answer link,
        answerable once for this message."""
        return {
            "unsubscribe": self.url("u", message_id),
            "preferences": self.url("p", message_id),
            "survey": partial(self.survey, contact_id=contact_id, occurrence=f"m{message_id}"),
        }


def with_utm(url: str, utm: dict[str, str]) -> str:
    """Adds the campaign's UTM parameters that the link does not set itself."""
    return _with_utm(url, tuple(utm.items()))


@lru_cache(maxsize=4096)
def _with_utm(url: str, utm_items: tuple[tuple[str, str], ...]) -> str:
    # Cached: every recipient of a campaign has the same links.
    utm = dict(utm_items)
    if not utm:
        return url
    parts = urlsplit(url)
    present = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    extra = {k: v for k, v in utm.items() if k not in present}
    if not extra:
        return url
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit(parts._replace(query=query))


@lru_cache(maxsize=4096)
def _unescaped(href: str) -> str:
    return html.unescape(href)


def track_html(body: str, links: Links, message_id: int, utm: dict[str, str]) -> str:
    """Every http(s) link through the click redirect (except the message's own unsubscribe and
    preference links), plus the open pixel before `</body>` (or at the end)."""
    base = links.base_url.rstrip("/")
    own = (f"{base}/u/", f"{base}/p/")

    utm_items = tuple(utm.items())

    def rewrite(match: re.Match[str]) -> str:
        target = _unescaped(match.group(2))
        if target.startswith(own):
            return match.group(0)
        tracked = links.url("c", message_id, _with_utm(target, utm_items))
        return f"href={match.group(1)}{html.escape(tracked)}{match.group(1)}"

    tracked = _HREF.sub(rewrite, body)
    pixel = (
        f'<img src="{links.url("o", message_id)}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    ends = [m.start() for m in _BODY_END.finditer(tracked)]
    if not ends:
        return tracked + pixel
    return tracked[: ends[-1]] + pixel + tracked[ends[-1] :]
