"""Worker job of recommendations: the nightly rebuild of products bought together and of the
categories' replenishment intervals.

Safe to run twice: a rebuild computes from the orders as they are and replaces every row, so a
second run writes the same tables. Half an hour after the profiles' nightly recompute, so the
two heavy reads of the orders do not compete for the database.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from retentio.db import session_scope
from retentio.profiles.tasks import nightly_due as profiles_nightly_due
from retentio.recommend import service
from retentio.worker import huey, task_settings

logger = logging.getLogger(__name__)
AFTER_PROFILES = timedelta(minutes=30)


def nightly_due(moment: datetime) -> bool:
    """True at 03:30 in the shop's time zone (Huey asks once a minute, naive UTC)."""
    return profiles_nightly_due(moment - AFTER_PROFILES)


@huey.periodic_task(nightly_due, retries=3, retry_delay=600)
def nightly_recompute() -> None:
    """Rebuild the associations and intervals in one transaction."""
    with session_scope(task_settings().database_url) as session:
        result = service.recompute(session)
    logger.info(
        "recommendations: %d product pairs, %d category intervals",
        result.pairs,
        result.categories,
    )


__all__ = ["nightly_due", "nightly_recompute"]
