"""Worker jobs of the campaigns domain: start a campaign that is due, and the minutely tick
that starts scheduled campaigns, picks A/B winners after their test period and marks finished
campaigns done.

Each move runs in its own transaction and is guarded by the state it starts from, so the tick
and an enqueued start racing each other (or two workers) do the work once. The outbox is sent
by `messaging.tasks.send_outbox`, enqueued once the queued messages are committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from huey import crontab

from retentio.campaigns import service
from retentio.db import session_scope, utcnow
from retentio.errors import NotFound
from retentio.messaging.tasks import send_outbox
from retentio.worker import huey, task_settings

logger = logging.getLogger(__name__)


def _run(move: Callable[..., object], campaign_id: int) -> object:
    with session_scope(task_settings().database_url) as session:
        try:
            return move(session, campaign_id, now=utcnow())
        except NotFound:
            return None  # deleted meanwhile


@huey.task(retries=4, retry_delay=30)
def start_campaign(campaign_id: int) -> bool:
    started = bool(_run(service.start, campaign_id))
    if started:
        send_outbox()
    return started


@huey.periodic_task(crontab(minute="*"))
def advance_campaigns() -> None:
    with session_scope(task_settings().database_url) as session:
        to_start, to_pick, sending = service.due_work(session, now=utcnow())
    queued = False
    for campaign_id in to_start:
        queued |= _guarded(service.start, campaign_id)
    for campaign_id in to_pick:
        queued |= _guarded(service.pick_winner, campaign_id)
    for campaign_id in sending:
        _guarded(service.finish_if_done, campaign_id)
    if queued:
        send_outbox()


def _guarded(move: Callable[..., object], campaign_id: int) -> bool:
    """One campaign's failure is logged and does not hold back the others."""
    try:
        return bool(_run(move, campaign_id))
    except Exception:
        logger.exception("%s of campaign %s failed", move.__name__, campaign_id)
        return False
