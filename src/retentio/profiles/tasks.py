"""Worker jobs of profiles: refresh a few contacts after their data changed, refresh the
contacts events asked a refresh for (coalesced: at most one run a second per web process, and
every minute), refresh the contacts an import touched, and the nightly full recompute.

All are safe to run twice: a refresh or a recompute computes from the data as they are, so a
second run writes the same profiles and, the stages being unchanged, no lifecycle move.
Enqueue them only after the transaction that changed the data has committed
(`enqueue_refresh`), or the worker may compute from the old data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from huey import crontab
from sqlalchemy import select

from retentio.commerce.models import Order
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.events.models import Event
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob
from retentio.kit.debounce import Debounce
from retentio.profiles import service
from retentio.segments import tasks as segment_tasks
from retentio.worker import huey, task_settings

logger = logging.getLogger(__name__)
# One transaction per this many contacts: a big import's refresh does not hold SQLite's write
# lock for long, and a retry redoes at most one batch.
TRANSACTION_CONTACTS = 10_000
NIGHTLY_HOUR = 3
# Requests made within this many seconds share one run of `refresh_requested`.
REFRESH_DELAY = 1.0
_refresh_scheduled = Debounce(REFRESH_DELAY)


@huey.task(retries=3, retry_delay=60)
def refresh_profiles(contact_ids: list[int]) -> None:
    """Recompute these contacts' profiles with the stored model (no refit)."""
    url = task_settings().database_url
    wanted = sorted(set(contact_ids))
    for start in range(0, len(wanted), TRANSACTION_CONTACTS):
        with session_scope(url) as session:
            service.refresh(session, wanted[start : start + TRANSACTION_CONTACTS])
    # A new profile may move these contacts into or out of segments: re-evaluate them first,
    # before the hourly full refresh would.
    segment_tasks.refresh_contacts(wanted)


@huey.task(retries=3, retry_delay=60)
def refresh_requested() -> int:
    """Refresh every contact waiting in the refresh requests (`service.request_refresh`), a
    transaction per `TRANSACTION_CONTACTS`, then their segments; how many were refreshed."""
    url = task_settings().database_url
    refreshed: list[int] = []
    while True:
        with session_scope(url) as session:
            ids = service.refresh_requested(session, limit=TRANSACTION_CONTACTS)
        refreshed += ids
        if len(ids) < TRANSACTION_CONTACTS:
            break
    if refreshed:
        segment_tasks.refresh_contacts(refreshed)
    return len(refreshed)


@huey.periodic_task(crontab(minute="*"))
def refresh_requested_periodic() -> None:
    """Requests whose `refresh_soon()` never came (the process stopped right after the commit)
    or whose run failed for good wait at most a minute."""
    refresh_requested.call_local()


def refresh_soon() -> None:
    """Run `refresh_requested` a second from now; call it after committing refresh requests.
    Once a second per process: that run starts after every commit made before this call."""
    if _refresh_scheduled.first():
        refresh_requested.schedule(delay=REFRESH_DELAY)


def enqueue_refresh(contact_ids: Iterable[int]) -> None:
    """Queue a refresh of these contacts; call it after the change has committed."""
    wanted = sorted({int(i) for i in contact_ids})
    if wanted:
        refresh_profiles(wanted)


@huey.task(retries=3, retry_delay=60)
def refresh_after_import(job_id: int) -> None:
    """Refresh the contacts an import job touched: whose orders it wrote (created or changed),
    whose events it stored, or whom it created."""
    url = task_settings().database_url
    with session_scope(url, write=False) as session:
        job = session.get(ImportJob, job_id)
        if job is None or job.started_at is None or job.options.get("dry_run"):
            return
        since = job.started_at
        # A window rather than the job's own rows: the job does not keep them, and contacts
        # changed meanwhile by others only get a refresh they would get anyway.
        query = {
            ImportEntity.ORDERS: select(Order.contact_id).where(Order.updated_at >= since),
            ImportEntity.EVENTS: select(Event.contact_id).where(Event.received_at >= since),
            ImportEntity.CONTACTS: select(Contact.id).where(Contact.created_at >= since),
        }.get(job.entity)
        touched = list(session.scalars(query.distinct())) if query is not None else []
    if touched:
        refresh_profiles.call_local(touched)


def nightly_due(moment: datetime) -> bool:
    """True at 03:00 in the shop's time zone (UTC when the settings name none).

    Huey asks once a minute with the current UTC time (naive, as Huey keeps it).
    """
    local = moment.replace(tzinfo=UTC).astimezone(_shop_zone())
    return local.hour == NIGHTLY_HOUR and local.minute == 0


def _shop_zone() -> ZoneInfo:
    # Settings have no shop time zone yet; when one is added as `time_zone`, it applies here.
    name = getattr(task_settings(), "time_zone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.warning("unknown time zone %r; the nightly recompute runs at 03:00 UTC", name)
        return ZoneInfo("UTC")


@huey.periodic_task(nightly_due, retries=3, retry_delay=600)
def nightly_recompute() -> None:
    """Refit the model and rewrite every profile (one transaction).

    Huey enqueues periodic tasks from every consumer started with them: with several Redis
    workers, run periodic tasks on one of them, or the shop is recomputed once per worker
    (harmless, the runs queue on the table lock, but wasted). No Huey lock: a worker killed
    mid-run would leave it set and stop every later night.
    """
    with session_scope(task_settings().database_url) as session:
        result = service.recompute(session)
    logger.info(
        "nightly recompute: %d profiles, %d lifecycle moves",
        result.profiles,
        result.lifecycle_changes,
    )


__all__ = [
    "enqueue_refresh",
    "nightly_due",
    "nightly_recompute",
    "refresh_after_import",
    "refresh_profiles",
    "refresh_requested",
    "refresh_requested_periodic",
    "refresh_soon",
]
