"""What the segment pages show, gathered with a fixed number of queries: the list's rows with
their size trends, the card's counts and chart, and the builder's field catalogue as JSON.

Reads only (writes go through `service`); the words come translated for the current request,
so the builder's script shows them as they are and holds no text of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.commerce import queries as commerce_queries
from retentio.contacts import queries as contact_queries
from retentio.events.segment_mapping import CALL_TYPES, SPEC_EVENTS
from retentio.fields.models import FieldEntity
from retentio.kit.text import N_
from retentio.profiles.labels import CHURN_BAND_LABELS, SEGMENT_LABELS, STAGE_LABELS
from retentio.segments import queries
from retentio.segments.catalog import CUSTOM_PREFIXES, NO_VALUE, OPERATORS, FieldSpec, load_catalog
from retentio.segments.models import Segment, SegmentKind, SegmentSize
from retentio.segments.rules import parse_rule
from retentio.web.i18n import gettext as _

TREND_DAYS = 30
CHART_DAYS = 90
SPARK_WIDTH, SPARK_HEIGHT = 96, 24

# Operators in the order a person reads them; one the engine adds later still shows, by name.
OPERATOR_LABELS: dict[str, str] = {
    "eq": N_("is"),
    "ne": N_("is not"),
    "in": N_("is one of"),
    "not_in": N_("is none of"),
    "contains": N_("contains"),
    "not_contains": N_("does not contain"),
    "starts_with": N_("starts with"),
    "ends_with": N_("ends with"),
    "lt": N_("less than"),
    "le": N_("at most"),
    "gt": N_("more than"),
    "ge": N_("at least"),
    "between": N_("between"),
    "top_percent": N_("in the top"),
    "on": N_("on"),
    "before": N_("before"),
    "after": N_("after"),
    "within_last": N_("in the last"),
    "within_next": N_("in the next"),
    "more_than_days_ago": N_("more than"),
    "in_current": N_("in the current"),
    "anniversary_within_next": N_("anniversary in the next"),
    "has_any": N_("has any of"),
    "has_all": N_("has all of"),
    "has_none": N_("has none of"),
    "is_empty": N_("is empty"),
    "is_not_empty": N_("is not empty"),
}
# What follows the number of days (or the share) an operator takes.
VALUE_SUFFIXES: dict[str, str] = {
    "within_last": N_("days"),
    "within_next": N_("days"),
    "more_than_days_ago": N_("days ago"),
    "anniversary_within_next": N_("days"),
    "top_percent": "%",
}
COMPARISON_LABELS: dict[str, str] = {
    "ge": N_("at least"),
    "gt": N_("more than"),
    "eq": N_("exactly"),
    "ne": N_("not exactly"),
    "le": N_("at most"),
    "lt": N_("fewer than"),
}
PERIOD_LABELS: dict[str, str] = {
    "day": N_("day"),
    "week": N_("week"),
    "month": N_("month"),
    "year": N_("year"),
}
CHANNEL_LABELS: dict[str, str] = {"email": N_("E-mail"), "sms": N_("SMS"), "telegram": "Telegram"}
CONSENT_STATUS_LABELS: dict[str, str] = {
    "granted": N_("granted"),
    "withdrawn": N_("withdrawn"),
    "unknown": N_("never asked"),
}
GROUP_LABELS: dict[str, str] = {
    "contact": N_("Contact fields"),
    "custom": N_("Custom fields"),
    "company": N_("Company fields"),
    "profile": N_("Profile traits"),
    "loyalty": N_("Loyalty"),
}
KIND_LABELS: dict[str, str] = {
    "tags": N_("Tags"),
    "event": N_("Events"),
    "bought": N_("Orders"),
    "segment": N_("Segment membership"),
    "consent": N_("Consent"),
    "reachable": N_("Reachability"),
}
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "profile.rfm_segment": SEGMENT_LABELS,
    "profile.churn_band": CHURN_BAND_LABELS,
    "profile.lifecycle_stage": STAGE_LABELS,
    "contact.gender": {"f": N_("Female"), "m": N_("Male")},
}
# Types the tracker and the Segment-compatible API write; any other type can be typed in.
EVENT_SUGGESTIONS = sorted(
    {*CALL_TYPES.values(), *SPEC_EVENTS.values(), "email_open", "email_click", "form_submit"}
)
# The builder's own words, translated once per page.
BUILDER_TEXT: dict[str, str] = {
    "match": N_("Match"),
    "of_these": N_("of these conditions"),
    "all": N_("all"),
    "any": N_("any"),
    "none": N_("none"),
    "combinator": N_("How the conditions combine"),
    "empty_group": N_("No conditions yet: everyone matches."),
    "add_condition": N_("Condition"),
    "add_group": N_("Group"),
    "remove": N_("Remove"),
    "remove_group": N_("Remove group"),
    "condition": N_("Condition"),
    "field": N_("Field"),
    "choose_field": N_("Choose what to filter on…"),
    "behaviour": N_("Behaviour and reach"),
    "operator": N_("Operator"),
    "value": N_("Value"),
    "values": N_("Values"),
    "from": N_("From"),
    "to": N_("To"),
    "days": N_("days"),
    "period": N_("Period"),
    "yes": N_("Yes"),
    "no": N_("No"),
    "comma_separated": N_("separated by commas"),
    "negate": N_("Yes or no"),
    "has": N_("has"),
    "has_not": N_("does not have"),
    "match_label": N_("Which tags"),
    "any_of_tags": N_("any of the tags"),
    "all_of_tags": N_("all of the tags"),
    "tags": N_("Tags"),
    "did": N_("did"),
    "did_not": N_("did not do"),
    "event_type": N_("Event type"),
    "times": N_("times"),
    "orders": N_("orders"),
    "how_many": N_("How many"),
    "in_the_last": N_("in the last"),
    "bought": N_("bought"),
    "not_bought": N_("did not buy"),
    "category": N_("Category"),
    "product": N_("Product SKU"),
    "in_segment": N_("is in"),
    "not_in_segment": N_("is not in"),
    "segment": N_("Segment"),
    "reachable_by": N_("reachable by"),
    "not_reachable_by": N_("not reachable by"),
    "channel": N_("Channel"),
    "status": N_("Consent status"),
    "counting": N_("Counting…"),
    "fix_errors": N_("Fix the marked conditions to see the count."),
    "preview_failed": N_("The count could not be updated. Try again in a moment."),
    "nobody": N_("Nobody matches yet."),
}


# --- the list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRow:
    segment: Segment
    trend: list[int]
    spark: str  # SVG polyline points, empty when there are fewer than two days

    @property
    def change(self) -> int:
        return self.trend[-1] - self.trend[0] if len(self.trend) > 1 else 0


def rows_for(session: Session, segments: Sequence[Segment], *, today: date) -> list[SegmentRow]:
    """The list's rows, with the last 30 days of sizes of every segment read in one query."""
    trends: dict[int, list[int]] = defaultdict(list)
    if segments:
        sizes = session.execute(
            select(SegmentSize.segment_id, SegmentSize.size)
            .where(
                SegmentSize.segment_id.in_([s.id for s in segments]),
                SegmentSize.day > today - timedelta(days=TREND_DAYS),
            )
            .order_by(SegmentSize.segment_id, SegmentSize.day)
        )
        for segment_id, size in sizes:
            trends[segment_id].append(size)
    return [SegmentRow(s, trends[s.id], sparkline(trends[s.id])) for s in segments]


def sparkline(values: Sequence[int]) -> str:
    """Points of an inline SVG polyline: cheap enough for every row, unlike a Plotly chart."""
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1
    step = SPARK_WIDTH / (len(values) - 1)
    pad = 2
    return " ".join(
        f"{i * step:.1f},{pad + (SPARK_HEIGHT - 2 * pad) * (1 - (v - low) / span):.1f}"
        for i, v in enumerate(values)
    )


def display_name(segment: Segment) -> str:
    """Prebuilt segments are stored with English names marked for translation."""
    return _(segment.name) if segment.key else segment.name


# --- the card --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentCard:
    segment: Segment
    visible_size: int
    reachable: dict[str, int]
    chart: dict[str, list[Any]]


def card(session: Session, user: User, segment: Segment, *, today: date, now: Any) -> SegmentCard:
    """Counts as this user may see them: a sales user's members and reach are their contacts."""
    # Stored members, whatever the kind: the card describes who is in the segment now, the
    # same people its members table and export list.
    members_rule = parse_rule({"segment": segment.id})
    seen = queries.preview(session, members_rule, user=user, now=now, sample=0)
    history = queries.size_history(session, segment.id, today=today, days=CHART_DAYS)
    return SegmentCard(
        segment=segment,
        visible_size=queries.visible_size(session, segment.id, user=user),
        reachable=seen.reachable,
        chart={"x": [d.isoformat() for d, _n in history], "y": [n for _d, n in history]},
    )


# --- the builder -----------------------------------------------------------------------------


def field_label(spec: FieldSpec) -> str:
    """Built-in labels are translated; a custom field's label is the user's own words."""
    custom = spec.name.startswith(tuple(CUSTOM_PREFIXES.values()))
    return spec.label if custom else _(spec.label)


def operator_label(op: str) -> str:
    return _(OPERATOR_LABELS[op]) if op in OPERATOR_LABELS else op


def _group_of(spec: FieldSpec) -> str:
    if spec.name.startswith(CUSTOM_PREFIXES[FieldEntity.CONTACT]):
        return "custom"
    return spec.name.split(".", 1)[0]


def _choices(spec: FieldSpec) -> list[tuple[str, str]]:
    labels = CHOICE_LABELS.get(spec.name, {})
    return [(c, _(labels[c]) if c in labels else c) for c in spec.choices]


def _pairs(labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in labels.items()]


def builder_config(
    session: Session,
    *,
    rule: Any,
    errors: list[dict[str, str]],
    preview_url: str,
    segment_id: int | None,
) -> dict[str, Any]:
    """Everything the builder's script needs, as one JSON document in the page."""
    catalog = load_catalog(session)
    known = list(OPERATOR_LABELS)
    operators = {
        kind: [
            (op, operator_label(op))
            for op in sorted(ops, key=lambda o: known.index(o) if o in known else len(known))
        ]
        for kind, ops in OPERATORS.items()
    }
    others = [s for s in queries.segments(session) if s.id != segment_id]
    return {
        "rule": rule,
        "errors": errors,
        "preview_url": preview_url,
        "segment_id": segment_id,
        "fields": [
            {
                "name": spec.name,
                "type": spec.type,
                "label": field_label(spec),
                "group": _group_of(spec),
                "choices": _choices(spec),
            }
            for spec in catalog.fields.values()
        ],
        "groups": _pairs(GROUP_LABELS),
        "kinds": _pairs(KIND_LABELS),
        "operators": operators,
        "no_value": sorted(NO_VALUE),
        "suffixes": _pairs(VALUE_SUFFIXES),
        "comparisons": _pairs(COMPARISON_LABELS),
        "periods": _pairs(PERIOD_LABELS),
        "channels": _pairs(CHANNEL_LABELS),
        "consent_statuses": _pairs(CONSENT_STATUS_LABELS),
        "segments": [(s.id, display_name(s)) for s in others],
        "text": {key: _(label) for key, label in BUILDER_TEXT.items()},
    }


@dataclass(frozen=True)
class Suggestions:
    """Values offered while typing (datalists): tags, event types, product categories."""

    tags: list[str]
    event_types: list[str]
    categories: list[str]


def suggestions(session: Session) -> Suggestions:
    return Suggestions(
        tags=contact_queries.all_tags(session),
        event_types=EVENT_SUGGESTIONS,
        categories=commerce_queries.categories(session),
    )


def static_segments(session: Session) -> list[tuple[int, str]]:
    """Choices for "Add to static segment" on the contact list."""
    return [
        (s.id, display_name(s)) for s in queries.segments(session) if s.kind == SegmentKind.STATIC
    ]
