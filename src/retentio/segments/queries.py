"""Reading segments: the list, one segment, a rule's preview (count, reachable per channel and
a sample), a segment's members page by page, and its size history. Reads only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact
from retentio.errors import NotFound
from retentio.segments.catalog import load_catalog
from retentio.segments.compiler import (
    CHANNELS,
    Compiled,
    Context,
    compile_rule,
    live_clause,
    reachable_clause,
)
from retentio.segments.models import Segment, SegmentKind, SegmentMember, SegmentSize
from retentio.segments.rules import Node, SegmentLookup, SegmentRef, check_rule, parse_rule

SAMPLE_SIZE = 10


def segment_lookup(session: Session) -> SegmentLookup:
    """Segments by id for rules that refer to them; archived ones do not exist."""

    def lookup(segment_id: int) -> SegmentRef | None:
        found = session.get(Segment, segment_id)
        if found is None or found.archived_at is not None:
            return None
        return SegmentRef(found.id, found.kind == SegmentKind.DYNAMIC, found.rule)

    return lookup


def context(session: Session, *, now: datetime, correlate: bool = False) -> Context:
    return Context(
        now=now,
        dialect=session.get_bind().dialect.name,
        catalog=load_catalog(session),
        segments=segment_lookup(session),
        correlate=correlate,
    )


def checked_rule(session: Session, raw: Any, *, self_id: int | None = None) -> Node:
    """The parsed rule, checked against the fields and segments that exist (InvalidRule)."""
    node = parse_rule(raw)
    check_rule(node, load_catalog(session), segment_lookup(session), self_id=self_id)
    return node


def compiled(session: Session, node: Node, *, now: datetime) -> Compiled:
    return compile_rule(node, context(session, now=now))


@dataclass(frozen=True)
class SampleContact:
    id: int
    name: str
    email: str | None
    phone: str | None
    city: str | None


@dataclass(frozen=True)
class Preview:
    count: int
    reachable: dict[str, int]  # "email", "sms", "telegram"
    sample: list[SampleContact]


def preview(
    session: Session, node: Node, *, user: User, now: datetime, sample: int = SAMPLE_SIZE
) -> Preview:
    """What a rule selects right now, as this user may see it: one query counts everyone and
    those reachable by each channel, a second reads a few of them."""
    rule = compiled(session, node, now=now)
    shape = "exists" if session.get_bind().dialect.name == "postgresql" else "in"
    counts = [func.count(case((reachable_clause(name, shape), 1))).label(name) for name in CHANNELS]
    row = session.execute(rule.select(func.count().label("total"), *counts, user=user)).one()
    rows = session.scalars(
        rule.select(Contact, user=user).order_by(Contact.id.desc()).limit(sample)
    ).all()
    return Preview(
        count=row.total,
        reachable={name: int(getattr(row, name)) for name in CHANNELS},
        sample=[_sample(c) for c in rows],
    )


def _sample(contact: Contact) -> SampleContact:
    return SampleContact(
        id=contact.id,
        name=contact.display_name,
        email=contact.email,
        phone=contact.phone,
        city=contact.city,
    )


def segments(session: Session, *, include_archived: bool = False) -> Sequence[Segment]:
    query = select(Segment).order_by(Segment.name, Segment.id)
    if not include_archived:
        query = query.where(Segment.archived_at.is_(None))
    return session.scalars(query).all()


def get(session: Session, segment_id: int) -> Segment:
    found = session.get(Segment, segment_id)
    if found is None or found.archived_at is not None:
        raise NotFound(f"Segment {segment_id} does not exist.")
    return found


def _members_query(segment_id: int, user: User | None) -> Any:
    query = (
        select(Contact, SegmentMember.entered_at)
        .join(SegmentMember, SegmentMember.contact_id == Contact.id)
        .where(SegmentMember.segment_id == segment_id, live_clause())
    )
    return query.where(visible_clause(user)) if user is not None else query


def members_page(
    session: Session, segment_id: int, *, user: User, page: int = 1, per_page: int = 50
) -> tuple[list[tuple[Contact, datetime]], int]:
    """Stored members this user may see, newest entries first, and how many there are."""
    query = _members_query(segment_id, user)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(SegmentMember.entered_at.desc(), Contact.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return [(contact, entered) for contact, entered in rows], total


def member_id_chunks(
    session: Session, segment_id: int, *, user: User, chunk: int = 1_000
) -> Iterator[list[int]]:
    """Member ids this user may see, in id order, a chunk at a time (keyset, flat memory)."""
    last = 0
    while True:
        ids = list(
            session.scalars(
                select(Contact.id)
                .join(SegmentMember, SegmentMember.contact_id == Contact.id)
                .where(
                    SegmentMember.segment_id == segment_id,
                    live_clause(),
                    visible_clause(user),
                    Contact.id > last,
                )
                .order_by(Contact.id)
                .limit(chunk)
            )
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def visible_size(session: Session, segment_id: int, *, user: User) -> int:
    """The stored size as this user sees it (sales users: only their visible contacts)."""
    query = _members_query(segment_id, user)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def size_history(
    session: Session, segment_id: int, *, today: date, days: int = 90
) -> list[tuple[date, int]]:
    """(day, size) for the trend chart, oldest first; days without a refresh are absent."""
    rows = session.execute(
        select(SegmentSize.day, SegmentSize.size)
        .where(SegmentSize.segment_id == segment_id, SegmentSize.day > today - timedelta(days))
        .order_by(SegmentSize.day)
    ).all()
    return [(day, size) for day, size in rows]


def has_prebuilt(session: Session) -> bool:
    """Whether the prebuilt segments were created once (archived ones count)."""
    return session.scalar(select(Segment.id).where(Segment.key.is_not(None)).limit(1)) is not None
