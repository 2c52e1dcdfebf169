"""Reads of the journeys domain: the list, per-step counts, enrollments and the report.

The report compares the treated group with the holdout by intention to treat (ADR 0013): each
enrollment's orders in the attribution window after it entered count, whatever the journey
sent or the contact did with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from retentio.campaigns.stats import GroupOutcome, Incremental, incremental
from retentio.commerce.models import Order, OrderStatus
from retentio.journeys.definition import Goal, Steps
from retentio.journeys.engine import SOURCE
from retentio.journeys.models import (
    Enrollment,
    EnrollmentState,
    Group,
    Journey,
    JourneyStatus,
    JourneyVersion,
    StepRun,
)
from retentio.messaging.models import Message, MessageState


def journeys(session: Session, *, include_archived: bool = False) -> Sequence[Journey]:
    query = select(Journey).order_by(Journey.id.desc())
    if not include_archived:
        query = query.where(Journey.status != JourneyStatus.ARCHIVED)
    return session.scalars(query).all()


def version_numbers(session: Session, journey_id: int) -> dict[int, int]:
    rows = session.execute(
        select(JourneyVersion.id, JourneyVersion.number).where(
            JourneyVersion.journey_id == journey_id
        )
    )
    return dict(rows.all())


def steps_of(session: Session, journey: Journey) -> Steps:
    version = session.get(JourneyVersion, journey.version_id)
    return Steps.model_validate(version.definition if version else {"steps": []})


@dataclass(frozen=True)
class StepFigures:
    waiting: int
    passed: int
    exited: int


@dataclass(frozen=True)
class Stats:
    states: dict[EnrollmentState, int]
    steps: dict[str, StepFigures]

    @property
    def enrolled(self) -> int:
        return sum(self.states.values())


def stats(session: Session, journey_id: int) -> Stats:
    """Per step, over every version: waiting there now, executed it, ended there."""
    e = Enrollment
    rows = session.execute(
        select(e.state, e.step, func.count())
        .where(e.journey_id == journey_id)
        .group_by(e.state, e.step)
    ).all()
    states: dict[EnrollmentState, int] = defaultdict(int)
    waiting: dict[str, int] = defaultdict(int)
    exited: dict[str, int] = defaultdict(int)
    for state, step, count in rows:
        states[EnrollmentState(state)] += count
        if state == EnrollmentState.ACTIVE:
            waiting[step] += count
        else:
            exited[step] += count
    passed = dict(
        session.execute(
            select(StepRun.step, func.count())
            .where(StepRun.journey_id == journey_id)
            .group_by(StepRun.step)
        ).all()
    )
    keys = set(waiting) | set(passed) | set(exited)
    return Stats(
        states=dict(states),
        steps={k: StepFigures(waiting[k], passed.get(k, 0), exited[k]) for k in keys},
    )


def enrollments(
    session: Session,
    journey_id: int,
    *,
    state: EnrollmentState | None = None,
    step: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, Sequence[Enrollment]]:
    conditions = [Enrollment.journey_id == journey_id]
    if state is not None:
        conditions.append(Enrollment.state == state)
    if step is not None:
        conditions.append(Enrollment.step == step)
    total = session.scalar(select(func.count()).where(*conditions)) or 0
    rows = session.scalars(
        select(Enrollment)
        .where(*conditions)
        .order_by(Enrollment.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return int(total), rows


def contact_enrollments(session: Session, contact_id: int) -> Sequence[tuple[Enrollment, str]]:
    """The contact card's block: each enrollment with its journey's name, latest first."""
    rows = session.execute(
        select(Enrollment, Journey.name)
        .join(Journey, Journey.id == Enrollment.journey_id)
        .where(Enrollment.contact_id == contact_id)
        .order_by(Enrollment.id.desc())
        .limit(50)
    )
    return [(e, name) for e, name in rows]


@dataclass(frozen=True)
class Report:
    attribution_days: int
    groups: dict[Group, GroupOutcome]
    incremental: Incremental | None
    messages_by_step: dict[str, dict[str, int]]


def report(session: Session, journey: Journey, *, now: datetime) -> Report:
    goal = Goal.model_validate(journey.goal) if journey.goal else Goal()
    groups = _outcomes(session, journey.id, timedelta(days=goal.attribution_days), now)
    treated, holdout = groups.get(Group.TREATED), groups.get(Group.HOLDOUT)
    return Report(
        attribution_days=goal.attribution_days,
        groups=groups,
        incremental=incremental(treated, holdout) if treated and holdout else None,
        messages_by_step=_messages(session, journey.id),
    )


def _outcomes(
    session: Session, journey_id: int, window: timedelta, now: datetime
) -> dict[Group, GroupOutcome]:
    """Per enrollment, the revenue of orders placed in [entered, entered + window); a
    cancelled order is no conversion, a refund lowers the revenue."""
    e = Enrollment
    rows = session.execute(select(e.id, e.group).where(e.journey_id == journey_id)).all()
    spent = _spent(session, journey_id, window, now)
    sizes: dict[Group, list[float]] = defaultdict(list)
    for enrollment_id, group in rows:
        sizes[Group(group)].append(spent.get(enrollment_id, -1.0))
    return {
        group: GroupOutcome(
            size=len(values),
            converted=sum(1 for v in values if v >= 0),
            revenue=sum(max(v, 0.0) for v in values),
            revenue_squares=sum(max(v, 0.0) ** 2 for v in values),
        )
        for group, values in sizes.items()
    }


def _spent(session: Session, journey_id: int, window: timedelta, now: datetime) -> dict[int, float]:
    """Enrollment id → revenue in its window, for enrollments that bought at all."""
    e = Enrollment
    revenue = cast(Order.total, Float) - cast(Order.refunded_total, Float)
    rows = session.execute(
        select(e.id, e.entered_at, Order.placed_at, revenue)
        .join(Order, Order.contact_id == e.contact_id)
        .where(
            e.journey_id == journey_id,
            Order.status != OrderStatus.CANCELLED,
            Order.placed_at >= e.entered_at,
            Order.placed_at < now,
        )
    ).all()
    spent: dict[int, float] = defaultdict(float)
    for enrollment_id, entered, placed, amount in rows:
        if placed < entered + window:
            spent[enrollment_id] += float(amount or 0.0)
    return dict(spent)


def _messages(session: Session, journey_id: int) -> dict[str, dict[str, int]]:
    rows = session.execute(
        select(Message.step, Message.state, func.count())
        .where(Message.source_kind == SOURCE, Message.source_id == journey_id)
        .group_by(Message.step, Message.state)
    ).all()
    found: dict[str, dict[str, int]] = defaultdict(dict)
    for step, state, count in rows:
        found[step][MessageState(state).value] = count
    return dict(found)
