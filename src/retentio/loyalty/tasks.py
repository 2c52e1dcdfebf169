"""Worker jobs of loyalty: earn (or take back) an order's points after it was posted, and the
nightly rules — expiry, birthday bonuses, tier recalculation.

All are safe to run twice: every entry they write has a key, and a second run finds the keys
taken (or, for tiers, the contacts already placed) and writes nothing new.
"""

from __future__ import annotations

import logging

from huey import crontab

from retentio.db import session_scope, utcnow
from retentio.journeys.tasks import events_arrived
from retentio.loyalty import service
from retentio.worker import huey, task_settings

logger = logging.getLogger(__name__)


@huey.task(retries=3, retry_delay=60)
def earn_for_order(order_id: int) -> int:
    """Enqueue after the order's transaction committed; returns the points written (±)."""
    with session_scope(task_settings().database_url) as session:
        return service.earn_for_order(session, order_id, now=utcnow())


# 02:30 UTC (night in Russia), half an hour before the profiles' nightly recompute.
@huey.periodic_task(crontab(minute="30", hour="2"), retries=3, retry_delay=600)
def nightly_loyalty() -> None:
    """Expiry, birthdays and tiers, each in a transaction of its own: one failing does not
    undo the others, and the next night retries it."""
    url = task_settings().database_url
    now = utcnow()
    with session_scope(url) as session:
        expired = service.expire(session, now=now)
    with session_scope(url) as session:
        birthdays = service.birthday_bonuses(session, now=now)
    with session_scope(url) as session:
        moved = service.recalculate_tiers(session, now=now)
    if moved:
        # Committed: journeys listening for tier changes may run now rather than in a minute.
        events_arrived([service.TIER_CHANGED])
    logger.info(
        "loyalty nightly: %d points expired, %d birthday bonuses, %d tier changes",
        expired,
        birthdays,
        len(moved),
    )
