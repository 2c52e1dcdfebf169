"""The background worker: one Huey instance for the whole product.

Embedded by default (SQLite storage in the data directory; `retentio serve` runs a consumer
thread in the web process), or Redis when `RETENTIO_REDIS_URL` is set, so any number of
`retentio worker` processes on any number of machines share the queue. Tasks take ids and read
the database URL from the settings the process was started with, never from the queue (which
would spread credentials into Redis).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer
from huey.storage import SqliteStorage
from redis import ConnectionPool
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from retentio.settings import Settings, get_settings

_bound: Settings | None = None
# An idle consumer polls less and less often, up to this many seconds: low enough that a
# journey step enqueued after an event starts within the "seconds" journeys promise.
MAX_POLL_DELAY = 1.0
# How long a Redis command keeps trying through a lost connection (about a second a try): long
# enough to ride out a Redis restart, so a job a web request enqueues after its commit is not
# lost and does not fail the request; a worker's poll just waits with it.
REDIS_RETRIES = 30


class _QueueStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite storage, as durable as the database whose commits its jobs follow."""

    def _create_connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection = super()._create_connection()
        # WAL with NORMAL, like the database (`db._sqlite_pragmas`): an enqueue survives the
        # process crashing; only a power cut may undo it, as it may the commit it follows.
        # Huey's default (FULL) waits for an fsync on every enqueue, ~8 % of a batch ingest.
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection


def _build(settings: Settings) -> Huey:
    if settings.redis_url:
        pool = ConnectionPool.from_url(
            settings.redis_url,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), REDIS_RETRIES),
        )
        return RedisHuey("retentio", connection_pool=pool)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        "retentio", filename=str(Path(settings.data_dir) / "queue.db"), storage_class=_QueueStorage
    )


huey: Huey = _build(get_settings())


def bind_settings(settings: Settings) -> None:
    """Tasks run in this process use these settings (the web app's, or a test's)."""
    global _bound
    _bound = settings


def task_settings() -> Settings:
    return _bound or get_settings()


# The stop flag of the consumer running in this process (one per process), for `stopping()`.
_stop_flag: threading.Event | None = None


def create_consumer(workers: int, *, graceful_signal: str = "INT") -> Consumer:
    """A consumer of `huey` in threads of this process; its shutdown shows in `stopping()`."""
    global _stop_flag
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        max_delay=MAX_POLL_DELAY,
        graceful_signal=graceful_signal,
    )
    _stop_flag = consumer.stop_flag
    return consumer


def stopping() -> bool:
    """This process's consumer is shutting down: Huey waits for the tasks in flight, so a task
    that loops over batches finishes the one in hand and takes no more."""
    return _stop_flag is not None and _stop_flag.is_set()


def start_embedded_consumer(workers: int = 1) -> Consumer:
    """A consumer in threads of this process: the single-box mode of `retentio serve`."""
    import retentio.tasks  # noqa: F401 - registers every task with `huey`

    consumer = create_consumer(workers)
    thread = threading.Thread(target=consumer.run, name="huey-consumer", daemon=True)
    # Huey installs signal handlers in run(); in a thread that is not allowed, so skip them.
    consumer._set_signal_handlers = lambda: None
    thread.start()
    return consumer
