"""Who a campaign goes to and in which group: the segment's members when it starts, minus the
excluded segments' members, shuffled with the campaign's own seed and cut into the holdout,
the A/B test group (split between the variants by weight) and the main group.

The seed makes the draw reproducible (a restart mid-assignment draws the same groups); the
draw itself is stored in `campaign_recipients`, which is what the report trusts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.campaigns.models import Campaign, CampaignVariant, RecipientGroup
from retentio.contacts.models import Contact
from retentio.messaging.policy import zone
from retentio.segments.models import SegmentMember


@dataclass(frozen=True, slots=True)
class Assignment:
    contact_id: int
    group: RecipientGroup
    variant_id: int | None


def audience_ids(session: Session, campaign: Campaign) -> list[int]:
    """Members of the segment that are live contacts and in none of the excluded segments."""
    excluded = select(SegmentMember.contact_id).where(
        SegmentMember.segment_id.in_(campaign.exclude_segment_ids or [])
    )
    statement = (
        select(SegmentMember.contact_id)
        .join(Contact, Contact.id == SegmentMember.contact_id)
        .where(
            SegmentMember.segment_id == campaign.segment_id,
            Contact.deleted_at.is_(None),
            Contact.merged_into_id.is_(None),
            Contact.erased_at.is_(None),
        )
        .order_by(SegmentMember.contact_id)
    )
    if campaign.exclude_segment_ids:
        statement = statement.where(SegmentMember.contact_id.not_in(excluded))
    return list(session.scalars(statement))


def _split(ids: list[int], variants: Sequence[CampaignVariant]) -> Iterator[tuple[int, int]]:
    """Consecutive slices of `ids` per variant, sized by weight (the last takes the rest)."""
    total = sum(v.weight for v in variants)
    start = 0
    for index, variant in enumerate(variants):
        if index == len(variants) - 1:
            end = len(ids)
        else:
            end = start + round(len(ids) * variant.weight / total)
        for contact_id in ids[start:end]:
            yield contact_id, variant.id
        start = end


def assign(
    campaign: Campaign, variants: Sequence[CampaignVariant], contact_ids: list[int]
) -> list[Assignment]:
    ids = sorted(contact_ids)
    # A seeded draw, not a secret: reproducible groups are the point.
    random.Random(f"retentio.campaign:{campaign.id}").shuffle(ids)  # noqa: S311
    holdout = round(len(ids) * campaign.holdout_share)
    result = [Assignment(c, RecipientGroup.HOLDOUT, None) for c in ids[:holdout]]
    treated = ids[holdout:]
    if campaign.ab_test_share is None:
        result += [Assignment(c, RecipientGroup.MAIN, v) for c, v in _split(treated, variants)]
        return result
    tested = round(len(treated) * campaign.ab_test_share)
    result += [Assignment(c, RecipientGroup.TEST, v) for c, v in _split(treated[:tested], variants)]
    result += [Assignment(c, RecipientGroup.MAIN, None) for c in treated[tested:]]
    return result


def parse_local_time(text: str) -> time:
    """ "HH:MM", 24-hour clock."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r} is not a time of day like 10:00")
    return time(int(hours), int(minutes))


def next_local(now: datetime, at: time, timezone: str | None, default_timezone: str) -> datetime:
    """The first moment at or after `now` when the contact's clock shows `at`."""
    tz = zone(timezone, default_timezone)
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(now.tzinfo)
