"""Who enters a journey: read each trigger's source since the last look and enroll the
contacts it names, under the journey's policies (re-entry, concurrency cap, holdout).

Streams (events, segment changes) are read by id after the journey's `cursor`; scans (dates,
inactivity, schedules) run when `next_check_at` comes. One journey is handled at a time under
a row lock (SKIP LOCKED), so two workers never read the same stretch for the same journey, and
the enrollment's unique key (journey, contact, occurrence) settles anything else.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from pydantic import TypeAdapter
from sqlalchemy import Table, and_, exists, func, select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.events.models import Event
from retentio.journeys import timing
from retentio.journeys.definition import (
    DateTrigger,
    EventTrigger,
    InactivityTrigger,
    Policy,
    ScheduleTrigger,
    SegmentTrigger,
    Trigger,
)
from retentio.journeys.engine import DEFAULT_TIMEZONE, version_steps, wake
from retentio.journeys.models import (
    Enrollment,
    EnrollmentState,
    Group,
    Journey,
    JourneyStatus,
)
from retentio.kit import cron
from retentio.kit.upsert import insert_ignoring
from retentio.profiles.models import Profile
from retentio.segments.compiler import anniversary_days, json_scalar, live_clause, property_clause
from retentio.segments.models import ChangeKind, SegmentChange, SegmentMember

STREAM_BATCH = 5000
SCAN_BATCH = 5000
SCAN_EVERY = timedelta(hours=1)
# A date trigger enrolls contacts whose moment falls within this span ahead, so an hourly scan
# never misses one; the enrollment then waits for the exact local time.
DATE_LOOKAHEAD = timedelta(days=1)
TRIGGER = TypeAdapter(Trigger)


@dataclass(frozen=True)
class Candidate:
    contact_id: int
    occurrence: str
    data: dict[str, Any]
    # When the first step should run (a date trigger's local time); None: now.
    at: datetime | None = None


def parse_trigger(raw: dict[str, Any]) -> Any:
    return TRIGGER.validate_python(raw)


def enroll(
    session: Session, journey: Journey, candidates: Sequence[Candidate], *, now: datetime
) -> int:
    """Enroll those the policies let in; returns how many were offered after the policy
    checks (the unique key may still turn a concurrent duplicate away)."""
    if not candidates or journey.version_id is None:
        return 0
    policy = Policy.model_validate(journey.policy or {})
    first: dict[int, Candidate] = {}
    for candidate in candidates:
        first.setdefault(candidate.contact_id, candidate)
    allowed = _admissible(session, journey, policy, set(first), now)
    chosen = [c for contact_id, c in first.items() if contact_id in allowed]
    if policy.max_active is not None:
        active = session.scalar(
            select(func.count()).where(
                Enrollment.journey_id == journey.id, Enrollment.state == EnrollmentState.ACTIVE
            )
        )
        chosen = chosen[: max(policy.max_active - int(active or 0), 0)]
    start = version_steps(session, journey.version_id).start
    if not chosen or start is None:
        return 0
    rows = [_row(journey, policy, start, c, now) for c in chosen]
    session.execute(insert_ignoring(session, cast(Table, Enrollment.__table__)), rows)
    return len(rows)


def _row(
    journey: Journey, policy: Policy, start: str, c: Candidate, now: datetime
) -> dict[str, Any]:
    # Seeded by the occurrence, so a retried read assigns the same group.
    draw = random.Random(f"{journey.id}:{c.contact_id}:{c.occurrence}").random()  # noqa: S311
    return {
        "journey_id": journey.id,
        "version_id": journey.version_id,
        "contact_id": c.contact_id,
        "occurrence": c.occurrence,
        "group": Group.HOLDOUT if draw < policy.holdout_share else Group.TREATED,
        "state": EnrollmentState.ACTIVE,
        "step": start,
        "step_entered_at": now,
        "next_run_at": c.at or now,
        "waiting_for": None,
        "steps_done": 0,
        "data": c.data,
        "entered_at": now,
    }


def _admissible(
    session: Session, journey: Journey, policy: Policy, contact_ids: set[int], now: datetime
) -> set[int]:
    """Live, identified contacts not in the journey now, and not barred by re-entry."""
    live = set(
        session.scalars(select(Contact.id).where(Contact.id.in_(contact_ids), live_clause()))
    )
    barred = Enrollment.state == EnrollmentState.ACTIVE
    if policy.reentry == "once":
        barred = Enrollment.id.is_not(None)
    elif policy.reentry == "cooldown":
        barred = (Enrollment.state == EnrollmentState.ACTIVE) | (
            Enrollment.entered_at >= now - timedelta(days=policy.cooldown_days)
        )
    inside = set(
        session.scalars(
            select(Enrollment.contact_id).where(
                Enrollment.journey_id == journey.id, Enrollment.contact_id.in_(live), barred
            )
        )
    )
    return live - inside


def run_triggers(session: Session, journey_id: int, *, now: datetime) -> int:
    """Read one journey's trigger; flushes. Returns the candidates offered."""
    journey = session.scalars(
        select(Journey)
        .where(Journey.id == journey_id, Journey.status == JourneyStatus.ACTIVE)
        .with_for_update(skip_locked=True)
    ).first()
    if journey is None:
        return 0
    trigger = parse_trigger(journey.trigger)
    match trigger:
        case EventTrigger():
            candidates = _from_events(session, journey, trigger)
        case SegmentTrigger():
            candidates = _from_segment(session, journey, trigger)
        case DateTrigger() | InactivityTrigger() | ScheduleTrigger():
            candidates = _scan(session, journey, trigger, now)
        case _:
            return 0  # API triggers enroll through the API
    offered = enroll(session, journey, candidates, now=now)
    session.flush()
    return offered


def _from_events(session: Session, journey: Journey, trigger: EventTrigger) -> list[Candidate]:
    dialect = session.get_bind().dialect.name
    rows = session.execute(
        select(Event.id, Event.contact_id, Event.properties)
        .where(
            Event.type == trigger.event_type,
            Event.id > journey.cursor,
            *(property_clause(Event.properties, p, dialect) for p in trigger.properties),
        )
        .order_by(Event.id)
        .limit(STREAM_BATCH)
    ).all()
    if rows:
        journey.cursor = rows[-1].id
    return [Candidate(row.contact_id, f"e{row.id}", row.properties or {}) for row in rows]


def _from_segment(session: Session, journey: Journey, trigger: SegmentTrigger) -> list[Candidate]:
    change = ChangeKind.ENTERED if trigger.kind == "segment_entered" else ChangeKind.LEFT
    rows = session.execute(
        select(SegmentChange.id, SegmentChange.contact_id)
        .where(
            SegmentChange.segment_id == trigger.segment_id,
            SegmentChange.change == change,
            SegmentChange.id > journey.cursor,
        )
        .order_by(SegmentChange.id)
        .limit(STREAM_BATCH)
    ).all()
    if rows:
        journey.cursor = rows[-1].id
    return [Candidate(row.contact_id, f"s{row.id}", {}) for row in rows]


def _scan(session: Session, journey: Journey, trigger: Any, now: datetime) -> list[Candidate]:
    if journey.next_check_at is not None and journey.next_check_at > now:
        return []
    match trigger:
        case DateTrigger():
            journey.next_check_at = now + SCAN_EVERY
            return _dates(session, trigger, now)
        case InactivityTrigger():
            found = _inactive(session, journey, trigger, now)
            # A full batch means more are waiting: look again at the next tick.
            journey.next_check_at = now if len(found) == SCAN_BATCH else now + SCAN_EVERY
            return found
        case ScheduleTrigger():
            return _scheduled(session, journey, trigger, now)
    return []


def _dates(session: Session, trigger: DateTrigger, now: datetime) -> list[Candidate]:
    """Contacts whose date (plus the offset) falls within the look-ahead, at their local
    `at` time; the occurrence is the date, so each year's birthday enrolls once."""
    today = now.date()
    # The stored date is the moment's day minus the offset; a day either side covers zones.
    days = anniversary_days(today - timedelta(days=trigger.offset_days + 1), 3)
    dialect = session.get_bind().dialect.name
    if trigger.attribute == "birthday":
        month_day = (
            func.to_char(Contact.birthday, "MM-DD")
            if dialect == "postgresql"
            else func.strftime("%m-%d", Contact.birthday)
        )
        match = month_day.in_(days)
    else:
        text = json_scalar(
            Contact.custom, trigger.attribute.removeprefix("custom."), "string", dialect
        )
        match = func.substr(text, 6, 5).in_(days)
    rows = session.execute(
        select(Contact.id, Contact.timezone, Contact.birthday, Contact.custom).where(
            live_clause(), match
        )
    ).all()
    found = []
    for row in rows:
        stored = timing.attribute_date(trigger.attribute, row.birthday, row.custom or {})
        if stored is None:
            continue
        offset = timedelta(days=trigger.offset_days)
        if trigger.attribute == "birthday":
            target = timing.anniversary_on_or_after(stored, today - offset - timedelta(days=1))
        else:
            target = stored
        moment = timing.local_moment(target + offset, trigger.at, row.timezone, DEFAULT_TIMEZONE)
        if now - timedelta(hours=12) <= moment <= now + DATE_LOOKAHEAD:
            found.append(Candidate(row.id, f"d{target.isoformat()}", {}, at=moment))
    return found


def _inactive(
    session: Session, journey: Journey, trigger: InactivityTrigger, now: datetime
) -> list[Candidate]:
    """Customers asleep since their last order and not enrolled since it: one enrollment per
    sleep, however many scans see them."""
    since_last = exists().where(
        Enrollment.journey_id == journey.id,
        Enrollment.contact_id == Profile.contact_id,
        Enrollment.entered_at >= Profile.last_order_at,
    )
    if trigger.days is not None:
        asleep = Profile.last_order_at <= now - timedelta(days=trigger.days)
    else:
        asleep = and_(Profile.p_alive.is_not(None), Profile.p_alive < trigger.p_alive_below)
    rows = session.execute(
        select(Profile.contact_id, Profile.last_order_at)
        .where(Profile.last_order_at.is_not(None), asleep, ~since_last)
        .order_by(Profile.contact_id)
        .limit(SCAN_BATCH)
    ).all()
    return [Candidate(row.contact_id, f"o{row.last_order_at:%Y%m%d%H%M%S}", {}) for row in rows]


def _scheduled(
    session: Session, journey: Journey, trigger: ScheduleTrigger, now: datetime
) -> list[Candidate]:
    spec = cron.parse(trigger.cron)
    if journey.next_check_at is None:
        journey.next_check_at = cron.next_after(spec, now)
        return []
    fired = journey.next_check_at
    journey.next_check_at = cron.next_after(spec, now)
    members = session.scalars(
        select(SegmentMember.contact_id).where(SegmentMember.segment_id == trigger.segment_id)
    ).all()
    return [Candidate(contact_id, f"c{fired:%Y%m%d%H%M}", {}) for contact_id in members]


def starting_cursor(session: Session, trigger: Any) -> int:
    """Where a stream trigger starts reading when the journey is activated: now, not the past."""
    match trigger:
        case EventTrigger():
            return int(session.scalar(select(func.max(Event.id))) or 0)
        case SegmentTrigger():
            return int(session.scalar(select(func.max(SegmentChange.id))) or 0)
    return 0


def active_journeys(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Journey.id).where(Journey.status == JourneyStatus.ACTIVE).order_by(Journey.id)
        )
    )


def waited_types(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Enrollment.waiting_for)
            .where(Enrollment.state == EnrollmentState.ACTIVE, Enrollment.waiting_for.is_not(None))
            .distinct()
        )
    )


def wake_waiting(session: Session, *, position: int, now: datetime) -> int:
    """Wake enrollments waiting for events that arrived after `position`; returns the new
    position of the stream."""
    types = waited_types(session)
    top = int(session.scalar(select(func.max(Event.id))) or 0)
    if not types or top <= position:
        return top
    rows = session.execute(
        select(Event.type, Event.contact_id).where(
            Event.type.in_(types), Event.id > position, Event.id <= top
        )
    ).all()
    by_type: dict[str, list[int]] = {}
    for event_type, contact_id in rows:
        by_type.setdefault(event_type, []).append(contact_id)
    for event_type, contact_ids in by_type.items():
        wake(session, contact_ids, event_type, now=now)
    return top


def listened_types(session: Session) -> set[str]:
    """Event types that start an active journey or wake a waiting enrollment."""
    types = set(waited_types(session))
    for raw in session.scalars(
        select(Journey.trigger).where(Journey.status == JourneyStatus.ACTIVE)
    ):
        if raw.get("kind") == "event":
            types.add(str(raw.get("event_type")))
    return types
