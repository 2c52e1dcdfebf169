"""English and Russian through Babel catalogues.

Catalogues are kept as `.po` files only and compiled in memory on first use, so there is no
build step and no binary file to forget. The active locale lives in a context variable set per
request, which is what the Jinja2 `_()` and the Python `gettext()` read.
"""

from __future__ import annotations

import io
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from retentio.settings import SUPPORTED_LOCALES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
LOCALE_NAMES = {"en": "English", "ru": "Русский"}

current_locale: ContextVar[str] = ContextVar("current_locale", default="en")


@lru_cache(maxsize=len(SUPPORTED_LOCALES))
def translations(locale: str) -> NullTranslations:
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(message: str) -> str:
    return translations(current_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale.get()).ngettext(singular, plural, n)


def negotiate(accept_language: str | None, default: str) -> str:
    """The first supported language named in an Accept-Language header."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in SUPPORTED_LOCALES:
            return tag
    return default
