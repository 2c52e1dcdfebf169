"""The background worker: one Huey instance for the whole product.

Embedded by default (SQLite storage in the data directory; `retentio serve` runs a consumer
thread in the web process), or Redis when `RETENTIO_REDIS_URL` is set, so any number of
`retentio worker` processes on any number of machines share the queue. Tasks take ids and read
the database URL from the settings the process was started with, never from the queue (which
would spread credentials into Redis).
"""

from __future__ import annotations

import threading
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from retentio.settings import Settings, get_settings

_bound: Settings | None = None
# An idle consumer polls less and less often, up to this many seconds: low enough that a
# journey step enqueued after an event starts within the "seconds" journeys promise.
MAX_POLL_DELAY = 1.0


def _build(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("retentio", url=settings.redis_url)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return SqliteHuey("retentio", filename=str(Path(settings.data_dir) / "queue.db"))


huey: Huey = _build(get_settings())


def bind_settings(settings: Settings) -> None:
    """Tasks run in this process use these settings (the web app's, or a test's)."""
    global _bound
    _bound = settings


def task_settings() -> Settings:
    return _bound or get_settings()


def start_embedded_consumer(workers: int = 1) -> Consumer:
    """A consumer in threads of this process: the single-box mode of `retentio serve`."""
    import retentio.tasks  # noqa: F401 - registers every task with `huey`

    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, max_delay=MAX_POLL_DELAY
    )
    thread = threading.Thread(target=consumer.run, name="huey-consumer", daemon=True)
    # Huey installs signal handlers in run(); in a thread that is not allowed, so skip them.
    consumer._set_signal_handlers = lambda: None
    thread.start()
    return consumer
