"""The journey engine: claim due enrollments in a batch, move each through as many steps as
are due now, and write everything the steps produce in the same transaction.

One batch is one transaction: the claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single
writer on SQLite), the step runs, the outbox rows, tasks and webhook calls, and the
enrollments' new positions. A worker killed mid-batch rolls all of it back and another worker
claims the same enrollments again: nothing is lost and nothing runs twice (ADR 0014).

Steps are executed in rounds: every enrollment still moving is grouped by (version, step),
so a condition costs one query per group, not one per contact.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Column, MetaData, Table, and_, func, insert, select, update
from sqlalchemy.orm import Session

from retentio.activities.models import Activity, ActivityKind
from retentio.commerce.models import Order, OrderStatus
from retentio.consent.models import ConsentState, Purpose
from retentio.contacts.models import Contact
from retentio.contacts.service import add_tag, remove_tag
from retentio.events.models import Event
from retentio.journeys import timing
from retentio.journeys.definition import (
    AttributeStep,
    ConditionStep,
    ExitStep,
    Goal,
    PointsStep,
    Policy,
    SendStep,
    SplitStep,
    Steps,
    TaskStep,
    WaitEventStep,
    WaitStep,
    WebhookStep,
)
from retentio.journeys.models import (
    Enrollment,
    EnrollmentState,
    Group,
    Journey,
    JourneyStatus,
    JourneyVersion,
    StepRun,
    WebhookCall,
)
from retentio.kit.bulk import insert_rows
from retentio.kit.upsert import insert_ignoring
from retentio.loyalty.service import adjust
from retentio.messaging.service import NewMessage, OutboxKey, enqueue_many
from retentio.segments.compiler import property_clause
from retentio.segments.queries import checked_rule, compiled

SOURCE = "journey"
STEP_RUNS = cast(Table, StepRun.__table__)
# A per-connection scratch table, emptied at each commit (PostgreSQL only).
MOVES_TABLE = """
CREATE TEMP TABLE IF NOT EXISTS journey_moves (
    id integer PRIMARY KEY, step varchar(40), step_entered_at timestamptz, steps_done integer,
    state varchar(10), next_run_at timestamptz, waiting_for varchar(64),
    finished_at timestamptz, exit_reason varchar(30)
) ON COMMIT DELETE ROWS
"""
MOVES = Table(
    "journey_moves",
    MetaData(),
    *(
        Column(name)
        for name in (
            "id",
            "step",
            "step_entered_at",
            "steps_done",
            "state",
            "next_run_at",
            "waiting_for",
            "finished_at",
            "exit_reason",
        )
    ),
)
APPLY_MOVES = """
UPDATE journey_enrollments AS e SET step = m.step, step_entered_at = m.step_entered_at,
    steps_done = m.steps_done, state = m.state, next_run_at = m.next_run_at,
    waiting_for = m.waiting_for, finished_at = m.finished_at, exit_reason = m.exit_reason
FROM journey_moves AS m WHERE e.id = m.id
"""
BATCH = 1000
# A step graph has at most MAX_STEPS steps and no cycle, so this bounds one claim's work.
MAX_ROUNDS = 64
DEFAULT_TIMEZONE = "Europe/Moscow"


@dataclass
class Item:
    """One claimed enrollment while the batch moves it."""

    id: int
    journey_id: int
    version_id: int
    contact_id: int
    group: Group
    step: str
    step_entered_at: datetime
    steps_done: int
    entered_at: datetime
    data: dict[str, Any]
    waiting_for: str | None
    state: EnrollmentState = EnrollmentState.ACTIVE
    next_run_at: datetime | None = None
    finished_at: datetime | None = None
    exit_reason: str | None = None
    moving: bool = True


@dataclass
class _Person:
    timezone: str | None
    birthday: date | None
    custom: dict[str, Any]
    owner_id: int | None
    gone: bool


@dataclass
class AdvanceReport:
    claimed: int = 0
    steps: int = 0
    messages: int = 0
    webhooks: int = 0
    finished: int = 0
    # Contacts whose tags or fields a step changed: their profiles and segments refresh.
    touched: list[int] = field(default_factory=list)


@dataclass
class _Batch:
    session: Session
    now: datetime
    journeys: dict[int, Journey]
    versions: dict[int, Steps]
    people: dict[int, _Person]
    default_timezone: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    tags: dict[tuple[str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    fields: list[tuple[int, str, Any]] = field(default_factory=list)
    # (contact, points, ledger key, reason) of `points` steps.
    points: list[tuple[int, int, str, str]] = field(default_factory=list)

    def advance(self, item: Item, to: str | None, outcome: str) -> None:
        """Record the step as run and move on; no next step ends the enrollment."""
        self.runs.append(
            {
                "enrollment_id": item.id,
                "seq": item.steps_done,
                "journey_id": item.journey_id,
                "step": item.step,
                "outcome": outcome,
                "ran_at": self.now,
            }
        )
        item.steps_done += 1
        item.waiting_for = None
        if to is None:
            self.finish(item, EnrollmentState.COMPLETED, None)
        else:
            item.step, item.step_entered_at = to, self.now

    def finish(self, item: Item, state: EnrollmentState, reason: str | None) -> None:
        item.state, item.finished_at, item.exit_reason = state, self.now, reason
        item.waiting_for, item.moving = None, False

    def hold(self, item: Item, until: datetime, waiting_for: str | None = None) -> None:
        item.next_run_at, item.waiting_for, item.moving = until, waiting_for, False


def version_steps(session: Session, version_id: int) -> Steps:
    version = session.get(JourneyVersion, version_id)
    assert version is not None  # a foreign key
    return Steps.model_validate(version.definition)


def _versions(session: Session, version_ids: set[int]) -> dict[int, Steps]:
    """Parsed once per batch: a handful of versions however many enrollments."""
    rows = session.execute(
        select(JourneyVersion.id, JourneyVersion.definition).where(
            JourneyVersion.id.in_(version_ids)
        )
    )
    return {version_id: Steps.model_validate(definition) for version_id, definition in rows}


def advance_due(
    session: Session, *, now: datetime, limit: int = BATCH, default_timezone: str = DEFAULT_TIMEZONE
) -> AdvanceReport:
    """Claim up to `limit` due enrollments of active journeys and move them; flushes, the
    caller commits (one batch, one transaction)."""
    items = _claim(session, now, limit)
    report = AdvanceReport(claimed=len(items))
    if not items:
        return report
    journeys = {
        j.id: j
        for j in session.scalars(
            select(Journey).where(Journey.id.in_({i.journey_id for i in items}))
        )
    }
    versions = _versions(session, {i.version_id for i in items})
    batch = _Batch(
        session=session,
        now=now,
        journeys=journeys,
        versions=versions,
        people=_people(
            session,
            {i.contact_id for i in items},
            dates=_waits_for_dates(versions.values()),
        ),
        default_timezone=default_timezone,
    )
    _check_exits(batch, items)
    for _ in range(MAX_ROUNDS):
        moving = [i for i in items if i.moving]
        if not moving:
            break
        groups: dict[tuple[int, str], list[Item]] = defaultdict(list)
        for item in moving:
            groups[(item.version_id, item.step)].append(item)
        for (version_id, key), group in groups.items():
            _run_step(batch, batch.versions[version_id].by_key()[key], group)
    for item in items:
        if item.moving:  # the round limit: continue in the next batch
            batch.hold(item, now)
    _write(batch, items)
    report.steps = len(batch.runs)
    report.messages = len(batch.messages)
    report.webhooks = len(batch.webhooks)
    report.finished = sum(1 for i in items if i.state != EnrollmentState.ACTIVE)
    report.touched = sorted(
        {c for ids in batch.tags.values() for c in ids} | {c for c, _k, _v in batch.fields}
    )
    return report


def _claim(session: Session, now: datetime, limit: int) -> list[Item]:
    e = Enrollment
    rows = session.execute(
        select(
            e.id,
            e.journey_id,
            e.version_id,
            e.contact_id,
            e.group,
            e.step,
            e.step_entered_at,
            e.steps_done,
            e.entered_at,
            e.data,
            e.waiting_for,
        )
        .join(Journey, Journey.id == e.journey_id)
        .where(
            e.state == EnrollmentState.ACTIVE,
            e.next_run_at <= now,
            Journey.status == JourneyStatus.ACTIVE,
        )
        .order_by(e.next_run_at, e.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=e)  # PostgreSQL; SQLite has a single writer
    ).all()
    return [Item(*row) for row in rows]


def _people(session: Session, contact_ids: set[int], *, dates: bool) -> dict[int, _Person]:
    """What the steps need of each contact; birthdays and custom fields (a JSON document
    each) only when a date wait needs them."""
    columns: list[Any] = [
        Contact.id,
        Contact.timezone,
        Contact.owner_id,
        Contact.deleted_at,
        Contact.merged_into_id,
    ]
    if dates:
        columns += [Contact.birthday, Contact.custom]
    rows = session.execute(select(*columns).where(Contact.id.in_(contact_ids)))
    return {
        row.id: _Person(
            timezone=row.timezone,
            birthday=row.birthday if dates else None,
            custom=(row.custom or {}) if dates else {},
            owner_id=row.owner_id,
            gone=row.deleted_at is not None or row.merged_into_id is not None,
        )
        for row in rows
    }


def _waits_for_dates(versions: Iterable[Steps]) -> bool:
    return any(
        isinstance(step, WaitStep) and step.mode == "date_attribute"
        for version in versions
        for step in version.steps
    )


def _check_exits(batch: _Batch, items: list[Item]) -> None:
    """Before any step: the contact gone, the goal reached, or marketing consent withdrawn
    since entry end the enrollment."""
    for item in items:
        person = batch.people.get(item.contact_id)
        if person is None or person.gone:
            batch.finish(item, EnrollmentState.EXITED, "contact_gone")
    live = [i for i in items if i.moving]
    by_journey: dict[int, list[Item]] = defaultdict(list)
    for item in live:
        by_journey[item.journey_id].append(item)
    for journey_id, group in by_journey.items():
        journey = batch.journeys[journey_id]
        if journey.goal:
            reached = _goal_reached(batch.session, Goal.model_validate(journey.goal), group)
            for item in group:
                if item.id in reached:
                    batch.finish(item, EnrollmentState.CONVERTED, "goal")
        if Policy.model_validate(journey.policy or {}).exit_on_unsubscribe:
            withdrawn = _withdrawn(batch.session, [i for i in group if i.moving])
            for item in group:
                if item.moving and item.id in withdrawn:
                    batch.finish(item, EnrollmentState.EXITED, "unsubscribed")


def _earliest(items: Iterable[Item]) -> datetime:
    return min(i.entered_at for i in items)


def _goal_reached(session: Session, goal: Goal, items: list[Item]) -> set[int]:
    """Enrollments whose contact ordered (or did the goal event) since entering."""
    contacts = {i.contact_id for i in items}
    if goal.kind == "order":
        query = select(Order.contact_id, func.max(Order.placed_at)).where(
            Order.contact_id.in_(contacts),
            Order.status != OrderStatus.CANCELLED,
            Order.placed_at >= _earliest(items),
        )
        last = dict(session.execute(query.group_by(Order.contact_id)).all())
    else:
        query = select(Event.contact_id, func.max(Event.occurred_at)).where(
            Event.contact_id.in_(contacts),
            Event.type == goal.event_type,
            Event.occurred_at >= _earliest(items),
        )
        last = dict(session.execute(query.group_by(Event.contact_id)).all())
    return {i.id for i in items if i.contact_id in last and last[i.contact_id] >= i.entered_at}


def _withdrawn(session: Session, items: list[Item]) -> set[int]:
    if not items:
        return set()
    rows = session.execute(
        select(ConsentState.contact_id, func.max(ConsentState.updated_at))
        .where(
            ConsentState.contact_id.in_({i.contact_id for i in items}),
            ConsentState.purpose == Purpose.MARKETING,
            ConsentState.granted.is_(False),
            ConsentState.updated_at >= _earliest(items),
        )
        .group_by(ConsentState.contact_id)
    )
    last = dict(rows.all())
    return {i.id for i in items if i.contact_id in last and last[i.contact_id] >= i.entered_at}


def _run_step(batch: _Batch, step: Any, items: list[Item]) -> None:
    match step:
        case SendStep():
            _send(batch, step, items)
        case WaitStep():
            _wait(batch, step, items)
        case WaitEventStep():
            _wait_event(batch, step, items)
        case ConditionStep():
            _condition(batch, step, items)
        case SplitStep():
            for item in items:
                chooser = random.Random(f"{item.id}:{step.key}")  # noqa: S311
                branch = chooser.choices(step.branches, [b.weight for b in step.branches])[0]
                batch.advance(item, branch.next, f"branch:{branch.label}")
        case AttributeStep():
            _attribute(batch, step, items)
        case PointsStep():
            _points(batch, step, items)
        case TaskStep():
            _task(batch, step, items)
        case WebhookStep():
            _webhook(batch, step, items)
        case ExitStep():
            for item in items:
                batch.advance(item, None, "exit")


def _policy(batch: _Batch, item: Item) -> Policy:
    return Policy.model_validate(batch.journeys[item.journey_id].policy or {})


def _send(batch: _Batch, step: SendStep, items: list[Item]) -> None:
    assert step.content_id is not None  # the service stores content before activation
    for item in items:
        if item.group == Group.HOLDOUT:
            batch.advance(item, step.next, "held_out")
            continue
        person = batch.people[item.contact_id]
        opens = timing.active_from(
            batch.now, _policy(batch, item).active_hours, person.timezone, batch.default_timezone
        )
        if opens > batch.now:
            batch.hold(item, opens)
            continue
        batch.messages.append(
            NewMessage(
                key=OutboxKey(SOURCE, item.journey_id, step.key, item.contact_id, str(item.id)),
                account_id=step.account_id,
                content_id=step.content_id,
                purpose=step.purpose,
                channel=step.channel,
                variables={"trigger": item.data} if item.data else {},
                topic_id=step.topic_id,
            )
        )
        batch.advance(item, step.next, "queued")


def _wait(batch: _Batch, step: WaitStep, items: list[Item]) -> None:
    for item in items:
        person = batch.people[item.contact_id]
        ends = timing.wait_ends(
            step,
            item.step_entered_at,
            timezone=person.timezone,
            default_timezone=batch.default_timezone,
            birthday=person.birthday,
            custom=person.custom,
        )
        if ends is None:
            batch.advance(item, step.next, "no_date")
        elif ends <= batch.now:
            batch.advance(item, step.next, "waited")
        else:
            batch.hold(item, ends)


def _wait_event(batch: _Batch, step: WaitEventStep, items: list[Item]) -> None:
    dialect = batch.session.get_bind().dialect.name
    query = select(Event.contact_id, func.max(Event.occurred_at)).where(
        Event.contact_id.in_({i.contact_id for i in items}),
        Event.type == step.event_type,
        Event.occurred_at >= min(i.step_entered_at for i in items),
        *(property_clause(Event.properties, p, dialect) for p in step.properties),
    )
    last = dict(batch.session.execute(query.group_by(Event.contact_id)).all())
    timeout = timedelta(seconds=step.timeout.seconds)
    for item in items:
        seen = last.get(item.contact_id)
        if seen is not None and seen >= item.step_entered_at:
            batch.advance(item, step.next, "event")
        elif batch.now >= item.step_entered_at + timeout:
            batch.advance(item, step.timeout_next, "timeout")
        else:
            batch.hold(item, item.step_entered_at + timeout, waiting_for=step.event_type)


def _condition(batch: _Batch, step: ConditionStep, items: list[Item]) -> None:
    session = batch.session
    rule = compiled(session, checked_rule(session, step.rule), now=batch.now)
    contacts = {i.contact_id for i in items}
    matching = set(session.scalars(rule.ids().where(Contact.id.in_(contacts))))
    for item in items:
        yes = item.contact_id in matching
        batch.advance(item, step.yes if yes else step.no, "yes" if yes else "no")


def _attribute(batch: _Batch, step: AttributeStep, items: list[Item]) -> None:
    """Bookkeeping, applied to the holdout too, so later conditions treat both groups alike."""
    for item in items:
        if step.action == "set_field":
            batch.fields.append((item.contact_id, step.field, step.value))
        else:
            batch.tags[(step.action, step.tag)].append(item.contact_id)
        batch.advance(item, step.next, step.action)


def _points(batch: _Batch, step: PointsStep, items: list[Item]) -> None:
    """A treatment like a message: the holdout gets none."""
    name = batch.journeys[items[0].journey_id].name
    for item in items:
        if item.group == Group.HOLDOUT:
            batch.advance(item, step.next, "held_out")
            continue
        key = f"journey:{item.id}:{step.key}"
        batch.points.append((item.contact_id, step.points, key, step.reason or name))
        batch.advance(item, step.next, "given" if step.points > 0 else "taken")


def _task(batch: _Batch, step: TaskStep, items: list[Item]) -> None:
    due = batch.now + timedelta(seconds=step.due_in.seconds) if step.due_in else None
    for item in items:
        if item.group == Group.HOLDOUT:
            batch.advance(item, step.next, "held_out")
            continue
        batch.activities.append(
            {
                "kind": ActivityKind.REMINDER,
                "title": step.title,
                "body": step.body,
                "contact_id": item.contact_id,
                "owner_id": batch.people[item.contact_id].owner_id,
                "due_at": due,
                "origin": f"journey:{item.journey_id}",
                "created_at": batch.now,
            }
        )
        batch.advance(item, step.next, "created")


def _webhook(batch: _Batch, step: WebhookStep, items: list[Item]) -> None:
    for item in items:
        if item.group == Group.HOLDOUT:
            batch.advance(item, step.next, "held_out")
            continue
        batch.webhooks.append(
            {
                "enrollment_id": item.id,
                "step": step.key,
                "url": step.url,
                "payload": {
                    "journey_id": item.journey_id,
                    "enrollment_id": item.id,
                    "step": step.key,
                    "contact_id": item.contact_id,
                    "trigger": item.data,
                },
                "state": "queued",
                "attempts": 0,
                "next_attempt_at": batch.now,
            }
        )
        batch.advance(item, step.next, "queued")


def _write(batch: _Batch, items: list[Item]) -> None:
    session = batch.session
    if batch.runs:
        # A run already recorded means another worker moved this enrollment: the insert fails
        # and the whole batch rolls back rather than doing a step twice.
        insert_rows(session, STEP_RUNS, batch.runs)
    enqueue_many(session, batch.messages, now=batch.now)
    if batch.activities:
        session.execute(insert(Activity), batch.activities)
    if batch.webhooks:
        session.execute(
            insert_ignoring(session, cast(Table, WebhookCall.__table__)), batch.webhooks
        )
    for (action, tag), contact_ids in batch.tags.items():
        (add_tag if action == "add_tag" else remove_tag)(session, contact_ids, tag)
    _set_fields(session, batch.fields)
    for contact_id, points, key, reason in batch.points:
        adjust(session, contact_id, points, reason=reason, actor_id=None, now=batch.now, key=key)
    _move(session, [_position(i, batch.now) for i in items])
    session.flush()


def _position(item: Item, now: datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "step": item.step,
        "step_entered_at": item.step_entered_at,
        "steps_done": item.steps_done,
        "state": item.state,
        "next_run_at": item.next_run_at or now,
        "waiting_for": item.waiting_for,
        "finished_at": item.finished_at,
        "exit_reason": item.exit_reason,
    }


def _move(session: Session, positions: list[dict[str, Any]]) -> None:
    """The enrollments' new positions: on PostgreSQL copied into a scratch table and applied
    by one UPDATE … FROM (one statement per row cost more than the steps themselves)."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(update(Enrollment), positions)
        return
    connection = session.connection()
    connection.exec_driver_sql(MOVES_TABLE)
    insert_rows(session, MOVES, positions)
    connection.exec_driver_sql(APPLY_MOVES)


def _set_fields(session: Session, changes: list[tuple[int, str, Any]]) -> None:
    by_contact: dict[int, dict[str, Any]] = defaultdict(dict)
    for contact_id, key, value in changes:
        by_contact[contact_id][key] = value
    for contact in session.scalars(select(Contact).where(Contact.id.in_(by_contact))):
        contact.custom = {**(contact.custom or {}), **by_contact[contact.id]}


def wake(session: Session, contact_ids: Iterable[int], event_type: str, *, now: datetime) -> None:
    """An event arrived: enrollments waiting for it run now instead of at their timeout."""
    ids = sorted(set(contact_ids))
    if ids:
        session.execute(
            update(Enrollment)
            .where(
                and_(
                    Enrollment.state == EnrollmentState.ACTIVE,
                    Enrollment.waiting_for == event_type,
                    Enrollment.contact_id.in_(ids),
                )
            )
            .values(next_run_at=now)
        )
