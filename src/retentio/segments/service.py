"""Writing segments: create, change and archive them, fill static ones from a list of contacts
or of addresses, and refresh the stored members of dynamic ones. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from retentio.contacts.identities import external_key, owners_of
from retentio.contacts.models import IdentityKind
from retentio.contacts.normalize import normalize_email, normalize_phone
from retentio.errors import Conflict, InvalidInput
from retentio.segments import membership, queries
from retentio.segments.membership import RefreshResult
from retentio.segments.models import Segment, SegmentKind
from retentio.segments.rules import dump_rule

MAX_LIST_VALUES = 100_000
IMPORT_SYSTEM = "import"


class NotStatic(InvalidInput):
    code = "segment_not_static"


class SegmentInUse(Conflict):
    code = "segment_in_use"


def create_segment(
    session: Session,
    *,
    name: str,
    kind: SegmentKind,
    rule: Any = None,
    description: str = "",
    actor_id: int | None = None,
    key: str | None = None,
) -> Segment:
    """A new segment; a dynamic one's rule is checked and stored in canonical form. Its members
    are filled by `refresh_segment` (the API enqueues it once the segment is committed)."""
    stored = _stored_rule(session, kind, rule, self_id=None)
    segment = Segment(
        name=name.strip(),
        description=description,
        kind=kind,
        rule=stored,
        created_by_id=actor_id,
        key=key,
        size=0,
    )
    session.add(segment)
    session.flush()
    return segment


def _stored_rule(
    session: Session, kind: SegmentKind, rule: Any, *, self_id: int | None
) -> dict[str, Any] | None:
    if kind == SegmentKind.STATIC:
        if rule is not None:
            raise InvalidInput(
                "rule: a static segment has members, not a rule.", details={"field": "rule"}
            )
        return None
    return dump_rule(queries.checked_rule(session, rule, self_id=self_id))


def update_segment(
    session: Session,
    segment_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    rule: Any = None,
) -> Segment:
    """Change what is given; a new rule is checked (no cycles through other segments)."""
    segment = queries.get(session, segment_id)
    if name is not None:
        segment.name = name.strip()
    if description is not None:
        segment.description = description
    if rule is not None:
        segment.rule = _stored_rule(session, segment.kind, rule, self_id=segment.id)
    session.flush()
    return segment


def archive_segment(session: Session, segment_id: int, *, now: datetime) -> None:
    """Hide the segment (its history stays); refused while another segment's rule uses it."""
    segment = queries.get(session, segment_id)
    users = [s.name for s in queries.segments(session) if segment_id in referenced_segments(s.rule)]
    if users:
        raise SegmentInUse(
            f"Segment {segment.name!r} is used by the rule of {', '.join(users)}.",
            details={"used_by": users},
        )
    segment.archived_at = now
    session.flush()


def referenced_segments(rule: Any) -> set[int]:
    """Ids of the segments a stored rule refers to directly."""
    return set(_walk_segments(rule))


def _walk_segments(node: Any) -> Iterator[int]:
    if isinstance(node, dict):
        if isinstance(node.get("segment"), int):
            yield node["segment"]
        for value in node.values():
            yield from _walk_segments(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_segments(item)


# --- membership ------------------------------------------------------------------------------


def refresh_segment(session: Session, segment_id: int, *, now: datetime) -> RefreshResult:
    segment = queries.get(session, segment_id)
    if segment.kind == SegmentKind.STATIC:
        size = membership.record_size(session, segment, now=now)
        return RefreshResult(segment.id, 0, 0, size)
    return membership.refresh(session, segment, now=now)


def refresh_all(session: Session, *, now: datetime) -> list[RefreshResult]:
    """Every dynamic segment in full: the scheduled pass that also catches rules whose answer
    moves with time alone ("within 30 days", birthdays)."""
    return [membership.refresh(session, s, now=now) for s in membership.dynamic_segments(session)]


def refresh_contacts(
    session: Session, contact_ids: Iterable[int], *, now: datetime
) -> list[RefreshResult]:
    """Only these (changed) contacts, for every dynamic segment."""
    return membership.refresh_contacts(session, contact_ids, now=now)


def _static(session: Session, segment_id: int) -> Segment:
    segment = queries.get(session, segment_id)
    if segment.kind != SegmentKind.STATIC:
        raise NotStatic(f"Segment {segment.name!r} is dynamic: its rule decides its members.")
    return segment


def add_contacts(
    session: Session, segment_id: int, contact_ids: Sequence[int], *, now: datetime
) -> int:
    """Add contacts by id (the contact list's bulk action); returns how many were new."""
    segment = _static(session, segment_id)
    return membership.record_static_entries(session, segment, contact_ids, now=now)


def remove_contacts(
    session: Session, segment_id: int, contact_ids: Sequence[int], *, now: datetime
) -> int:
    segment = _static(session, segment_id)
    return membership.record_static_exits(session, segment, contact_ids, now=now)


@dataclass
class ListResult:
    matched: int = 0
    added: int = 0
    unmatched: list[str] = field(default_factory=list)  # values no contact has


def add_from_list(
    session: Session,
    segment_id: int,
    values: Sequence[str],
    *,
    region: str,
    now: datetime,
) -> ListResult:
    """Add the contacts named by e-mails, phones or external ids, one per value, normalised as
    on import; values that match nobody are reported, not fatal."""
    segment = _static(session, segment_id)
    cleaned = [v.strip() for v in values if v and v.strip()]
    if len(cleaned) > MAX_LIST_VALUES:
        raise InvalidInput(
            f"values: at most {MAX_LIST_VALUES} per upload.", details={"field": "values"}
        )
    candidates = {value: list(_identity_keys(value, region)) for value in cleaned}
    owners = owners_of(session, (k for keys in candidates.values() for k in keys))
    result = ListResult()
    found: set[int] = set()
    for value, keys in candidates.items():
        owner = next((owners[k] for k in keys if k in owners), None)
        if owner is None:
            result.unmatched.append(value)
        else:
            found.add(owner)
    result.matched = len(found)
    result.added = membership.record_static_entries(session, segment, sorted(found), now=now)
    return result


def _identity_keys(value: str, region: str) -> Iterator[tuple[IdentityKind, str]]:
    """Every identity a listed value may be: an e-mail, a phone, an external id (as given,
    `system:id`, or as the importer stores a bare one)."""
    if "@" in value:
        email = _normalised(normalize_email, value)
        if email:
            yield IdentityKind.EMAIL, email
        return
    if sum(ch.isdigit() for ch in value) >= 7 and set(value) <= set("+0123456789 ()-."):
        phone = _normalised(lambda v: normalize_phone(v, default_region=region), value)
        if phone:
            yield IdentityKind.PHONE, phone
    if ":" in value:
        yield IdentityKind.EXTERNAL, value
    yield IdentityKind.EXTERNAL, external_key(IMPORT_SYSTEM, value)


def _normalised(normalize: Callable[[str], str], value: str) -> str | None:
    try:
        return normalize(value)
    except InvalidInput:
        return None  # not that kind of identity: reported as unmatched if nothing else fits
