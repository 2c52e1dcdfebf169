"""Worker jobs of the segments domain: refresh one segment, re-evaluate changed contacts for
every dynamic segment, and the scheduled full refresh (which also creates missing prebuilt
segments, so a fresh install gets them on the worker's first tick).

All take ids and are safe to run twice: a refresh is a set difference, so a second run finds
nothing entered or left and writes no change rows. Each segment is refreshed in its own
transaction, so one broken rule does not hold back the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from huey import crontab

from retentio.db import session_scope, utcnow
from retentio.errors import NotFound
from retentio.segments import membership, service
from retentio.segments.prebuilt import ensure_prebuilt
from retentio.worker import huey, task_settings

logger = logging.getLogger(__name__)


@huey.task(retries=4, retry_delay=30)
def refresh_segment(segment_id: int) -> None:
    with session_scope(task_settings().database_url) as session:
        try:
            service.refresh_segment(session, segment_id, now=utcnow())
        except NotFound:
            return  # archived meanwhile: nothing to keep fresh


@huey.task(retries=4, retry_delay=30)
def refresh_contacts(contact_ids: Sequence[int]) -> None:
    """Other domains enqueue this with the contacts a write touched (after their commit)."""
    with session_scope(task_settings().database_url) as session:
        service.refresh_contacts(session, contact_ids, now=utcnow())


@huey.periodic_task(crontab(minute="17"))
def refresh_all() -> None:
    """Hourly: every dynamic segment in full, which catches what time alone changes."""
    url = task_settings().database_url
    with session_scope(url) as session:
        ensure_prebuilt(session)
        ids = [s.id for s in membership.dynamic_segments(session)]
    for segment_id in ids:
        try:
            refresh_segment.call_local(segment_id)
        except Exception:
            logger.exception("refreshing segment %s failed", segment_id)
