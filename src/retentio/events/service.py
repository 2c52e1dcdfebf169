"""Event ingestion: de-duplicate by message id, find the contacts, store in bulk.

A batch is one transaction. Every event is checked (identity present, e-mail and phone valid)
before anything is written, so a bad event rejects the whole batch. Duplicates (within the
batch, across retries, across concurrent requests) are settled by the primary key of
`event_dedup`: whichever insert wins stores the event, the others count it as a duplicate.
Who is who is worked out for the whole batch at once (`retentio.events.people`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.contacts.resolve import ConcurrentNewcomer, Who
from retentio.errors import InvalidInput
from retentio.events.models import Event, EventDedup
from retentio.events.people import BatchPeople, Incoming
from retentio.events.schemas import EventIn, IngestResult
from retentio.kit.upsert import insert_ignoring
from retentio.profiles.lifecycle import EVALUATION_EVENTS
from retentio.profiles.service import request_refresh

TRAIT_FIELDS = {
    "first_name": "first_name",
    "firstName": "first_name",
    "last_name": "last_name",
    "lastName": "last_name",
    "city": "city",
    "gender": "gender",
    "birthday": "birthday",
    "language": "language",
    "timezone": "timezone",
}
UTM_FIELDS = {
    "source": "utm_source",
    "medium": "utm_medium",
    "name": "utm_campaign",
    "campaign": "utm_campaign",
    "content": "utm_content",
    "term": "utm_term",
}
DEDUP_RETENTION = timedelta(days=30)
# A batch that lost a newcomer race is done again this many times in all before the sender is
# asked to send it again (503): more than one loss in a row means a burst of the same people.
NEWCOMER_ATTEMPTS = 3
EVENTS = cast(Table, Event.__table__)
DEDUP = cast(Table, EventDedup.__table__)
# Two values a row, well under SQLite's limit of 32,766 bound values per statement.
SQLITE_ROWS_PER_STATEMENT = 1000


def ingest(
    session: Session,
    events: list[EventIn],
    *,
    source_id: int | None,
    default_region: str,
    now: datetime,
) -> IngestResult:
    """Store the events not seen before; flushes, never commits (the caller owns the batch).

    Two concurrent batches may bring the same new person (PostgreSQL; SQLite has one writer
    at a time). The one that loses the race (`ConcurrentNewcomer`) is undone to a savepoint
    and done again at once — by then the winner has committed and the person is found —
    rather than asking the sender to send the whole batch again.

    The contacts whose profile the events may change are marked for the refresh job in the
    same transaction (`profiles.service.request_refresh`); call `after_ingest` once committed.
    """
    for _ in range(NEWCOMER_ATTEMPTS - 1):
        try:
            with session.begin_nested():
                result = _ingest(session, events, source_id, default_region, now)
            break
        except ConcurrentNewcomer:
            continue
    else:
        result = _ingest(session, events, source_id, default_region, now)
    request_refresh(session, result.touched, now=now)
    return result


def _ingest(
    session: Session, events: list[EventIn], source: int | None, region: str, now: datetime, /
) -> IngestResult:
    checked = [_check(event, index, region) for index, event in _first_of_each(events)]
    fresh_ids = _claim_message_ids(session, [c.event.message_id for c in checked], now)
    fresh = [c for c in checked if c.event.message_id in fresh_ids]
    people = BatchPeople.find(session, fresh, default_region=region, now=now)
    contact_ids = []
    for item in fresh:
        contact_id = people.contact_id(item)
        if item.touches:
            _touch(session, contact_id, item.event)
        contact_ids.append(contact_id)
    session.flush()
    final_ids = people.final_ids(contact_ids)
    _store(session, fresh, final_ids, source_id=source, now=now)
    return IngestResult(
        accepted=len(fresh),
        duplicates=len(events) - len(fresh),
        touched=_profile_changes(fresh, final_ids, people),
    )


def _profile_changes(
    fresh: list[Incoming], contact_ids: list[int], people: BatchPeople
) -> list[int]:
    """Contacts whose profile these events may change: events only move the stage of people
    without orders (interest, evaluation), so a cart or a checkout, or a newcomer; and after a
    merge, the survivor holds the orders of both."""
    if people.merges_possible:
        return sorted(set(contact_ids))
    return sorted(
        {
            contact_id
            for item, contact_id in zip(fresh, contact_ids, strict=True)
            if item.event.type in EVALUATION_EVENTS or contact_id in people.created
        }
    )


def ingest_one(
    session: Session,
    event: EventIn,
    *,
    source_id: int | None,
    default_region: str,
    now: datetime,
) -> IngestResult:
    """`ingest()` of a single event; errors name its fields without the `events.0.` prefix."""
    try:
        return ingest(session, [event], source_id=source_id, default_region=default_region, now=now)
    except InvalidInput as error:
        raise relabel(error, lambda name: name.removeprefix("events.0.")) from error


def relabel(error: InvalidInput, rename: Callable[[str], str]) -> InvalidInput:
    """The same error with its field named as the caller's input names it."""
    details = dict(error.details) if isinstance(error.details, dict) else {}
    old = str(details.get("field", ""))
    if not old:
        return error
    details["field"] = rename(old)
    return type(error)(error.message.replace(old, details["field"], 1), details=details)


def _first_of_each(events: list[EventIn]) -> list[tuple[int, EventIn]]:
    """The first occurrence of each message id, with its position in the request."""
    first: dict[str, tuple[int, EventIn]] = {}
    for index, event in enumerate(events):
        first.setdefault(event.message_id, (index, event))
    return list(first.values())


def _check(event: EventIn, index: int, default_region: str) -> Incoming:
    who = Who(
        external_id=event.user_id,
        email=event.email,
        phone=event.phone,
        anonymous_id=event.anonymous_id,
    )
    try:
        keys = who.keys(default_region)
    except InvalidInput as error:
        raise _located(error, index) from error
    if not keys:
        raise InvalidInput(
            f"events.{index}.user_id: identify the person with user_id, email, phone or "
            "anonymous_id.",
            details={"field": f"events.{index}.user_id"},
        )
    return Incoming(event, keys)


def _located(error: InvalidInput, index: int) -> InvalidInput:
    """The same error, its field prefixed with the event's position (`email` → `events.3.email`)."""
    details = dict(error.details) if isinstance(error.details, dict) else {}
    details["field"] = f"events.{index}.{details.get('field', '')}".rstrip(".")
    return type(error)(f"events.{index}.{error.message}", details=details)


def _claim_message_ids(session: Session, message_ids: list[str], now: datetime) -> set[str]:
    """The ids not stored before, now claimed. Sorted, so two concurrent batches sharing ids
    take the key locks in the same order and cannot deadlock on PostgreSQL."""
    if not message_ids:
        return set()
    ordered = sorted(message_ids)
    if session.get_bind().dialect.name == "sqlite":
        return _claim_on_sqlite(session, ordered, now)
    # One cached statement with many parameter sets (SQLAlchemy sends multi-row INSERTs).
    statement = insert_ignoring(session, DEDUP).returning(DEDUP.c.message_id)
    params = [{"message_id": m, "received_at": now} for m in ordered]
    return set(session.scalars(statement, params))


def _claim_on_sqlite(session: Session, message_ids: list[str], now: datetime) -> set[str]:
    # The hot path on SQLite: one multi-row statement per chunk, values bound as SQLAlchemy
    # stores them; its per-value processing cost more than the insert itself.
    received = _sqlite_time(now)
    claimed: set[str] = set()
    for start in range(0, len(message_ids), SQLITE_ROWS_PER_STATEMENT):
        chunk = message_ids[start : start + SQLITE_ROWS_PER_STATEMENT]
        sql = (
            "INSERT INTO event_dedup (message_id, received_at) VALUES "  # noqa: S608 - placeholders
            + ", ".join(["(?, ?)"] * len(chunk))
            + " ON CONFLICT DO NOTHING RETURNING message_id"
        )
        params = tuple(value for m in chunk for value in (m, received))
        # `.scalars().all()` fetches in one call; iterating the result fetches row by row.
        claimed.update(session.connection().exec_driver_sql(sql, params).scalars().all())
    return claimed


def _touch(session: Session, contact_id: int, event: EventIn) -> None:
    contact = session.get(Contact, contact_id)
    if contact is None:
        return
    if event.traits:
        _apply_traits(contact, event.traits)
    _first_touch_utm(contact, event.context)


def _store(
    session: Session,
    fresh: list[Incoming],
    contact_ids: list[int],
    *,
    source_id: int | None,
    now: datetime,
) -> None:
    if not fresh:
        return
    if session.get_bind().dialect.name != "sqlite":
        rows = [
            _row(item.event, contact_id, source_id, now)
            for item, contact_id in zip(fresh, contact_ids, strict=True)
        ]
        session.execute(insert(EVENTS), rows)
        return
    # The hot path on SQLite: plain tuples straight to the driver, no per-row dict. The values
    # are stored as SQLAlchemy would store them (UTC datetimes as text in its SQLite format,
    # JSON as text), so the ORM reads them back as usual.
    received = _sqlite_time(now)
    values = [
        (
            contact_id,
            event.type,
            received if event.occurred_at is None else _sqlite_time(event.occurred_at),
            received,
            event.message_id,
            source_id,
            _json_text(event.properties),
            _json_text(event.context),
        )
        for event, contact_id in zip((item.event for item in fresh), contact_ids, strict=True)
    ]
    session.connection().exec_driver_sql(SQLITE_INSERT, values)


def _row(event: EventIn, contact_id: int, source_id: int | None, now: datetime) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "type": event.type,
        "occurred_at": event.occurred_at or now,
        "received_at": now,
        "message_id": event.message_id,
        "source_id": source_id,
        "properties": event.properties,
        "context": event.context,
    }


EVENT_COLUMNS = (
    "contact_id",
    "type",
    "occurred_at",
    "received_at",
    "message_id",
    "source_id",
    "properties",
    "context",
)
SQLITE_INSERT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608 - constant column names
    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)


def _json_text(value: Any) -> str:
    # pydantic-core's serializer: a third of `json.dumps`'s cost per call. NaN and infinities as
    # `json.dumps` writes them (and `json.loads` reads them back), not as null.
    return to_json(value, inf_nan_mode="constants").decode()


def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, of the UTC time (as `UTCDateTime` binds it).
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _apply_traits(contact: Contact, traits: dict[str, Any]) -> None:
    for key, value in traits.items():
        name = TRAIT_FIELDS.get(key)
        if name is None or value in (None, ""):
            continue
        if name == "birthday":
            try:
                value = date.fromisoformat(str(value)[:10])
            except ValueError:
                continue
        if name == "gender":
            value = str(value)[:1].lower()
            if value not in ("f", "m"):
                continue
        setattr(contact, name, str(value)[:100] if isinstance(value, str) else value)


def _first_touch_utm(contact: Contact, context: dict[str, Any]) -> None:
    """The campaign that brought a person in is kept; later visits do not overwrite it."""
    campaign = context.get("campaign")
    if not isinstance(campaign, dict) or contact.utm_source:
        return
    for key, field_name in UTM_FIELDS.items():
        value = campaign.get(key)
        if isinstance(value, str) and value and getattr(contact, field_name) is None:
            setattr(contact, field_name, value[:200])
    if contact.utm_source and not contact.source:
        contact.source = contact.utm_source[:100]


def prune_dedup(session: Session, *, now: datetime, retention: timedelta = DEDUP_RETENTION) -> int:
    """Forget message ids older than the retention window (a periodic worker job)."""
    result = session.execute(delete(EventDedup).where(EventDedup.received_at < now - retention))
    return int(result.rowcount)  # type: ignore[attr-defined]


def parse_events(raw: list[dict[str, Any]]) -> list[EventIn]:
    """Validate raw dicts, naming the index of the first bad event."""
    parsed = []
    for index, item in enumerate(raw):
        try:
            parsed.append(EventIn.model_validate(item))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(
                f"events[{index}].{where}: {first['msg']}",
                details={"field": f"events.{index}.{where}"},
            ) from error
    return parsed
