"""Plain-text bodies of the text channels (SMS, Telegram, webhook text): http(s) links through
the signed click redirect, and the one-line unsubscribe footer that marketing messages carry
when their template has no unsubscribe link of its own.

The HTML counterpart is `tracking.track_html`; this one has no markup to lean on, so a link is
whatever runs from `http(s)://` to the next space, minus the sentence's closing punctuation.
"""

from __future__ import annotations

import re

from retentio.kit.text import N_
from retentio.messaging.tracking import Links, with_utm
from retentio.settings import SUPPORTED_LOCALES
from retentio.web.i18n import translations

UNSUBSCRIBE_LABEL = N_("Unsubscribe:")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
# Punctuation that ends the sentence around a link far more often than the link itself.
_TRAILING = ".,;:!?)]}»…"


def track_text(text: str, links: Links, message_id: int, utm: dict[str, str]) -> str:
    """Every http(s) link through the click redirect, except the message's own unsubscribe and
    preference links (they must work as they are, and a click on them is not interest)."""
    base = links.base_url.rstrip("/")
    own = (f"{base}/u/", f"{base}/p/")

    def rewrite(match: re.Match[str]) -> str:
        found = match.group(0)
        url = found.rstrip(_TRAILING)
        if url.startswith(own):
            return found
        return links.url("c", message_id, with_utm(url, utm)) + found[len(url) :]

    return _URL.sub(rewrite, text)


def with_unsubscribe(text: str, url: str, language: str | None) -> str:
    """The text with "Unsubscribe: <url>" on a last line of its own, in the contact's language
    (English when unknown), unless the text shows the link already."""
    if url in text:
        return text
    locale = (language or "")[:2].lower()
    label = translations(locale if locale in SUPPORTED_LOCALES else "en").gettext(UNSUBSCRIBE_LABEL)
    return f"{text.rstrip()}\n{label} {url}"
