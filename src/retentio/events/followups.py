"""What the worker does after events are stored: refresh the profiles (and through them the
segments) they may change — the ingest asked for it in its transaction, a run a second later
takes every request made meanwhile — and let journeys listening for these types react within
seconds. Run as a background task, i.e. after the request committed."""

from __future__ import annotations

from collections.abc import Iterable

from retentio.journeys.tasks import events_arrived
from retentio.profiles.tasks import refresh_soon


def after_ingest(touched: list[int], event_types: Iterable[str]) -> None:
    if touched:
        refresh_soon()
    events_arrived(event_types)
