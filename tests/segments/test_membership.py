"""Stored membership: a refresh records who entered and who left, a second refresh changes
nothing, the changed-contacts refresh touches only those contacts, static lists, prebuilt
segments, and the size history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact, ContactIdentity, IdentityKind
from retentio.db import session_scope
from retentio.profiles.models import Profile
from retentio.segments import prebuilt, service
from retentio.segments.models import (
    ChangeKind,
    SegmentChange,
    SegmentKind,
    SegmentMember,
    SegmentSize,
)
from retentio.settings import Settings

NOW = datetime(2025, 12, 30, 12, tzinfo=UTC)
CITY_RULE = {"field": "contact.city", "op": "eq", "value": "Kazan"}


def _contacts(session: Session, *cities: str | None) -> list[int]:
    people = [Contact(first_name=f"P{i}", city=city) for i, city in enumerate(cities)]
    session.add_all(people)
    session.flush()
    return [p.id for p in people]


def _changes(session: Session, segment_id: int) -> list[tuple[int, ChangeKind]]:
    rows = session.execute(
        select(SegmentChange.contact_id, SegmentChange.change)
        .where(SegmentChange.segment_id == segment_id)
        .order_by(SegmentChange.id)
    )
    return [(c, k) for c, k in rows]


def _members(session: Session, segment_id: int) -> set[int]:
    return set(
        session.scalars(
            select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id)
        )
    )


def test_refresh_records_entered_and_left_and_a_rerun_changes_nothing(settings: Settings) -> None:
    url = settings.database_url
    with session_scope(url) as session:
        a, b, c = _contacts(session, "Kazan", "Kazan", "Perm")
        segment = service.create_segment(
            session, name="Kazan", kind=SegmentKind.DYNAMIC, rule=CITY_RULE
        )
        sid = segment.id
        first = service.refresh_segment(session, sid, now=NOW)
    assert (first.entered, first.left, first.size) == (2, 0, 2)
    with session_scope(url) as session:
        session.get_one(Contact, a).city = "Perm"
        session.get_one(Contact, c).city = "Kazan"
    with session_scope(url) as session:
        second = service.refresh_segment(session, sid, now=NOW + timedelta(hours=1))
        again = service.refresh_segment(session, sid, now=NOW + timedelta(hours=2))
        assert _members(session, sid) == {b, c}
        # rows of one INSERT … SELECT come in no promised order: compare as sets
        assert sorted(_changes(session, sid)) == sorted(
            [
                (a, ChangeKind.ENTERED),
                (b, ChangeKind.ENTERED),
                (c, ChangeKind.ENTERED),
                (a, ChangeKind.LEFT),
            ]
        )
        sizes = session.scalars(select(SegmentSize.size).where(SegmentSize.segment_id == sid))
        assert list(sizes) == [2]  # one point per day, the last refresh of the day
    assert (second.entered, second.left, second.size) == (1, 1, 2)
    assert (again.entered, again.left, again.size) == (0, 0, 2)


def test_changed_contacts_refresh_touches_only_those_contacts(settings: Settings) -> None:
    url = settings.database_url
    with session_scope(url) as session:
        a, b = _contacts(session, "Kazan", "Perm")
        sid = service.create_segment(
            session, name="Kazan", kind=SegmentKind.DYNAMIC, rule=CITY_RULE
        ).id
        service.refresh_segment(session, sid, now=NOW)
    with session_scope(url) as session:
        session.get_one(Contact, a).city = "Perm"
        session.get_one(Contact, b).city = "Kazan"
    with session_scope(url) as session:
        results = service.refresh_contacts(session, [b], now=NOW)
        # a changed too, but only b was reported: a stays until a full refresh
        assert _members(session, sid) == {a, b}
        assert [(r.entered, r.left, r.size) for r in results] == [(1, 0, 2)]
        again = service.refresh_contacts(session, [a, b], now=NOW)
        assert _members(session, sid) == {b}
        # the stored size follows the changes without a recount
        assert [(r.entered, r.left, r.size) for r in again] == [(0, 1, 1)]


def _with_clv(session: Session, clv: dict[int, int | None]) -> None:
    session.add_all(
        Profile(
            contact_id=contact_id,
            clv_12m=None if value is None else Decimal(value),
            lifecycle_stage="customer",
            computed_at=NOW,
        )
        for contact_id, value in clv.items()
    )


def _top(percent: float) -> dict[str, object]:
    return {"field": "profile.clv_12m", "op": "top_percent", "value": percent}


def test_the_top_percent_of_a_lone_value_holds_it_and_ties_at_the_threshold_share_it(
    settings: Settings,
) -> None:
    # given: one customer with a predicted value, one without
    url = settings.database_url
    with session_scope(url) as session:
        lone, unknown, high, low = _contacts(session, None, None, None, None)
        _with_clv(session, {lone: 100, unknown: None})
        top10 = service.create_segment(
            session, name="Top 10 %", kind=SegmentKind.DYNAMIC, rule=_top(10)
        ).id
        half = service.create_segment(
            session, name="Top half", kind=SegmentKind.DYNAMIC, rule=_top(50)
        ).id
        # when
        service.refresh_segment(session, top10, now=NOW)
        # then: a lone value ranks first (percent_rank 0), whatever the percentage
        assert _members(session, top10) == {lone}
    # given: two more values, one tied with the first: 100, 100, 50
    with session_scope(url) as session:
        _with_clv(session, {high: 100, low: 50})
    # when
    with session_scope(url) as session:
        service.refresh_segment(session, half, now=NOW)
        service.refresh_contacts(session, [lone, unknown, high, low], now=NOW)
        # then: the top half of three is the first value and all tied with it
        assert _members(session, half) == {lone, high}
        assert _members(session, top10) == {lone, high}


def test_deleted_contacts_leave_dynamic_segments(settings: Settings) -> None:
    url = settings.database_url
    with session_scope(url) as session:
        (a,) = _contacts(session, "Kazan")
        sid = service.create_segment(
            session, name="Kazan", kind=SegmentKind.DYNAMIC, rule=CITY_RULE
        ).id
        service.refresh_segment(session, sid, now=NOW)
        session.get_one(Contact, a).deleted_at = NOW
        session.flush()
        result = service.refresh_contacts(session, [a], now=NOW)
    assert [(r.entered, r.left, r.size) for r in result] == [(0, 1, 0)]


def test_static_segment_from_a_list_reports_unmatched_values(settings: Settings) -> None:
    url = settings.database_url
    with session_scope(url) as session:
        a, b = _contacts(session, None, None)
        session.add_all(
            [
                ContactIdentity(contact_id=a, kind=IdentityKind.EMAIL, value="anna@example.com"),
                ContactIdentity(contact_id=b, kind=IdentityKind.PHONE, value="+79161234567"),
                ContactIdentity(contact_id=b, kind=IdentityKind.EXTERNAL, value="import:C-7"),
            ]
        )
        sid = service.create_segment(session, name="List", kind=SegmentKind.STATIC).id
        result = service.add_from_list(
            session,
            sid,
            ["  Anna@Example.com", "8 (916) 123-45-67", "C-7", "nobody@example.com", "x"],
            region="RU",
            now=NOW,
        )
        again = service.add_from_list(session, sid, ["anna@example.com"], region="RU", now=NOW)
        assert _members(session, sid) == {a, b}
        assert sorted(_changes(session, sid)) == [(a, ChangeKind.ENTERED), (b, ChangeKind.ENTERED)]
        removed = service.remove_contacts(session, sid, [a], now=NOW)
        assert _members(session, sid) == {b}
    assert (result.matched, result.added, result.unmatched) == (
        2,
        2,
        ["nobody@example.com", "x"],
    )
    assert (again.matched, again.added) == (1, 0)
    assert removed == 1


def test_prebuilt_segments_are_created_once(settings: Settings) -> None:
    url = settings.database_url
    with session_scope(url) as session:
        created = prebuilt.ensure_prebuilt(session)
        again = prebuilt.ensure_prebuilt(session)
        results = service.refresh_all(session, now=NOW)
    assert len(created) == len(prebuilt.PREBUILT) == 17
    assert again == []
    assert len(results) == 17
