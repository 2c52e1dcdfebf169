"""One-shot messages carried in the session to the next page."""

from __future__ import annotations

from typing import Literal

from fastapi import Request

Level = Literal["success", "info", "warning", "error"]


def flash(request: Request, message: str, level: Level = "success") -> None:
    # Reassigned, not appended to: the session is saved only when one of its keys is set.
    pending = request.session.get("_flash", [])
    request.session["_flash"] = [*pending, {"level": level, "message": message}]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = request.session.pop("_flash", [])
    return messages
