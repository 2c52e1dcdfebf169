"""Worker jobs of the messaging domain: `send_outbox` sends due outbox rows in batches.

Periodic (every minute) and enqueueable by whoever just queued messages (after their commit).
Safe to run twice, even at once: a row is claimed only from `queued`, atomically (SKIP LOCKED
on PostgreSQL, the single writer on SQLite), so two runs never send the same row. A worker that
is shutting down finishes the batch in hand and hands the rest to the queue.
"""

from __future__ import annotations

import time

from huey import crontab

from retentio.db import get_sessionmaker, utcnow
from retentio.messaging.sending import Sender
from retentio.messaging.tracking import Links, Signer
from retentio.worker import huey, stopping, task_settings

# A run stops taking new batches after this, so periodic runs do not pile up behind each other.
RUN_SECONDS = 50.0
BATCH = 500


@huey.periodic_task(crontab(minute="*"))
def send_outbox_periodic() -> None:
    send_outbox.call_local()


@huey.task()
def send_outbox() -> int:
    """Batches until nothing is due, the run's time is up or the worker stops; returns how
    many were sent."""
    settings = task_settings()
    links = Links(Signer(settings.resolved_secret_key()), settings.base_url)
    sender = Sender(links=links, policy=settings.send_policy())
    deadline = time.monotonic() + RUN_SECONDS
    sent = 0
    try:
        while time.monotonic() < deadline:
            # The sender commits its claim before sending, so it gets a session, not a scope.
            with get_sessionmaker(settings.database_url)() as session:
                report = sender.send_due(session, now=utcnow(), limit=BATCH)
            sent += report.sent
            if report.claimed < BATCH:
                break
            if stopping():
                # More may be due: another worker takes them now, not at the next minute's run.
                send_outbox()
                break
    finally:
        sender.close()
    return sent
