"""When a wait ends, and when a contact's active hours next open: pure functions of the step,
the moment the enrollment reached it, and the contact's time zone and dates.

Deterministic on purpose: a wait computes its end from when the step was entered, so running
the same step again (a retried batch) gives the same answer.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from retentio.campaigns.audience import next_local, parse_local_time
from retentio.journeys.definition import ActiveHours, WaitStep
from retentio.messaging.policy import quiet_until, zone


def attribute_date(attribute: str, birthday: date | None, custom: dict[str, Any]) -> date | None:
    """The stored date behind `birthday` or `custom.<key>`; None when missing or not a date."""
    if attribute == "birthday":
        return birthday
    value = (custom or {}).get(attribute.removeprefix("custom."))
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def anniversary_on_or_after(born: date, day: date) -> date:
    """The first anniversary of `born` on or after `day`; 29 February falls on the 28th in
    common years (the day those birthdays are celebrated)."""
    for year in (day.year, day.year + 1):
        try:
            candidate = born.replace(year=year)
        except ValueError:
            candidate = date(year, 2, 28)
        if candidate >= day:
            return candidate
    raise AssertionError("unreachable: next year's anniversary is always later")


def local_moment(day: date, at: str, timezone: str | None, default_timezone: str) -> datetime:
    tz = zone(timezone, default_timezone)
    return datetime.combine(day, parse_local_time(at), tzinfo=tz)


def wait_ends(
    step: WaitStep,
    entered: datetime,
    *,
    timezone: str | None,
    default_timezone: str,
    birthday: date | None,
    custom: dict[str, Any],
) -> datetime | None:
    """When the wait that began at `entered` is over; None when its date is unknown (the
    contact has no birthday), which the engine treats as "nothing to wait for"."""
    if step.mode == "duration":
        assert step.duration is not None  # the model requires it
        return entered + timedelta(seconds=step.duration.seconds)
    if step.mode == "local_time":
        return next_local(entered, parse_local_time(step.at), timezone, default_timezone)
    stored = attribute_date(step.attribute, birthday, custom)
    if stored is None:
        return None
    local_day = entered.astimezone(zone(timezone, default_timezone)).date()
    offset = timedelta(days=step.offset_days)
    if step.attribute == "birthday":
        # The next birthday whose offset day has not passed yet.
        target = anniversary_on_or_after(stored, local_day - offset) + offset
    else:
        target = stored + offset
    moment = local_moment(target, step.at, timezone, default_timezone)
    return max(moment.astimezone(entered.tzinfo), entered)


def active_from(
    now: datetime, hours: ActiveHours | None, tz_name: str | None, default: str
) -> datetime:
    """`now` when inside the active hours (or there are none), else when they next open."""
    if hours is None:
        return now
    # Outside the active hours is a quiet window from their end to their start.
    start, end = time.fromisoformat(hours.start), time.fromisoformat(hours.end)
    opens = quiet_until(now, zone(tz_name, default), end, start)
    return opens or now
