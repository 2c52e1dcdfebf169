"""Words for journey statuses, enrollment states and groups, step kinds and trigger kinds as
pages show them (translated where displayed)."""

from __future__ import annotations

from retentio.journeys.models import EnrollmentState, Group, JourneyStatus
from retentio.kit.text import N_

STATUS_LABELS: dict[JourneyStatus, str] = {
    JourneyStatus.DRAFT: N_("Draft"),
    JourneyStatus.ACTIVE: N_("Active"),
    JourneyStatus.PAUSED: N_("Paused"),
    JourneyStatus.ARCHIVED: N_("Archived"),
}

STATE_LABELS: dict[EnrollmentState, str] = {
    EnrollmentState.ACTIVE: N_("In the journey"),
    EnrollmentState.COMPLETED: N_("Completed"),
    EnrollmentState.CONVERTED: N_("Converted"),
    EnrollmentState.EXITED: N_("Exited"),
}

GROUP_LABELS: dict[Group, str] = {
    Group.TREATED: N_("Treated"),
    Group.HOLDOUT: N_("Holdout"),
}

# Keyed by the `kind` of definition.Step, in the order the "add a step" choice offers them.
STEP_LABELS: dict[str, str] = {
    "send": N_("Send a message"),
    "wait": N_("Wait"),
    "wait_event": N_("Wait for an event"),
    "condition": N_("Condition"),
    "split": N_("Random split"),
    "set_attribute": N_("Change the contact"),
    "points": N_("Loyalty points"),
    "task": N_("Task for a manager"),
    "webhook": N_("Webhook"),
    "exit": N_("Exit"),
}

TRIGGER_LABELS: dict[str, str] = {
    "event": N_("An event"),
    "segment_entered": N_("Entering a segment"),
    "segment_left": N_("Leaving a segment"),
    "date_attribute": N_("A date of the contact"),
    "inactivity": N_("No orders for a while"),
    "schedule": N_("On a schedule"),
    "api": N_("Through the API"),
}

UNIT_LABELS: dict[str, str] = {
    "minutes": N_("minutes"),
    "hours": N_("hours"),
    "days": N_("days"),
}

REENTRY_LABELS: dict[str, str] = {
    "always": N_("Every time"),
    "once": N_("Only once"),
    "cooldown": N_("Again after a pause"),
}
