"""Send-time rules that depend only on the clock and the contact's time zone: quiet hours and
the calendar day / week a frequency cap counts in. Pure functions; `sending` applies them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class SendPolicy:
    """Limits for marketing messages; transactional ones ignore them.

    Defaults until the settings page has a place for them: at most 2 a day and 5 a week per
    contact, nothing between 21:00 and 09:00 local time, and Moscow time for contacts whose
    time zone is unknown (most of Retentio's first users sell in Russia).
    """

    daily_cap: int | None = 2
    weekly_cap: int | None = 5
    quiet_start: time | None = time(21, 0)
    quiet_end: time | None = time(9, 0)
    default_timezone: str = "Europe/Moscow"


@lru_cache(maxsize=512)
def zone(name: str | None, default: str) -> ZoneInfo:
    """The contact's zone; an unknown or missing name falls back to the default."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def quiet_until(
    now: datetime, tz: ZoneInfo, start: time | None, end: time | None
) -> datetime | None:
    """When `now` falls in the quiet window (local time), the window's end as UTC-aware time;
    None when sending is allowed now. A window may wrap midnight (21:00–09:00)."""
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    wraps = start > end
    inside = (clock >= start or clock < end) if wraps else (start <= clock < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if wraps and clock >= start else local.date()
    return datetime.combine(day, end, tzinfo=tz).astimezone(now.tzinfo)


def period_starts(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The start of the contact's current local day and ISO week (Monday), as aware times."""
    local = now.astimezone(tz)
    day = datetime.combine(local.date(), time(0), tzinfo=tz)
    week = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), tzinfo=tz)
    return day, week


def over_cap(now: datetime, tz: ZoneInfo, policy: SendPolicy, sent: Iterable[datetime]) -> bool:
    """Would one more marketing message exceed the daily or weekly cap, given the times the
    contact's earlier marketing messages were sent?"""
    day, week = period_starts(now, tz)
    times = list(sent)
    today = sum(1 for t in times if t >= day)
    this_week = sum(1 for t in times if t >= week)
    return (policy.daily_cap is not None and today >= policy.daily_cap) or (
        policy.weekly_cap is not None and this_week >= policy.weekly_cap
    )
