"""The `Content-Disposition` header of a download whose file name may be in any language."""

from __future__ import annotations

import re
from urllib.parse import quote

_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def attachment(filename: str) -> str:
    """An ASCII fallback for old clients plus the exact UTF-8 name (RFC 6266 / RFC 5987)."""
    fallback = _NOT_ASCII_SAFE.sub("_", filename).strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
