"""What the journey pages show and read: the list's counts, the trigger and each step in
words, the flow drawn from the steps, the editor's flat form values and their translation
into `JourneyIn` (errors included, so each message lands beside the field it names), the
contacts of the enrollments table and the report's chart.

Reads only; writes go through `service`. The editor speaks in flat fields (`steps-2-next`,
`policy-holdout_share` in percent); the schema in nested dicts and shares.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.errors import InvalidInput, RetentioError
from retentio.journeys.labels import STEP_LABELS, UNIT_LABELS
from retentio.journeys.models import Enrollment, EnrollmentState, Journey
from retentio.journeys.queries import Report, StepFigures
from retentio.journeys.schemas import JourneyIn
from retentio.messaging.models import SendingAccount
from retentio.web.forms import GENERAL
from retentio.web.i18n import gettext as _

STEP_NAME = re.compile(r"^steps-(\d+)-kind$")
PATH_SPLIT = re.compile(r"[.\[\]]+")
MAX_BRANCHES = 5
DURATIONS = ("duration", "timeout", "due_in")
# The form fields of each step kind, after the common `key` and `name`; durations are two
# fields (`-amount`, `-unit`), JSON fields are text areas.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "send": (
        "channel",
        "purpose",
        "account_id",
        "topic_id",
        "subject",
        "preheader",
        "html",
        "text",
        "next",
    ),
    "wait": ("mode", "duration", "at", "attribute", "offset_days", "next"),
    "wait_event": ("event_type", "properties", "timeout", "next", "timeout_next"),
    "condition": ("rule", "yes", "no"),
    "split": ("branches",),
    "set_attribute": ("action", "tag", "field", "value", "next"),
    "points": ("points", "reason", "next"),
    "task": ("title", "body", "due_in", "next"),
    "webhook": ("url", "next"),
    "exit": (),
}
JSON_FIELDS = ("properties", "rule")
INT_FIELDS = ("account_id", "topic_id", "offset_days", "points")
TRIGGER_FIELDS = (
    "event_type",
    "properties",
    "segment_id",
    "attribute",
    "offset_days",
    "at",
    "days",
    "p_alive_below",
    "cron",
)
TRIGGER_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "event": ("event_type", "properties"),
    "segment_entered": ("segment_id",),
    "segment_left": ("segment_id",),
    "date_attribute": ("attribute", "offset_days", "at"),
    "inactivity": ("days", "p_alive_below"),
    "schedule": ("cron", "segment_id"),
    "api": (),
}
POLICY_FIELDS = (
    "holdout_share",
    "reentry",
    "cooldown_days",
    "max_active",
    "active_start",
    "active_end",
    "exit_on_unsubscribe",
)


# --- the list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    enrolled: int = 0
    active: int = 0
    converted: int = 0


def counts_of(session: Session, journey_ids: Sequence[int]) -> dict[int, Counts]:
    """Enrolled, active and converted of each listed journey: one grouped statement."""
    found: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if journey_ids:
        rows = session.execute(
            select(Enrollment.journey_id, Enrollment.state, func.count())
            .where(Enrollment.journey_id.in_(journey_ids))
            .group_by(Enrollment.journey_id, Enrollment.state)
        )
        for journey_id, state, count in rows:
            found[journey_id][EnrollmentState(state).value] += int(count)
    return {
        i: Counts(
            enrolled=sum(found[i].values()),
            active=found[i][EnrollmentState.ACTIVE.value],
            converted=found[i][EnrollmentState.CONVERTED.value],
        )
        for i in journey_ids
    }


def trigger_words(trigger: dict[str, Any], segments: dict[int, str]) -> str:
    """The trigger as a sentence: "Event «cart_add»", "Enters segment «VIP»"."""
    kind = trigger.get("kind")
    segment = segments.get(_int_or_none(trigger.get("segment_id")) or 0, "—")
    if kind == "event":
        return _("Event «%(type)s»") % {"type": trigger.get("event_type") or "—"}
    if kind == "segment_entered":
        return _("Enters the segment «%(name)s»") % {"name": segment}
    if kind == "segment_left":
        return _("Leaves the segment «%(name)s»") % {"name": segment}
    if kind == "date_attribute":
        attribute = str(trigger.get("attribute") or "birthday")
        what = _("birthday") if attribute == "birthday" else attribute.removeprefix("custom.")
        return _("%(days)s days from the %(date)s, at %(at)s") % {
            "days": trigger.get("offset_days") or 0,
            "date": what,
            "at": trigger.get("at") or "10:00",
        }
    if kind == "inactivity":
        if trigger.get("days"):
            return _("No order for %(days)s days") % {"days": trigger["days"]}
        return _("Chance of buying again below %(share)s") % {
            "share": f"{float(trigger.get('p_alive_below') or 0):.0%}"
        }
    if kind == "schedule":
        return _("Segment «%(name)s» on the schedule %(cron)s") % {
            "name": segment,
            "cron": trigger.get("cron") or "—",
        }
    return _("Through the API")


# --- steps in words and the flow -------------------------------------------------------------


def step_summary(step: dict[str, str]) -> str:
    """One line in words about a step in its form shape (flat strings, as the editor holds)."""
    kind = step.get("kind", "")
    if kind == "send":
        return _("Send «%(subject)s»") % {
            "subject": step.get("subject") or step.get("text", "")[:40]
        }
    if kind == "wait":
        mode = step.get("mode") or "duration"
        if mode == "local_time":
            return _("Wait until %(at)s local time") % {"at": step.get("at")}
        if mode == "date_attribute":
            return _("Wait until %(days)s days from %(date)s, at %(at)s") % {
                "days": step.get("offset_days") or 0,
                "date": step.get("attribute"),
                "at": step.get("at"),
            }
        return _("Wait %(amount)s %(unit)s") % _duration(step, "duration")
    if kind == "wait_event":
        return _("Wait up to %(amount)s %(unit)s for «%(event)s»") % (
            _duration(step, "timeout") | {"event": step.get("event_type") or "—"}
        )
    if kind == "condition":
        return _("If the contact matches %(rule)s") % {"rule": _short(step.get("rule", ""))}
    if kind == "split":
        return _("At random: %(branches)s") % {
            "branches": ", ".join(f"{b['label']} ({b['weight']})" for b in branches_of(step))
        }
    if kind == "set_attribute":
        action = step.get("action")
        if action == "add_tag":
            return _("Add the tag «%(tag)s»") % {"tag": step.get("tag")}
        if action == "remove_tag":
            return _("Remove the tag «%(tag)s»") % {"tag": step.get("tag")}
        return _("Set %(field)s to %(value)s") % {
            "field": step.get("field"),
            "value": step.get("value"),
        }
    if kind == "points":
        points = str(step.get("points") or "")
        if points.startswith("-"):
            return _("Take %(points)s points") % {"points": points[1:]}
        return _("Give %(points)s points") % {"points": points}
    if kind == "task":
        return _("Task: %(title)s") % {"title": step.get("title")}
    if kind == "webhook":
        return _("Call %(url)s") % {"url": step.get("url")}
    return _("Leave the journey")


def _duration(step: dict[str, str], name: str) -> dict[str, str]:
    unit = step.get(f"{name}-unit") or "hours"
    return {"amount": step.get(f"{name}-amount") or "—", "unit": _(UNIT_LABELS.get(unit, unit))}


def _short(raw: str, limit: int = 60) -> str:
    flat = " ".join(raw.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def exits_of(step: dict[str, str]) -> list[tuple[str, str, str]]:
    """(form field, label, target key) of each way out of a step in its form shape."""
    kind = step.get("kind")
    if kind == "wait_event":
        return [
            ("next", _("Event came"), step.get("next", "")),
            ("timeout_next", _("Timed out"), step.get("timeout_next", "")),
        ]
    if kind == "condition":
        return [("yes", _("Yes"), step.get("yes", "")), ("no", _("No"), step.get("no", ""))]
    if kind == "split":
        return [
            (f"branches-{j}-next", b["label"], b["next"]) for j, b in enumerate(branches_of(step))
        ]
    if kind == "exit":
        return []
    return [("next", "", step.get("next", ""))]


def branches_of(step: dict[str, str]) -> list[dict[str, str]]:
    return [
        {name: step.get(f"branches-{j}-{name}", "") for name in ("label", "weight", "next")}
        for j in range(MAX_BRANCHES)
        if f"branches-{j}-label" in step
    ]


@dataclass
class Node:
    """A step drawn in the flow; `ref` is set instead when the step was drawn already."""

    index: int
    step: dict[str, str]
    summary: str
    figures: StepFigures
    exits: list[tuple[str, Node | None]] = field(default_factory=list)
    ref: bool = False

    @property
    def branching(self) -> bool:
        return len(self.exits) > 1


@dataclass(frozen=True)
class Flow:
    start: Node | None
    loose: list[Node]  # steps nobody reaches from the first one (while being edited)


def flow(steps: list[dict[str, str]], figures: dict[str, StepFigures]) -> Flow:
    """The steps as a tree from the first one: a step met again (branches joining, or a loop
    being edited) is drawn as a reference to where it already is."""
    index = {s.get("key", ""): i for i, s in enumerate(steps)}
    drawn: set[int] = set()

    def node(i: int) -> Node:
        step = steps[i]
        made = Node(i, step, step_summary(step), figures.get(step.get("key", ""), _NONE))
        if i in drawn:
            made.ref = True
            return made
        drawn.add(i)
        for _field, label, target in exits_of(step):
            made.exits.append((label, node(index[target]) if target in index else None))
        return made

    start = node(0) if steps else None
    loose = [node(i) for i in range(len(steps)) if i not in drawn]
    return Flow(start=start, loose=loose)


_NONE = StepFigures(0, 0, 0)


# --- the editor's values -----------------------------------------------------------------------


def values_of(journey: Journey, steps: list[dict[str, Any]]) -> dict[str, str]:
    """A saved journey as the editor's flat fields."""
    trigger, policy = journey.trigger, journey.policy
    goal = journey.goal or {}
    hours = policy.get("active_hours") or {}
    values: dict[str, str] = {
        "name": journey.name,
        "description": journey.description,
        "trigger-kind": str(trigger.get("kind", "")),
        "goal-kind": str(goal.get("kind", "")),
        "goal-event_type": str(goal.get("event_type") or ""),
        "goal-attribution_days": str(goal.get("attribution_days", "")),
        "policy-holdout_share": _text(round(float(policy.get("holdout_share", 0)) * 100, 4)),
        "policy-reentry": str(policy.get("reentry", "always")),
        "policy-cooldown_days": _text(policy.get("cooldown_days", 30)),
        "policy-max_active": _text(policy.get("max_active")),
        "policy-active_start": str(hours.get("start", "")),
        "policy-active_end": str(hours.get("end", "")),
    }
    if policy.get("exit_on_unsubscribe", True):
        values["policy-exit_on_unsubscribe"] = "true"
    values |= {f"trigger-{name}": _text(trigger.get(name)) for name in TRIGGER_FIELDS}
    return values | _flat_steps([_step_form(step) for step in steps])


def new_values() -> dict[str, str]:
    return {
        "trigger-kind": "event",
        "goal-kind": "order",
        "goal-attribution_days": "7",
        "policy-holdout_share": "0",
        "policy-reentry": "always",
        "policy-cooldown_days": "30",
        "policy-exit_on_unsubscribe": "true",
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return str(value)


def _step_form(step: dict[str, Any]) -> dict[str, str]:
    """A stored step as flat strings (`duration-amount`, `branches-0-label`)."""
    form: dict[str, str] = {}
    for name, value in step.items():
        if name in DURATIONS:
            form[f"{name}-amount"] = _text((value or {}).get("amount"))
            form[f"{name}-unit"] = str((value or {}).get("unit", "hours"))
        elif name == "branches":
            for j, branch in enumerate(value):
                form |= {
                    f"branches-{j}-{k}": _text(branch.get(k)) for k in ("label", "weight", "next")
                }
        elif name in JSON_FIELDS:
            form[name] = json.dumps(value, ensure_ascii=False) if value else ""
        elif name != "content_id":
            form[name] = _text(value)
    return form


def _flat_steps(steps: list[dict[str, str]]) -> dict[str, str]:
    return {
        f"steps-{i}-{name}": value for i, step in enumerate(steps) for name, value in step.items()
    }


def posted_values(form: Any) -> dict[str, str]:
    """The editor as posted: every text field by its name (a checkbox left out is unset)."""
    return {
        name: value if name.endswith(("-html", "-text", "-body")) else value.strip()
        for name, value in form.items()
        if isinstance(value, str) and name != "csrf_token"
    }


def steps_of(values: dict[str, str]) -> list[dict[str, str]]:
    """The flat step fields grouped per step, in the order of their indexes."""
    indexes = sorted(int(m.group(1)) for name in values if (m := STEP_NAME.match(name)))
    return [
        {
            name.removeprefix(f"steps-{i}-"): v
            for name, v in values.items()
            if name.startswith(f"steps-{i}-")
        }
        for i in indexes
    ]


def with_steps(values: dict[str, str], steps: list[dict[str, str]]) -> dict[str, str]:
    rest = {k: v for k, v in values.items() if not k.startswith("steps-")}
    return rest | _flat_steps(steps)


# --- adding and removing steps -----------------------------------------------------------------


def blank_step(kind: str, key: str, account_id: int | None) -> dict[str, str]:
    base = {"kind": kind, "key": key, "name": ""}
    defaults: dict[str, dict[str, str]] = {
        "send": {
            "channel": "email",
            "purpose": "marketing",
            "account_id": _text(account_id),
            "subject": "",
            "text": "",
            "html": "",
        },
        "wait": {"mode": "duration", "duration-amount": "1", "duration-unit": "hours"},
        "wait_event": {"event_type": "", "timeout-amount": "1", "timeout-unit": "days"},
        "condition": {"rule": ""},
        "split": {
            "branches-0-label": "A",
            "branches-0-weight": "1",
            "branches-1-label": "B",
            "branches-1-weight": "1",
        },
        "set_attribute": {"action": "add_tag", "tag": ""},
        "points": {"points": "100", "reason": ""},
        "task": {"title": ""},
        "webhook": {"url": "https://"},
        "exit": {},
    }
    return base | defaults[kind]


def add_step(
    steps: list[dict[str, str]],
    after: int | None,
    kind: str,
    exit_field: str,
    account_id: int | None,
) -> list[dict[str, str]]:
    """A new step of `kind` after step `after` (on its exit `exit_field`), or first when
    `after` is None; the new step leads where that exit led."""
    keys = {s.get("key", "") for s in steps}
    number = len(steps) + 1
    while f"{kind}_{number}" in keys:
        number += 1
    step = blank_step(kind, f"{kind}_{number}", account_id)
    step_exit = next((f for f, _l, _t in exits_of(step)), None)
    if after is None:
        if steps and step_exit:
            step[step_exit] = steps[0].get("key", "")
        return [step, *steps]
    source = steps[after]
    fields = [f for f, _l, _t in exits_of(source)]
    chosen = exit_field if exit_field in fields else (fields[0] if fields else None)
    if chosen is not None:
        if step_exit:
            step[step_exit] = source.get(chosen, "")
        source[chosen] = step["key"]
    return [*steps[: after + 1], step, *steps[after + 1 :]]


def remove_step(steps: list[dict[str, str]], position: int) -> list[dict[str, str]]:
    """Without step `position`; whatever led to it leads where its first exit led."""
    gone = steps[position]
    key = gone.get("key", "")
    following = next((t for _f, _l, t in exits_of(gone) if t), "")
    kept = [s for i, s in enumerate(steps) if i != position]
    for step in kept:
        for name, _label, target in exits_of(step):
            if target == key:
                step[name] = following
    if position == 0 and following:
        first = next((i for i, s in enumerate(kept) if s.get("key") == following), None)
        if first is not None:
            kept.insert(0, kept.pop(first))
    return kept


def default_account(session: Session) -> int | None:
    return session.scalar(
        select(SendingAccount.id)
        .where(SendingAccount.archived_at.is_(None))
        .order_by(SendingAccount.channel, SendingAccount.id)
    )


# --- from the form to JourneyIn ------------------------------------------------------------


def journey_in(values: dict[str, str], *, steps: bool = True) -> JourneyIn:
    """The schema from the editor's values. Raises InvalidInput or ValidationError; numbers
    that are not numbers are passed on as typed, so the schema names their field."""
    data: dict[str, Any] = {
        "name": values.get("name", ""),
        "description": values.get("description", ""),
        "trigger": trigger_of(values),
        "goal": _goal(values),
        "policy": _policy(values),
        "steps": [_step(s, i) for i, s in enumerate(steps_of(values))] if steps else [],
    }
    return JourneyIn.model_validate(data)


def trigger_of(values: dict[str, str]) -> dict[str, Any]:
    kind = values.get("trigger-kind", "")
    trigger: dict[str, Any] = {"kind": kind}
    for name in TRIGGER_KIND_FIELDS.get(kind, ()):
        raw = values.get(f"trigger-{name}", "")
        if name == "properties":
            trigger[name] = _json(raw, "trigger-properties", [])
        elif raw != "" or name in ("event_type", "segment_id", "cron"):
            trigger[name] = (
                _number(raw)
                if name in ("segment_id", "offset_days", "days", "p_alive_below")
                else raw
            )
    return trigger


def _goal(values: dict[str, str]) -> dict[str, Any] | None:
    kind = values.get("goal-kind", "")
    if not kind:
        return None
    goal: dict[str, Any] = {"kind": kind, "event_type": values.get("goal-event_type") or None}
    if values.get("goal-attribution_days"):
        goal["attribution_days"] = _number(values["goal-attribution_days"])
    return goal


def _policy(values: dict[str, str]) -> dict[str, Any]:
    share = _number(values.get("policy-holdout_share", "") or "0")
    policy: dict[str, Any] = {
        "holdout_share": share / 100 if isinstance(share, int | float) else share,
        "reentry": values.get("policy-reentry") or "always",
        "max_active": _number(values.get("policy-max_active", "")) or None,
        "exit_on_unsubscribe": values.get("policy-exit_on_unsubscribe") == "true",
    }
    if values.get("policy-cooldown_days"):
        policy["cooldown_days"] = _number(values["policy-cooldown_days"])
    start, end = values.get("policy-active_start", ""), values.get("policy-active_end", "")
    if start or end:
        policy["active_hours"] = {"start": start or "09:00", "end": end or "21:00"}
    return policy


def _step(form: dict[str, str], position: int) -> dict[str, Any]:
    kind = form.get("kind", "")
    step: dict[str, Any] = {"kind": kind, "key": form.get("key", ""), "name": form.get("name", "")}
    for name in STEP_FIELDS.get(kind, ()):
        if name in DURATIONS:
            amount = form.get(f"{name}-amount", "")
            if amount or name != "due_in":
                step[name] = {
                    "amount": _number(amount),
                    "unit": form.get(f"{name}-unit") or "hours",
                }
        elif name == "branches":
            step[name] = [
                {"label": b["label"], "weight": _number(b["weight"]), "next": b["next"] or None}
                for b in branches_of(form)
            ]
        elif name in JSON_FIELDS:
            step[name] = _json(
                form.get(name, ""), f"steps-{position}-{name}", [] if name == "properties" else {}
            )
        elif name in ("next", "timeout_next", "yes", "no", "topic_id"):
            step[name] = (
                (_number(form[name]) if name == "topic_id" else form[name])
                if form.get(name)
                else None
            )
        elif name in INT_FIELDS:
            step[name] = _number(form.get(name, ""))
        elif name in form:
            step[name] = form[name]
    if kind == "wait" and step.get("mode") != "duration":
        step.pop("duration", None)
    return step


def _number(raw: str) -> Any:
    """ "12" → 12, "1,5" → 1.5; anything else is kept for the schema to refuse by name."""
    cleaned = raw.replace(",", ".").replace(" ", "")
    try:
        return int(cleaned)
    except ValueError:
        pass
    try:
        return float(cleaned)
    except ValueError:
        return raw if raw else None


def _json(raw: str, name: str, empty: Any) -> Any:
    if not raw.strip():
        return empty
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput(_("Enter valid JSON."), details={"field": name}) from None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) else None


# --- errors ------------------------------------------------------------------------------------


def form_errors(
    error: ValidationError | RetentioError, steps: list[dict[str, str]]
) -> dict[str, str]:
    """Messages keyed by the editor's field names (`steps-2-next`), or by a step
    (`steps-2`) when no field of its box is named; GENERAL for the rest."""
    if isinstance(error, ValidationError):
        errors: dict[str, str] = {}
        for item in error.errors():
            name = form_name([str(p) for p in item["loc"]], steps)
            errors.setdefault(name, str(item["msg"]).removeprefix("Value error, "))
        return errors
    details = error.details if isinstance(error.details, dict) else {}
    path = details.get("field")
    if not isinstance(path, str):
        return {GENERAL: error.message}
    if path.startswith(("steps-", "trigger-")):  # named by this module already
        return {path: error.message}
    message = error.message.removeprefix(f"{path}: ").removeprefix(f"{path}.")
    return {form_name([p for p in PATH_SPLIT.split(path) if p], steps): message}


KINDS = frozenset(STEP_LABELS) | frozenset(TRIGGER_KIND_FIELDS)


def form_name(path: list[str], steps: list[dict[str, str]]) -> str:
    """["steps", "2", "wait", "duration", "amount"] → "steps-2-duration-amount"; the
    discriminator pydantic puts in the path is left out."""
    if not path:
        return GENERAL
    head, rest = path[0], path[1:]
    if head == "steps" and rest and rest[0].isdigit():
        position, rest = int(rest[0]), rest[1:]
        if rest and rest[0] in KINDS:
            rest = rest[1:]
        kind = steps[position].get("kind", "") if position < len(steps) else ""
        if not rest or rest[0] not in (*STEP_FIELDS.get(kind, ()), "key", "name", "kind"):
            return f"steps-{position}"
        if rest[0] in DURATIONS:
            return f"steps-{position}-{rest[0]}-{rest[1] if len(rest) > 1 else 'amount'}"
        if rest[0] == "branches" and len(rest) > 2 and rest[1].isdigit():
            return f"steps-{position}-branches-{rest[1]}-{rest[2]}"
        return f"steps-{position}-{rest[0]}"
    if head == "trigger":
        rest = [p for p in rest if p not in KINDS]
        return f"trigger-{rest[0]}" if rest and rest[0] in TRIGGER_FIELDS else "trigger-kind"
    if head == "policy":
        if rest and rest[0] == "active_hours":
            return f"policy-active_{rest[1]}" if len(rest) > 1 else "policy-active_start"
        return f"policy-{rest[0]}" if rest and rest[0] in POLICY_FIELDS else GENERAL
    if head == "goal":
        return (
            f"goal-{rest[0]}"
            if rest and rest[0] in ("event_type", "attribution_days")
            else "goal-kind"
        )
    return head if head in ("name", "description") else GENERAL


def step_errors(errors: dict[str, str], position: int) -> bool:
    """Whether the box of step `position` has an error (it is then drawn open)."""
    prefix = f"steps-{position}"
    return any(name == prefix or name.startswith(prefix + "-") for name in errors)


# --- enrollments and the report ----------------------------------------------------------------


def contact_names(session: Session, enrollments: Sequence[Enrollment]) -> dict[int, str]:
    ids = {e.contact_id for e in enrollments}
    if not ids:
        return {}
    rows = session.execute(
        select(Contact.id, Contact.first_name, Contact.last_name, Contact.email).where(
            Contact.id.in_(ids)
        )
    )
    return {
        i: " ".join(p for p in (first, last) if p) or email or f"#{i}"
        for i, first, last, email in rows
    }


def charts(report: Report) -> dict[str, Any]:
    """The effect with its 95 % interval, in the shape campaigns.js draws."""
    effect = report.incremental
    if effect is None:
        return {}
    return {
        "effect": {
            "conversions": _interval(effect.conversions),
            "revenue": _interval(effect.revenue),
        }
    }


def _interval(value: Any) -> dict[str, float]:
    return {"estimate": value.estimate, "low": value.low, "high": value.high}


def message_states(report: Report) -> list[str]:
    """The message states that occur, in the order the outbox moves through them."""
    order = ("queued", "held", "sending", "sent", "skipped", "failed", "unknown")
    seen = {state for counts in report.messages_by_step.values() for state in counts}
    return [s for s in order if s in seen] + sorted(seen - set(order))


def step_label(kind: str) -> str:
    return _(STEP_LABELS.get(kind, kind))
