"""Text helpers with no dependencies: a marker for strings translated where they are shown."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extraction tools look for
    """Marks a string for extraction; it is translated later, where it is displayed."""
    return message
