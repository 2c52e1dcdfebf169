"""Worker jobs of the journeys domain.

`advance_journeys` runs every minute (waits coming due) and is also scheduled a second after
events of a type some journey listens for arrive, so triggers fire within seconds. Any number
of workers may run it at once: triggers are read under a per-journey lock and enrollments are
claimed with SKIP LOCKED. Webhook calls written by steps are posted by `post_webhooks`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from huey import crontab

from retentio.db import get_sessionmaker, session_scope, utcnow
from retentio.journeys import webhooks
from retentio.journeys.tick import tick
from retentio.journeys.triggers import listened_types
from retentio.kit.debounce import Debounce
from retentio.messaging.tasks import send_outbox
from retentio.profiles.tasks import enqueue_refresh
from retentio.worker import huey, stopping, task_settings

RUN_SECONDS = 50.0
# Event types some active journey listens for, per process, re-read at most this often.
TYPES_TTL = 5.0
DEBOUNCE = 1.0
_types: tuple[float, frozenset[str]] = (0.0, frozenset())
_pass_scheduled = Debounce(DEBOUNCE)


@huey.periodic_task(crontab(minute="*"))
def advance_journeys_periodic() -> None:
    advance_journeys.call_local()
    # A webhook call that failed waits for its next attempt; when no step writes a new call,
    # nothing else would post it.
    post_webhooks.call_local()


@huey.task()
def advance_journeys() -> int:
    """Returns how many steps were run."""
    settings = task_settings()
    sessions = get_sessionmaker(settings.database_url)
    report = tick(sessions, clock=utcnow, seconds=RUN_SECONDS, stop=stopping)
    if report.stopped:
        # This worker is shutting down after the batch in hand: another one goes on now.
        advance_journeys()
    if report.messages:
        send_outbox()
    if report.webhooks:
        post_webhooks()
    if report.touched:
        enqueue_refresh(report.touched)
    return report.steps


@huey.task(retries=4, retry_delay=30)
def post_webhooks() -> int:
    settings = task_settings()
    with get_sessionmaker(settings.database_url)() as session:
        return webhooks.post_due(session, now=utcnow())


def events_arrived(event_types: Iterable[str]) -> None:
    """Called after an ingest commits: schedule a pass a second from now if any journey
    listens for these types, once per second per process, so a burst of events costs one."""
    if set(event_types) & _listened() and _pass_scheduled.first():
        advance_journeys.schedule(delay=DEBOUNCE)


def _listened() -> frozenset[str]:
    global _types
    read_at, types = _types
    if time.monotonic() - read_at > TYPES_TTL:
        with session_scope(task_settings().database_url, write=False) as session:
            types = frozenset(listened_types(session))
        _types = (time.monotonic(), types)
    return types


def forget_listened() -> None:
    """Journeys changed in this process: re-read the types at the next event."""
    global _types
    _types = (0.0, frozenset())
