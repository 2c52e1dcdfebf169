"""JSON API of journeys under `/api/v1/journeys`: CRUD, ready-made scenarios, activate,
pause, resume, archive, the API trigger, enrollments, per-step counts and the report.

Marketers and admins act (the marketing permission); every role may read. Changes that the
worker should see at once (activation, an API enrollment) enqueue a pass after the commit.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, status

from retentio.audit import service as audit
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.campaigns.stats import GroupOutcome, Interval
from retentio.db import utcnow
from retentio.journeys import queries, scenarios, service, tasks
from retentio.journeys.models import Enrollment, EnrollmentState, Group, Journey
from retentio.journeys.schemas import (
    EnrollIn,
    EnrollmentRead,
    EnrollResult,
    FromTemplate,
    GroupOutcomeRead,
    IntervalRead,
    JourneyIn,
    JourneyRead,
    JourneyReport,
    JourneyStats,
    StepCounts,
    TemplateRead,
)
from retentio.web.deps import SessionDep
from retentio.web.i18n import current_locale, gettext

router = APIRouter(prefix="/journeys", tags=["journeys"])
Writer = Annotated[User, Depends(require(Permission.MARKETING))]
Reader = Annotated[User, Depends(require(Permission.VIEW))]


def read(session: SessionDep, journey: Journey) -> JourneyRead:
    steps = queries.steps_of(session, journey)
    numbers = queries.version_numbers(session, journey.id)
    return JourneyRead(
        id=journey.id,
        name=journey.name,
        description=journey.description,
        template=journey.template,
        status=journey.status,
        trigger=journey.trigger,
        goal=journey.goal,
        policy=journey.policy,
        version=numbers.get(journey.version_id or 0, 1),
        steps=[s.model_dump(mode="json") for s in steps.steps],
        created_at=journey.created_at,
        activated_at=journey.activated_at,
    )


def _changed(background: BackgroundTasks) -> None:
    tasks.forget_listened()
    background.add_task(tasks.advance_journeys)


@router.get("", response_model=list[JourneyRead])
def list_journeys(session: SessionDep, _user: Reader) -> list[JourneyRead]:
    return [read(session, j) for j in queries.journeys(session)]


@router.get("/templates", response_model=list[TemplateRead])
def list_templates(_user: Reader) -> list[TemplateRead]:
    return [
        TemplateRead(key=s.key, name=gettext(s.name), description=gettext(s.description))
        for s in scenarios.SCENARIOS.values()
    ]


@router.post("", response_model=JourneyRead, status_code=status.HTTP_201_CREATED)
def create_journey(body: JourneyIn, session: SessionDep, user: Writer) -> JourneyRead:
    return read(session, service.create_journey(session, body, user=user, now=utcnow()))


@router.post("/from-template", response_model=JourneyRead, status_code=status.HTTP_201_CREATED)
def create_from_template(body: FromTemplate, session: SessionDep, user: Writer) -> JourneyRead:
    journey = scenarios.create_from_scenario(
        session,
        body.template,
        account_id=body.account_id,
        language=current_locale.get(),
        user=user,
        now=utcnow(),
    )
    return read(session, journey)


@router.get("/{journey_id}", response_model=JourneyRead)
def get_journey(journey_id: int, session: SessionDep, _user: Reader) -> JourneyRead:
    return read(session, service.get(session, journey_id))


@router.put("/{journey_id}", response_model=JourneyRead)
def update_journey(
    journey_id: int,
    body: JourneyIn,
    session: SessionDep,
    _user: Writer,
    background: BackgroundTasks,
) -> JourneyRead:
    journey = service.update_journey(session, journey_id, body, now=utcnow())
    _changed(background)
    return read(session, journey)


@router.post("/{journey_id}/enroll", response_model=EnrollResult)
def enroll(
    journey_id: int, body: EnrollIn, session: SessionDep, _user: Writer, background: BackgroundTasks
) -> EnrollResult:
    """The API trigger; the same `key` twice is one enrollment."""
    found = service.enroll_contact(
        session, journey_id, body.contact_id, key=body.key, data=body.data, now=utcnow()
    )
    background.add_task(tasks.advance_journeys)
    numbers = queries.version_numbers(session, journey_id)
    return EnrollResult(
        enrolled=found is not None, enrollment=_enrollment(found, numbers) if found else None
    )


class Action(StrEnum):
    ACTIVATE = "activate"
    PAUSE = "pause"
    RESUME = "resume"
    ARCHIVE = "archive"


MOVES = {
    Action.ACTIVATE: service.activate,
    Action.PAUSE: service.pause,
    Action.RESUME: service.resume,
    Action.ARCHIVE: service.archive,
}


@router.post("/{journey_id}/{action}", response_model=JourneyRead)
def act(
    journey_id: int,
    action: Action,
    session: SessionDep,
    _user: Writer,
    background: BackgroundTasks,
) -> JourneyRead:
    """Activate (checks the journey first), pause (enrollments freeze), resume, archive
    (running enrollments exit)."""
    journey = MOVES[action](session, journey_id, now=utcnow())
    audit.record(session, entity="journey", entity_id=journey_id, action=action, actor_id=_user.id)
    _changed(background)
    return read(session, journey)


def _enrollment(e: Enrollment, numbers: dict[int, int]) -> EnrollmentRead:
    return EnrollmentRead(
        id=e.id,
        contact_id=e.contact_id,
        group=e.group,
        state=e.state,
        step=e.step,
        entered_at=e.entered_at,
        next_run_at=e.next_run_at,
        finished_at=e.finished_at,
        exit_reason=e.exit_reason,
        version=numbers.get(e.version_id, 1),
    )


@router.get("/{journey_id}/enrollments", response_model=list[EnrollmentRead])
def list_enrollments(
    journey_id: int,
    session: SessionDep,
    _user: Reader,
    state: EnrollmentState | None = None,
    step: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[EnrollmentRead]:
    service.get(session, journey_id)
    numbers = queries.version_numbers(session, journey_id)
    _total, rows = queries.enrollments(
        session, journey_id, state=state, step=step, offset=offset, limit=limit
    )
    return [_enrollment(e, numbers) for e in rows]


@router.get("/{journey_id}/stats", response_model=JourneyStats)
def journey_stats(journey_id: int, session: SessionDep, _user: Reader) -> JourneyStats:
    journey = service.get(session, journey_id)
    found = queries.stats(session, journey_id)
    order = [s.key for s in queries.steps_of(session, journey).steps]
    keys = order + sorted(k for k in found.steps if k not in order)
    return JourneyStats(
        enrolled=found.enrolled,
        active=found.states.get(EnrollmentState.ACTIVE, 0),
        converted=found.states.get(EnrollmentState.CONVERTED, 0),
        completed=found.states.get(EnrollmentState.COMPLETED, 0),
        exited=found.states.get(EnrollmentState.EXITED, 0),
        steps=[
            StepCounts(step=k, waiting=f.waiting, passed=f.passed, exited=f.exited)
            for k in keys
            if (f := found.steps.get(k, queries.StepFigures(0, 0, 0)))
        ],
    )


def _group(outcome: GroupOutcome | None) -> GroupOutcomeRead | None:
    if outcome is None:
        return None
    return GroupOutcomeRead(
        size=outcome.size, converted=outcome.converted, rate=outcome.rate, revenue=outcome.revenue
    )


def _interval(value: Interval | None) -> IntervalRead | None:
    return IntervalRead(estimate=value.estimate, low=value.low, high=value.high) if value else None


@router.get("/{journey_id}/report", response_model=JourneyReport)
def journey_report(journey_id: int, session: SessionDep, _user: Reader) -> JourneyReport:
    journey = service.get(session, journey_id)
    found = queries.report(session, journey, now=utcnow())
    effect = found.incremental
    return JourneyReport(
        attribution_days=found.attribution_days,
        treated=_group(found.groups.get(Group.TREATED)),
        holdout=_group(found.groups.get(Group.HOLDOUT)),
        incremental_conversions=_interval(effect.conversions if effect else None),
        incremental_revenue=_interval(effect.revenue if effect else None),
        messages_by_step=found.messages_by_step,
    )
