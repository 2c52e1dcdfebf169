"""Stored membership of dynamic segments, refreshed by set difference in SQL.

A refresh evaluates the rule once into a temporary table, then in four statements records who
entered and who left (`segment_changes`), inserts and deletes members, and keeps the day's size.
Refreshing again with nothing changed writes no change rows. "Changed contacts first" does the
same restricted to a set of contact ids (a temporary table too), with correlated sub-queries,
so it costs per changed contact, not per contact in the base.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Table,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.db import UTCDateTime
from retentio.segments.compiler import compile_rule
from retentio.segments.models import (
    ChangeKind,
    Segment,
    SegmentChange,
    SegmentKind,
    SegmentMember,
    SegmentSize,
)
from retentio.segments.queries import context
from retentio.segments.rules import parse_rule

# Per-connection scratch tables, outside Base.metadata (they are no part of the schema).
_scratch = MetaData()
EVALUATED = Table("segment_eval_tmp", _scratch, Column("contact_id", Integer, primary_key=True))
SCOPE = Table("segment_scope_tmp", _scratch, Column("contact_id", Integer, primary_key=True))
SCOPE_BATCH = 5_000


@dataclass(frozen=True)
class RefreshResult:
    segment_id: int
    entered: int
    left: int
    size: int


def _scratch_table(session: Session, table: Table) -> None:
    session.execute(
        text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table.name} (contact_id INTEGER PRIMARY KEY)")
    )
    if session.get_bind().dialect.name == "postgresql":
        # The table lives as long as the pooled connection: after a full refresh it may hold a
        # million rows, which TRUNCATE drops at once where DELETE would visit each.
        session.execute(text(f"TRUNCATE {table.name}"))
    else:
        session.execute(delete(table))


def refresh(
    session: Session, segment: Segment, *, now: datetime, scoped: bool = False
) -> RefreshResult:
    """Bring the stored members of a dynamic segment in line with its rule. With `scoped`, only
    the contacts in the scope table (see `fill_scope`) are re-evaluated."""
    assert segment.kind == SegmentKind.DYNAMIC
    assert segment.rule is not None
    ctx = context(session, now=now, correlate=scoped)
    matching = compile_rule(parse_rule(segment.rule), ctx).ids()
    in_scope = Contact.id.in_(select(SCOPE.c.contact_id))
    _scratch_table(session, EVALUATED)
    session.execute(
        insert(EVALUATED).from_select(
            ["contact_id"], matching.where(in_scope) if scoped else matching
        )
    )
    sid = segment.id
    is_member = exists().where(
        SegmentMember.segment_id == sid, SegmentMember.contact_id == EVALUATED.c.contact_id
    )
    if scoped:
        # The few re-evaluated contacts that no longer match, found first: the members are then
        # looked up by key instead of anti-joining every member of a large segment.
        dropped = select(SCOPE.c.contact_id).where(
            ~exists().where(EVALUATED.c.contact_id == SCOPE.c.contact_id)
        )
        stale = [SegmentMember.segment_id == sid, SegmentMember.contact_id.in_(dropped)]
    else:
        still_matching = exists().where(EVALUATED.c.contact_id == SegmentMember.contact_id)
        stale = [SegmentMember.segment_id == sid, ~still_matching]
    change_columns = ["segment_id", "contact_id", "change", "changed_at"]
    mark = _last_change_id(session)
    newcomers = select(
        literal(sid),
        EVALUATED.c.contact_id,
        literal(ChangeKind.ENTERED.value),
        literal(now, UTCDateTime()),
    ).where(~is_member)
    session.execute(insert(SegmentChange).from_select(change_columns, newcomers))
    leavers = select(
        literal(sid),
        SegmentMember.contact_id,
        literal(ChangeKind.LEFT.value),
        literal(now, UTCDateTime()),
    ).where(*stale)
    session.execute(insert(SegmentChange).from_select(change_columns, leavers))
    session.execute(delete(SegmentMember).where(*stale))
    session.execute(
        insert(SegmentMember).from_select(
            ["segment_id", "contact_id", "entered_at"],
            select(literal(sid), EVALUATED.c.contact_id, literal(now, UTCDateTime())).where(
                ~is_member
            ),
        )
    )
    entered, left = _changes_since(session, sid, mark)
    if scoped:
        # Counting a large segment's members costs more than the scoped refresh itself; the
        # stored size moves by exactly what entered and left, atomically (refreshes may run
        # side by side), and the scheduled full refresh counts again.
        size = _store_size(session, segment, Segment.size + (entered - left), now=now)
    else:
        size = record_size(session, segment, now=now)
    return RefreshResult(sid, entered, left, size)


def _last_change_id(session: Session) -> int:
    return session.scalar(select(func.max(SegmentChange.id))) or 0


def _changes_since(session: Session, segment_id: int, mark: int) -> tuple[int, int]:
    """(entered, left) recorded after `mark`: counted from the rows, because drivers disagree
    on `rowcount` for INSERT … SELECT (psycopg reports -1)."""
    rows = session.execute(
        select(SegmentChange.change, func.count())
        .where(SegmentChange.id > mark, SegmentChange.segment_id == segment_id)
        .group_by(SegmentChange.change)
    )
    counts: dict[ChangeKind, int] = dict(rows.all())
    return counts.get(ChangeKind.ENTERED, 0), counts.get(ChangeKind.LEFT, 0)


def record_size(session: Session, segment: Segment, *, now: datetime) -> int:
    """Store the member count on the segment and as the day's point of its trend."""
    size = (
        session.scalar(
            select(func.count())
            .select_from(SegmentMember)
            .where(SegmentMember.segment_id == segment.id)
        )
        or 0
    )
    return _store_size(session, segment, size, now=now)


def _store_size(
    session: Session, segment: Segment, value: int | ColumnElement[int], *, now: datetime
) -> int:
    size: int = session.execute(
        update(Segment)
        .where(Segment.id == segment.id)
        .values(size=value, refreshed_at=now)
        .returning(Segment.size)
    ).scalar_one()
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert = module.insert(SegmentSize).values(segment_id=segment.id, day=now.date(), size=size)
    session.execute(
        upsert.on_conflict_do_update(index_elements=["segment_id", "day"], set_={"size": size})
    )
    return size


def fill_scope(session: Session, contact_ids: Iterable[int]) -> int:
    """Put the changed contacts in the scope table; how many distinct ones."""
    _scratch_table(session, SCOPE)
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), SCOPE_BATCH):
        batch = ids[start : start + SCOPE_BATCH]
        session.execute(insert(SCOPE), [{"contact_id": i} for i in batch])
    if session.get_bind().dialect.name == "postgresql":
        # Autovacuum never analyses temporary tables: without statistics PostgreSQL guesses the
        # scope's size and may anti-join whole event ranges before narrowing to these contacts.
        session.execute(text(f"ANALYZE {SCOPE.name}"))
    return len(ids)


def dynamic_segments(session: Session) -> Sequence[Segment]:
    return session.scalars(
        select(Segment)
        .where(Segment.kind == SegmentKind.DYNAMIC, Segment.archived_at.is_(None))
        .order_by(Segment.id)
    ).all()


def refresh_contacts(
    session: Session, contact_ids: Iterable[int], *, now: datetime
) -> list[RefreshResult]:
    """Re-evaluate only these contacts for every dynamic segment."""
    if not fill_scope(session, contact_ids):
        return []
    return [refresh(session, s, now=now, scoped=True) for s in dynamic_segments(session)]


def record_static_entries(
    session: Session, segment: Segment, contact_ids: Sequence[int], *, now: datetime
) -> int:
    """Add live contacts to a static segment; those already in it are left as they are."""
    fill_scope(session, contact_ids)
    sid = segment.id
    fresh = select(Contact.id).where(
        Contact.id.in_(select(SCOPE.c.contact_id)),
        Contact.deleted_at.is_(None),
        Contact.merged_into_id.is_(None),
        ~exists().where(SegmentMember.segment_id == sid, SegmentMember.contact_id == Contact.id),
    )
    _scratch_table(session, EVALUATED)
    session.execute(insert(EVALUATED).from_select(["contact_id"], fresh))
    mark = _last_change_id(session)
    session.execute(
        insert(SegmentChange).from_select(
            ["segment_id", "contact_id", "change", "changed_at"],
            select(
                literal(sid),
                EVALUATED.c.contact_id,
                literal(ChangeKind.ENTERED.value),
                literal(now, UTCDateTime()),
            ),
        )
    )
    session.execute(
        insert(SegmentMember).from_select(
            ["segment_id", "contact_id", "entered_at"],
            select(literal(sid), EVALUATED.c.contact_id, literal(now, UTCDateTime())),
        )
    )
    record_size(session, segment, now=now)
    return _changes_since(session, sid, mark)[0]


def record_static_exits(
    session: Session, segment: Segment, contact_ids: Sequence[int], *, now: datetime
) -> int:
    fill_scope(session, contact_ids)
    sid = segment.id
    chosen = [
        SegmentMember.segment_id == sid,
        SegmentMember.contact_id.in_(select(SCOPE.c.contact_id)),
    ]
    mark = _last_change_id(session)
    session.execute(
        insert(SegmentChange).from_select(
            ["segment_id", "contact_id", "change", "changed_at"],
            select(
                literal(sid),
                SegmentMember.contact_id,
                literal(ChangeKind.LEFT.value),
                literal(now, UTCDateTime()),
            ).where(*chosen),
        )
    )
    session.execute(delete(SegmentMember).where(*chosen))
    record_size(session, segment, now=now)
    return _changes_since(session, sid, mark)[1]
