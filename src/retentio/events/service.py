"""Event ingestion: de-duplicate by message id, find the contact, store in bulk.

A batch is one transaction. Duplicates (within the batch, across retries, across concurrent
requests) are settled by the primary key of `event_dedup`: whichever insert wins stores the
event, the others count it as a duplicate. Contacts are resolved from one prefetch of every
identity in the batch, so a batch of known visitors costs a handful of queries.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from retentio.contacts import identities
from retentio.contacts.models import Contact
from retentio.contacts.resolve import Key, Who, resolve
from retentio.errors import InvalidInput
from retentio.events.models import Event, EventDedup
from retentio.events.schemas import EventIn, IngestResult

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


def ingest(
    session: Session,
    events: list[EventIn],
    *,
    source_id: int | None,
    default_region: str,
    now: datetime,
) -> IngestResult:
    unique = list({e.message_id: e for e in reversed(events)}.values())[::-1]
    fresh_ids = _claim_message_ids(session, [e.message_id for e in unique], now)
    fresh = [e for e in unique if e.message_id in fresh_ids]
    whos = [_who(e, index) for index, e in enumerate(fresh)]
    owners = identities.owners_of(session, (k for w in whos for k in w.keys(default_region)))
    rows = []
    for event, who in zip(fresh, whos, strict=True):
        contact = _contact_for(session, who, owners, default_region=default_region, now=now)
        if event.traits:
            _apply_traits(contact, event.traits)
        _first_touch_utm(contact, event.context)
        rows.append(
            {
                "contact_id": contact.id,
                "type": event.type,
                "occurred_at": event.occurred_at or now,
                "received_at": now,
                "message_id": event.message_id,
                "source_id": source_id,
                "properties": event.properties,
                "context": event.context,
            }
        )
    session.flush()
    if rows:
        session.execute(insert(Event), rows)
    return IngestResult(accepted=len(rows), duplicates=len(events) - len(rows))


def _claim_message_ids(session: Session, message_ids: list[str], now: datetime) -> set[str]:
    if not message_ids:
        return set()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(EventDedup)
        .values([{"message_id": m, "received_at": now} for m in message_ids])
        .on_conflict_do_nothing()
        .returning(EventDedup.message_id)
    )
    return set(session.scalars(statement))


def _who(event: EventIn, index: int) -> Who:
    who = Who(
        external_id=event.user_id,
        email=event.email,
        phone=event.phone,
        anonymous_id=event.anonymous_id,
    )
    if not (who.external_id or who.email or who.phone or who.anonymous_id):
        raise InvalidInput(
            f"events[{index}]: identify the person with user_id, email, phone or anonymous_id.",
            details={"field": f"events.{index}.user_id"},
        )
    return who


def _contact_for(
    session: Session, who: Who, owners: dict[Key, int], *, default_region: str, now: datetime
) -> Contact:
    keys = who.keys(default_region)
    holders = {owners.get(k) for k in keys}
    if len(holders) == 1 and None not in holders:
        # Every key already points at the same contact: nothing to create or merge.
        contact = session.get(Contact, holders.pop())
        if contact is not None and contact.merged_into_id is None:
            return contact
    return resolve(session, who, default_region=default_region, now=now, owners=owners)


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
    for key, field in UTM_FIELDS.items():
        value = campaign.get(key)
        if isinstance(value, str) and value and getattr(contact, field) is None:
            setattr(contact, field, value[:200])
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
