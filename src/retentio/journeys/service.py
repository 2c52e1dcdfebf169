"""Writes of the journeys domain: create and edit journeys (a live one gets a new version),
activate, pause, resume and archive them, and enroll a contact through the API trigger.

Services flush, never commit. Everything a journey refers to is checked when it is saved, so
the engine never meets an unknown account, segment, field or step.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.consent.models import Channel
from retentio.contacts.models import Contact
from retentio.errors import Conflict, InvalidInput, NotFound
from retentio.fields.models import FieldEntity
from retentio.fields.service import clean_values
from retentio.journeys.definition import (
    AttributeStep,
    ConditionStep,
    DateTrigger,
    Goal,
    InvalidJourney,
    Policy,
    ScheduleTrigger,
    SegmentTrigger,
    SendStep,
    Steps,
    Trigger,
    WebhookStep,
    check_steps,
)
from retentio.journeys.models import (
    Enrollment,
    EnrollmentState,
    Journey,
    JourneyStatus,
    JourneyVersion,
)
from retentio.journeys.schemas import JourneyIn
from retentio.journeys.triggers import Candidate, enroll, starting_cursor
from retentio.kit import cron
from retentio.kit.safe_urls import UnsafeTarget, check_outbound
from retentio.messaging.models import SendingAccount
from retentio.messaging.service import KIND_CHANNELS, create_content
from retentio.segments.models import Segment
from retentio.segments.queries import checked_rule
from retentio.segments.rules import InvalidRule
from retentio.worker import task_settings

TRIGGER = TypeAdapter(Trigger)


class NotEditable(Conflict):
    code = "journey_not_editable"


class NotActive(Conflict):
    code = "journey_not_active"


def get(session: Session, journey_id: int, *, lock: bool = False) -> Journey:
    query = select(Journey).where(Journey.id == journey_id)
    journey = session.scalars(query.with_for_update() if lock else query).first()
    if journey is None:
        raise NotFound(f"Journey {journey_id} does not exist.")
    return journey


def current_version(session: Session, journey: Journey) -> JourneyVersion:
    version = session.get(JourneyVersion, journey.version_id)
    assert version is not None  # every journey is created with one
    return version


def _invalid(error: ValidationError, prefix: str) -> InvalidJourney:
    first = error.errors()[0]
    path = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    return InvalidJourney(f"{path}: {first['msg']}.", details={"field": path})


def _parsed(adapter: Any, raw: Any, prefix: str) -> Any:
    try:
        if isinstance(adapter, type) and issubclass(adapter, BaseModel):
            return adapter.model_validate(raw)
        return adapter.validate_python(raw)
    except ValidationError as error:
        raise _invalid(error, prefix) from error


def _checked(session: Session, data: JourneyIn) -> tuple[Any, Goal | None, Policy, Steps]:
    trigger = _parsed(TRIGGER, data.trigger, "trigger")
    goal = _parsed(Goal, data.goal, "goal") if data.goal is not None else None
    policy = _parsed(Policy, data.policy, "policy")
    steps = _parsed(Steps, {"steps": data.steps}, "")
    check_steps(steps)
    _check_trigger(session, trigger)
    for position, step in enumerate(steps.steps):
        _check_step(session, step, f"steps.{position}")
    return trigger, goal, policy, steps


def _check_trigger(session: Session, trigger: Any) -> None:
    if isinstance(trigger, SegmentTrigger | ScheduleTrigger):
        segment = session.get(Segment, trigger.segment_id)
        if segment is None or segment.archived_at is not None:
            raise InvalidJourney(
                f"trigger.segment_id: segment {trigger.segment_id} does not exist.",
                details={"field": "trigger.segment_id"},
            )
    if isinstance(trigger, ScheduleTrigger):
        try:
            cron.next_after(cron.parse(trigger.cron), datetime.now().astimezone())
        except cron.CronError as error:
            raise InvalidJourney(
                f"trigger.cron: {error}", details={"field": "trigger.cron"}
            ) from error
    if isinstance(trigger, DateTrigger) and trigger.attribute.startswith("custom."):
        _check_field(session, trigger.attribute.removeprefix("custom."), None, "trigger.attribute")


def _check_step(session: Session, step: Any, path: str) -> None:
    if isinstance(step, SendStep):
        _check_account(session, step, path)
    elif isinstance(step, ConditionStep):
        try:
            checked_rule(session, step.rule)
        except InvalidRule as error:
            field = (
                str((error.details or {}).get("field", "rule"))
                if isinstance(error.details, dict)
                else "rule"
            )
            raise InvalidJourney(
                f"{path}.{error.message}", details={"field": f"{path}.{field}"}
            ) from error
    elif isinstance(step, WebhookStep):
        try:
            check_outbound(step.url, allow_private=task_settings().allow_private_targets)
        except UnsafeTarget as error:
            field = f"{path}.url"
            raise InvalidJourney(f"{field}: {error.message}", details={"field": field}) from error
    elif isinstance(step, AttributeStep):
        if step.action == "set_field":
            _check_field(session, step.field, step.value, f"{path}.field")
        elif not step.tag.strip():
            raise InvalidJourney(
                f"{path}.tag: give the tag's name.", details={"field": f"{path}.tag"}
            )


def _check_field(session: Session, key: str, value: Any, path: str) -> None:
    try:
        clean_values(session, FieldEntity.CONTACT, {key: value})
    except InvalidInput as error:
        raise InvalidJourney(f"{path}: {error.message}", details={"field": path}) from error


def _check_account(session: Session, step: SendStep, path: str) -> None:
    account = session.get(SendingAccount, step.account_id)
    if account is None or account.archived_at is not None:
        raise InvalidJourney(
            f"{path}.account_id: sending account {step.account_id} does not exist.",
            details={"field": f"{path}.account_id"},
        )
    if step.channel != account.channel or step.channel not in KIND_CHANNELS[account.kind]:
        raise InvalidJourney(
            f"{path}.channel: account {account.name!r} does not send {step.channel.value}.",
            details={"field": f"{path}.channel"},
        )
    if step.channel == Channel.EMAIL and not step.subject.strip():
        raise InvalidJourney(
            f"{path}.subject: an e-mail needs a subject.", details={"field": f"{path}.subject"}
        )
    if not (step.html.strip() or step.text.strip()):
        raise InvalidJourney(
            f"{path}.text: the message is empty.", details={"field": f"{path}.text"}
        )


def _definition(session: Session, steps: Steps) -> dict[str, Any]:
    """Steps as stored: each send step's content saved (and checked) as a message content."""
    for position, step in enumerate(steps.steps):
        if isinstance(step, SendStep):
            try:
                content = create_content(
                    session,
                    subject=step.subject,
                    html=step.html,
                    text=step.text,
                    preheader=step.preheader,
                )
            except InvalidInput as error:
                path = f"steps.{position}.html"
                raise InvalidJourney(f"{path}: {error.message}", details={"field": path}) from error
            step.content_id = content.id
    return steps.model_dump(mode="json")


def create_journey(
    session: Session,
    data: JourneyIn,
    *,
    user: User | None,
    now: datetime,
    template: str | None = None,
) -> Journey:
    trigger, goal, policy, steps = _checked(session, data)
    journey = Journey(
        name=data.name.strip(),
        description=data.description.strip(),
        template=template,
        status=JourneyStatus.DRAFT,
        trigger=trigger.model_dump(mode="json"),
        goal=goal.model_dump(mode="json") if goal else None,
        policy=policy.model_dump(mode="json"),
        created_by_id=user.id if user else None,
        created_at=now,
        updated_at=now,
    )
    session.add(journey)
    session.flush()
    version = JourneyVersion(
        journey_id=journey.id, number=1, definition=_definition(session, steps), created_at=now
    )
    session.add(version)
    session.flush()
    journey.version_id = version.id
    session.flush()
    return journey


def update_journey(session: Session, journey_id: int, data: JourneyIn, *, now: datetime) -> Journey:
    """A draft is rewritten in place; once anyone has entered, changed steps become a new
    version and running enrollments finish on the one they started."""
    journey = get(session, journey_id, lock=True)
    if journey.status == JourneyStatus.ARCHIVED:
        raise NotEditable("An archived journey cannot be edited.")
    trigger, goal, policy, steps = _checked(session, data)
    definition = _definition(session, steps)
    version = current_version(session, journey)
    entered = session.scalar(select(func.count()).where(Enrollment.version_id == version.id))
    if _without_contents(definition) != _without_contents(version.definition):
        if entered:
            version = JourneyVersion(
                journey_id=journey.id,
                number=version.number + 1,
                definition=definition,
                created_at=now,
            )
            session.add(version)
            session.flush()
            journey.version_id = version.id
        else:
            version.definition = definition
    new_trigger = trigger.model_dump(mode="json")
    if journey.status != JourneyStatus.DRAFT and new_trigger != journey.trigger:
        journey.cursor = starting_cursor(session, trigger)
        journey.next_check_at = None
    journey.name, journey.description = data.name.strip(), data.description.strip()
    journey.trigger = new_trigger
    journey.goal = goal.model_dump(mode="json") if goal else None
    journey.policy = policy.model_dump(mode="json")
    journey.updated_at = now
    session.flush()
    return journey


def _without_contents(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """Steps compared without their content ids, which every save creates anew."""
    return [{k: v for k, v in s.items() if k != "content_id"} for s in definition.get("steps", [])]


def activate(session: Session, journey_id: int, *, now: datetime) -> Journey:
    journey = get(session, journey_id, lock=True)
    if journey.status == JourneyStatus.ACTIVE:
        return journey
    if journey.status == JourneyStatus.ARCHIVED:
        raise NotEditable("An archived journey cannot be activated.")
    steps = Steps.model_validate(current_version(session, journey).definition)
    if not steps.steps:
        raise InvalidJourney(
            "steps: add at least one step before activating.", details={"field": "steps"}
        )
    data = JourneyIn(
        name=journey.name,
        trigger=journey.trigger,
        goal=journey.goal,
        policy=journey.policy,
        steps=[s.model_dump(mode="json") for s in steps.steps],
    )
    _checked(session, data)  # accounts or segments may have been archived since it was saved
    if journey.status == JourneyStatus.DRAFT or journey.activated_at is None:
        journey.activated_at = now
    journey.cursor = starting_cursor(session, TRIGGER.validate_python(journey.trigger))
    journey.next_check_at = None
    journey.status, journey.paused_at = JourneyStatus.ACTIVE, None
    session.flush()
    return journey


def pause(session: Session, journey_id: int, *, now: datetime) -> Journey:
    """Enrollments freeze where they are; triggers are not read until it resumes."""
    journey = get(session, journey_id, lock=True)
    if journey.status != JourneyStatus.ACTIVE:
        raise NotActive("Only an active journey can be paused.")
    journey.status, journey.paused_at = JourneyStatus.PAUSED, now
    session.flush()
    return journey


def resume(session: Session, journey_id: int, *, now: datetime) -> Journey:
    """Frozen enrollments move on (late waits run at once); what happened while paused does
    not trigger — a week-old cart does not deserve a "you forgot something" today."""
    journey = get(session, journey_id, lock=True)
    if journey.status != JourneyStatus.PAUSED:
        raise NotActive("Only a paused journey can be resumed.")
    return activate(session, journey_id, now=now)


def archive(session: Session, journey_id: int, *, now: datetime) -> Journey:
    journey = get(session, journey_id, lock=True)
    journey.status = JourneyStatus.ARCHIVED
    session.execute(
        update(Enrollment)
        .where(Enrollment.journey_id == journey_id, Enrollment.state == EnrollmentState.ACTIVE)
        .values(state=EnrollmentState.EXITED, finished_at=now, exit_reason="journey_archived")
    )
    session.flush()
    return journey


def enroll_contact(
    session: Session,
    journey_id: int,
    contact_id: int,
    *,
    key: str | None,
    data: dict[str, Any],
    now: datetime,
) -> Enrollment | None:
    """The API trigger. The same key twice is one enrollment; None when the policies keep the
    contact out (already inside, re-entry, the cap)."""
    journey = get(session, journey_id, lock=True)
    if journey.status != JourneyStatus.ACTIVE:
        raise NotActive("The journey is not active.")
    if session.get(Contact, contact_id) is None:
        raise NotFound(f"Contact {contact_id} does not exist.")
    occurrence = f"k{key}" if key else f"a{now:%Y%m%d%H%M%S%f}"
    enroll(session, journey, [Candidate(contact_id, occurrence, data)], now=now)
    session.flush()
    return session.scalars(
        select(Enrollment).where(
            Enrollment.journey_id == journey_id,
            Enrollment.contact_id == contact_id,
            Enrollment.occurrence == occurrence,
        )
    ).first()
