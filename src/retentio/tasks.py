"""Imports every domain's `tasks` module so a worker knows every task."""

from __future__ import annotations

from retentio.campaigns import tasks as campaign_tasks
from retentio.imports import tasks as import_tasks
from retentio.journeys import tasks as journey_tasks
from retentio.loyalty import tasks as loyalty_tasks
from retentio.messaging import tasks as messaging_tasks
from retentio.recommend import tasks as recommend_tasks
from retentio.segments import tasks as segment_tasks

__all__ = [
    "campaign_tasks",
    "import_tasks",
    "journey_tasks",
    "loyalty_tasks",
    "messaging_tasks",
    "recommend_tasks",
    "segment_tasks",
]
