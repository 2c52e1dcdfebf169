"""Process-wide logging: one handler on stderr, as JSON lines (production) or plain text.

Every record carries the id of the HTTP request it was written under (`request_id`, set by
`retentio.web.ops.RequestContext`), so the lines of one request can be found together. This
module formats; it decides nothing about what is logged.
"""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# A contextvar, not a thread-local: FastAPI runs sync handlers in a thread pool that copies the
# context of the request into the worker thread.
request_id: ContextVar[str | None] = ContextVar("retentio_request_id", default=None)

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's coloured duplicate of the message
    "taskName",
}


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return jsonlib.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal; the request id in brackets when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s%(rid)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid}]" if rid else ""
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD | {"rid"}}
        line = super().format(record)
        return f"{line} {extras}" if extras else line


def configure(*, json: bool, level: int = logging.INFO) -> None:
    """Replace the root logger's handlers with one writing to stderr in the chosen format.

    Uvicorn's and Huey's loggers propagate to the root, so their lines share the format; run
    Uvicorn with `log_config=None` so it keeps this set-up.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "huey"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Uvicorn's access line prints query strings (signed links' tokens); `retentio.access`
    # replaces it, and its processes under `--workers N` would otherwise still write it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
