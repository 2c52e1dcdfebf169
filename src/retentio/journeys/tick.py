"""One pass of the journey worker: read the triggers, wake enrollments whose awaited event
came, then advance due enrollments batch by batch until none is due or the time is up.

Each journey's triggers, the wake-up and each batch run in their own transaction, so a crash
loses at most the batch in flight — which the next pass does again (ADR 0014).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.events.models import Event
from retentio.journeys.engine import BATCH, advance_due
from retentio.journeys.models import Stream
from retentio.journeys.triggers import active_journeys, run_triggers, wake_waiting
from retentio.kit.upsert import insert_or_ignore

logger = logging.getLogger(__name__)
WAKE_STREAM = "wake"


@dataclass
class TickReport:
    enrolled: int = 0
    claimed: int = 0
    steps: int = 0
    messages: int = 0
    webhooks: int = 0
    touched: list[int] = field(default_factory=list)
    stopped: bool = False  # asked to stop with more perhaps due


def tick(
    sessions: Callable[[], Session],
    *,
    clock: Callable[[], datetime],
    seconds: float = 50.0,
    batch: int = BATCH,
    triggers: bool = True,
    stop: Callable[[], bool] = lambda: False,
) -> TickReport:
    report = TickReport()
    deadline = time.monotonic() + seconds
    if triggers:
        report.enrolled = _triggers(sessions, clock)
        _wake(sessions, clock)
    while time.monotonic() < deadline:
        with sessions() as session, session.begin():
            done = advance_due(session, now=clock(), limit=batch)
        report.claimed += done.claimed
        report.steps += done.steps
        report.messages += done.messages
        report.webhooks += done.webhooks
        report.touched.extend(done.touched)
        if done.claimed < batch:
            break
        if stop():
            report.stopped = True
            break
    return report


def _triggers(sessions: Callable[[], Session], clock: Callable[[], datetime]) -> int:
    with sessions() as session:
        journey_ids = active_journeys(session)
    offered = 0
    for journey_id in journey_ids:
        try:
            with sessions() as session, session.begin():
                offered += run_triggers(session, journey_id, now=clock())
        except Exception:  # one journey's broken trigger must not stop the others
            logger.exception("the trigger of journey %s failed", journey_id)
    return offered


def _wake(sessions: Callable[[], Session], clock: Callable[[], datetime]) -> None:
    with sessions() as session, session.begin():
        # Created at the newest event: what came before no step was waiting for.
        newest = session.scalar(select(func.max(Event.id))) or 0
        insert_or_ignore(session, Stream, {"name": WAKE_STREAM, "position": newest})
        stream = session.scalars(
            select(Stream).where(Stream.name == WAKE_STREAM).with_for_update(skip_locked=True)
        ).first()
        if stream is not None:  # another worker is reading it right now
            stream.position = wake_waiting(session, position=stream.position, now=clock())
