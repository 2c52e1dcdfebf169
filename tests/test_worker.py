"""The embedded queue: Huey on SQLite in the data directory, as durable as the database."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from retentio.settings import Settings
from retentio.worker import _build


def test_the_embedded_queue_commits_each_job_in_wal_without_an_fsync_each(
    settings: Settings,
) -> None:
    # given: the queue of a process without Redis
    queue = _build(settings.model_copy(update={"redis_url": None}))
    # when: a job is enqueued
    queue.storage.enqueue(b"a serialised job")
    # then: the queue's connection syncs like the database's (WAL, NORMAL: no fsync a commit)
    connection = queue.storage.conn
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert connection.execute("PRAGMA synchronous").fetchone() == (1,)
    # and the job is committed: another connection to the file sees it
    path = Path(settings.data_dir) / "queue.db"
    with closing(sqlite3.connect(path)) as other:
        assert other.execute("SELECT count(*) FROM task").fetchone() == (1,)
