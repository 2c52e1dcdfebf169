"""What a journey is made of, as pydantic models stored as JSON: the trigger, the goal, the
policies and the steps (a graph: each step names the step that follows it, branching steps
name one per branch).

`check_steps` refuses a graph the engine could not run: unknown or duplicate keys, a branch
to nowhere, a cycle, a step nobody reaches. Errors name the path of the bad node
(`steps.2.next`), as the segment builder does.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from retentio.consent.models import Channel, Purpose
from retentio.errors import InvalidInput
from retentio.segments.rules import PropertyFilter

STEP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_STEPS = 60
UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400}


class InvalidJourney(InvalidInput):
    code = "invalid_journey"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _clock(value: str) -> str:
    try:
        time.fromisoformat(value)
    except ValueError as error:
        raise ValueError("a local time as HH:MM") from error
    return value[:5]


class Duration(_Model):
    amount: float = Field(gt=0, le=3650)
    unit: Literal["minutes", "hours", "days"] = "hours"

    @property
    def seconds(self) -> float:
        return self.amount * UNIT_SECONDS[self.unit]


# Triggers ---------------------------------------------------------------------------------


class EventTrigger(_Model):
    kind: Literal["event"]
    event_type: str = Field(min_length=1, max_length=64)
    properties: list[PropertyFilter] = []


class SegmentTrigger(_Model):
    kind: Literal["segment_entered", "segment_left"]
    segment_id: int


class DateTrigger(_Model):
    """`birthday` (its anniversary each year) or `custom.<key>` (a date field, once)."""

    kind: Literal["date_attribute"]
    attribute: str = Field(pattern=r"^(birthday|custom\.[a-z][a-z0-9_]{0,59})$")
    offset_days: int = Field(0, ge=-366, le=3650)
    at: str = "10:00"

    _at = field_validator("at")(_clock)


class InactivityTrigger(_Model):
    """No order for `days`, or the probability of being alive fell below `p_alive_below`."""

    kind: Literal["inactivity"]
    days: int | None = Field(None, ge=1, le=3650)
    p_alive_below: float | None = Field(None, gt=0, lt=1)

    @model_validator(mode="after")
    def _one(self) -> InactivityTrigger:
        if (self.days is None) == (self.p_alive_below is None):
            raise ValueError("give either days or p_alive_below")
        return self


class ScheduleTrigger(_Model):
    """Every member of a segment, each time the cron expression fires (shop time zone)."""

    kind: Literal["schedule"]
    cron: str
    segment_id: int


class ApiTrigger(_Model):
    kind: Literal["api"]


Trigger = Annotated[
    EventTrigger | SegmentTrigger | DateTrigger | InactivityTrigger | ScheduleTrigger | ApiTrigger,
    Field(discriminator="kind"),
]


class Goal(_Model):
    """Reaching it ends the enrollment as a conversion: any order, or an event of a type."""

    kind: Literal["order", "event"] = "order"
    event_type: str | None = None
    # The report counts orders this many days after entry, for both groups.
    attribution_days: int = Field(7, ge=1, le=365)

    @model_validator(mode="after")
    def _typed(self) -> Goal:
        if self.kind == "event" and not self.event_type:
            raise ValueError("an event goal needs event_type")
        return self


class ActiveHours(_Model):
    start: str = "09:00"
    end: str = "21:00"

    _clocks = field_validator("start", "end")(_clock)


class Policy(_Model):
    holdout_share: float = Field(0.0, ge=0, le=0.5)
    reentry: Literal["once", "always", "cooldown"] = "always"
    cooldown_days: int = Field(30, ge=1, le=3650)
    max_active: int | None = Field(None, ge=1)
    active_hours: ActiveHours | None = None
    exit_on_unsubscribe: bool = True


# Steps ------------------------------------------------------------------------------------


class _Step(_Model):
    key: str
    name: str = ""

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not STEP_KEY.match(value):
            raise ValueError("a-z, 0-9 and _, starting with a letter, up to 40")
        return value


class SendStep(_Step):
    kind: Literal["send"]
    channel: Channel = Channel.EMAIL
    purpose: Purpose = Purpose.MARKETING
    account_id: int
    topic_id: int | None = None
    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""
    content_id: int | None = None  # set when the journey is saved
    next: str | None = None


class WaitStep(_Step):
    """A duration, the next local `at` time, or a date attribute plus `offset_days` at `at`."""

    kind: Literal["wait"]
    mode: Literal["duration", "local_time", "date_attribute"] = "duration"
    duration: Duration | None = None
    at: str = "10:00"
    attribute: str = Field("birthday", pattern=r"^(birthday|custom\.[a-z][a-z0-9_]{0,59})$")
    offset_days: int = Field(0, ge=-366, le=3650)
    next: str | None = None

    _at = field_validator("at")(_clock)

    @model_validator(mode="after")
    def _needs_duration(self) -> WaitStep:
        if self.mode == "duration" and self.duration is None:
            raise ValueError("a duration wait needs duration")
        return self


class WaitEventStep(_Step):
    kind: Literal["wait_event"]
    event_type: str = Field(min_length=1, max_length=64)
    properties: list[PropertyFilter] = []
    timeout: Duration
    next: str | None = None  # the event came
    timeout_next: str | None = None


class ConditionStep(_Step):
    kind: Literal["condition"]
    rule: dict[str, Any]
    yes: str | None = None
    no: str | None = None


class Branch(_Model):
    label: str = Field(min_length=1, max_length=20)
    weight: float = Field(gt=0)
    next: str | None = None


class SplitStep(_Step):
    kind: Literal["split"]
    branches: list[Branch] = Field(min_length=2, max_length=5)


class AttributeStep(_Step):
    kind: Literal["set_attribute"]
    action: Literal["add_tag", "remove_tag", "set_field"]
    tag: str = ""
    field: str = ""  # a contact custom field's key
    value: Any = None
    next: str | None = None


class PointsStep(_Step):
    """Give (positive) or take (negative) loyalty points, once per enrollment."""

    kind: Literal["points"]
    points: int = Field(ge=-1_000_000, le=1_000_000)
    reason: str = Field("", max_length=200)
    next: str | None = None

    @field_validator("points")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("give or take at least one point")
        return value


class TaskStep(_Step):
    kind: Literal["task"]
    title: str = Field(min_length=1, max_length=300)
    body: str = ""
    due_in: Duration | None = None
    next: str | None = None


class WebhookStep(_Step):
    kind: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    next: str | None = None


class ExitStep(_Step):
    kind: Literal["exit"]


Step = Annotated[
    SendStep
    | WaitStep
    | WaitEventStep
    | ConditionStep
    | SplitStep
    | AttributeStep
    | PointsStep
    | TaskStep
    | WebhookStep
    | ExitStep,
    Field(discriminator="kind"),
]


class Steps(_Model):
    steps: list[Step] = Field(max_length=MAX_STEPS)

    @property
    def start(self) -> str | None:
        return self.steps[0].key if self.steps else None

    def by_key(self) -> dict[str, Any]:
        return {step.key: step for step in self.steps}


def exits_of(step: Any) -> list[tuple[str, str | None]]:
    """(field, key of the following step) for each way out of `step`."""
    match step:
        case WaitEventStep():
            return [("next", step.next), ("timeout_next", step.timeout_next)]
        case ConditionStep():
            return [("yes", step.yes), ("no", step.no)]
        case SplitStep():
            return [(f"branches.{i}.next", b.next) for i, b in enumerate(step.branches)]
        case ExitStep():
            return []
        case _:
            return [("next", step.next)]


def check_steps(steps: Steps) -> None:
    """Keys unique, every branch pointing at a step, no cycle, every step reachable from the
    first one; InvalidJourney names the node."""
    index = {}
    for position, step in enumerate(steps.steps):
        if step.key in index:
            raise _bad(f"steps.{position}.key", f"key {step.key!r} is used twice")
        index[step.key] = position
    for position, step in enumerate(steps.steps):
        for field, target in exits_of(step):
            if target is not None and target not in index:
                raise _bad(f"steps.{position}.{field}", f"there is no step {target!r}")
    if steps.steps:
        reached = _walk(steps)
        for position, step in enumerate(steps.steps):
            if step.key not in reached:
                raise _bad(f"steps.{position}", f"step {step.key!r} is never reached")


def _walk(steps: Steps) -> set[str]:
    """Depth-first from the first step; a step met again on the current path is a cycle."""
    by_key = steps.by_key()
    position = {step.key: i for i, step in enumerate(steps.steps)}
    reached: set[str] = set()

    def visit(key: str, path: tuple[str, ...]) -> None:
        if key in path:
            raise _bad(f"steps.{position[key]}", f"steps loop back to {key!r}")
        if key in reached:
            return
        reached.add(key)
        for _field, target in exits_of(by_key[key]):
            if target is not None:
                visit(target, (*path, key))

    visit(steps.steps[0].key, ())
    return reached


def _bad(path: str, message: str) -> InvalidJourney:
    return InvalidJourney(f"{path}: {message}.", details={"field": path})
