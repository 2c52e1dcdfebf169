"""Segments every shop starts with: one per RFM segment, at risk of churn, sleeping 90+ days,
birthday this week, new this month, VIP by CLV (top 10 %), no consent yet.

`ensure_prebuilt` creates those missing, found by a stable key, with `INSERT … ON CONFLICT DO
NOTHING`, so calling it on every first load (or from two workers at once) is harmless, and a
prebuilt segment the user archived or renamed is not brought back or renamed again. Names are
stored in English and marked for translation; pages show `_(name)` when `key` is set.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.kit.text import N_
from retentio.kit.upsert import insert_or_ignore
from retentio.predict.rfm import Segment as RfmSegment
from retentio.profiles.labels import SEGMENT_LABELS
from retentio.segments.models import Segment, SegmentKind
from retentio.segments.rules import dump_rule, parse_rule


def _field(name: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": name, "op": op, "value": value}


PREBUILT: tuple[tuple[str, str, dict[str, Any]], ...] = (
    *(
        (f"rfm.{s.value}", SEGMENT_LABELS[s.value], _field("profile.rfm_segment", "eq", s.value))
        for s in RfmSegment
    ),
    ("churn_risk", N_("At risk of churn"), _field("profile.churn_band", "eq", "high")),
    (
        "sleeping_90",
        N_("Sleeping 90+ days"),
        _field("profile.last_order_at", "more_than_days_ago", 90),
    ),
    (
        "birthday_week",
        N_("Birthday this week"),
        _field("contact.birthday", "anniversary_within_next", 6),
    ),
    ("new_this_month", N_("New this month"), _field("contact.created_at", "in_current", "month")),
    ("vip_clv_top10", N_("VIP by CLV (top 10 %)"), _field("profile.clv_12m", "top_percent", 10)),
    (
        "no_consent",
        N_("No consent yet"),
        {"all": [{"consent": c, "status": "unknown"} for c in ("email", "sms", "telegram")]},
    ),
)


def ensure_prebuilt(session: Session) -> list[int]:
    """Create the prebuilt segments that are missing; returns the ids of those created (their
    members are filled by a refresh, enqueued by the caller after commit)."""
    existing = set(session.scalars(select(Segment.key).where(Segment.key.is_not(None))))
    created: list[int] = []
    for key, name, rule in PREBUILT:
        if key in existing:
            continue
        values = {
            "key": key,
            "name": name,
            "description": "",
            "kind": SegmentKind.DYNAMIC,
            "rule": dump_rule(parse_rule(rule)),
            "size": 0,
        }
        if insert_or_ignore(session, Segment, values):
            created_id = session.scalar(select(Segment.id).where(Segment.key == key))
            if created_id is not None:
                created.append(created_id)
    return created
