"""Merging two records of the same person into one, keeping the union of their histories.

Every row that points at the merged-away contact is moved to the survivor in one statement per
table; rows that would collide on a unique key (a tag both had, the same consent slot) keep the
survivor's. The merged-away record stays, soft-deleted, pointing at the survivor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.audit.models import AuditEntry
from retentio.commerce.models import Order
from retentio.consent.models import ConsentEvent, ConsentState
from retentio.contacts.models import (
    Contact,
    ContactIdentity,
    ContactMerge,
    ContactNote,
    ContactTag,
    ContactWatcher,
)
from retentio.contacts.service import PLAIN_FIELDS
from retentio.errors import InvalidInput
from retentio.events.models import Event
from retentio.forms.models import FormSubmission

FILLABLE = (*PLAIN_FIELDS, "email", "phone", "telegram", "company_id", "owner_id")
# Tables with a plain contact_id column and no unique key involving it.
MOVABLE: tuple[Any, ...] = (
    Order,
    Event,
    ConsentEvent,
    ContactIdentity,
    ContactNote,
    FormSubmission,
)


class CannotMerge(InvalidInput):
    code = "cannot_merge"


def merge_contacts(
    session: Session, *, winner: Contact, loser: Contact, actor_id: int | None, now: datetime
) -> ContactMerge:
    if winner.id == loser.id or loser.deleted_at is not None or winner.deleted_at is not None:
        raise CannotMerge("Pick two different, existing contacts to merge.")
    summary: dict[str, Any] = {"loser": _fields_of(loser), "moved": {}}
    for model in MOVABLE:
        result = session.execute(
            update(model).where(model.contact_id == loser.id).values(contact_id=winner.id)
        )
        summary["moved"][model.__tablename__] = result.rowcount  # type: ignore[attr-defined]
    summary["moved"]["contact_tags"] = _move_pairs(
        session, ContactTag, ContactTag.tag_id, loser, winner
    )
    summary["moved"]["contact_watchers"] = _move_pairs(
        session, ContactWatcher, ContactWatcher.user_id, loser, winner
    )
    summary["moved"]["consent_states"] = _move_consent_states(session, loser, winner)
    _fill_gaps(winner, loser)
    winner.is_anonymous = winner.is_anonymous and loser.is_anonymous
    winner.custom = {**loser.custom, **winner.custom}
    loser.deleted_at, loser.merged_into_id = now, winner.id
    loser.email = loser.phone = loser.telegram = None
    record = ContactMerge(
        winner_id=winner.id, loser_id=loser.id, actor_id=actor_id, summary=summary
    )
    session.add(record)
    audit.record(
        session,
        entity="contact",
        entity_id=winner.id,
        action="merge",
        actor_id=actor_id,
        changes={"merged_contact_id": loser.id, "moved": summary["moved"]},
    )
    session.execute(
        update(AuditEntry)
        .where(AuditEntry.entity == "contact", AuditEntry.entity_id == loser.id)
        .values(entity_id=winner.id)
    )
    session.flush()
    return record


def _move_pairs(session: Session, model: Any, other: Any, loser: Contact, winner: Contact) -> int:
    """Move (contact, x) rows, dropping those the winner already has."""
    winner_has = select(other).where(model.contact_id == winner.id).scalar_subquery()
    session.execute(delete(model).where(model.contact_id == loser.id, other.in_(winner_has)))
    result = session.execute(
        update(model).where(model.contact_id == loser.id).values(contact_id=winner.id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _move_consent_states(session: Session, loser: Contact, winner: Contact) -> int:
    """Per channel and purpose the newer answer wins: consent follows the latest decision."""
    moved = 0
    for state in session.scalars(select(ConsentState).where(ConsentState.contact_id == loser.id)):
        mine = session.get(ConsentState, (winner.id, state.channel, state.purpose))
        if mine is None:
            session.add(
                ConsentState(
                    contact_id=winner.id,
                    channel=state.channel,
                    purpose=state.purpose,
                    granted=state.granted,
                    updated_at=state.updated_at,
                    event_id=state.event_id,
                )
            )
            moved += 1
        elif state.updated_at > mine.updated_at:
            mine.granted, mine.updated_at, mine.event_id = (
                state.granted,
                state.updated_at,
                state.event_id,
            )
            moved += 1
        session.delete(state)
    session.flush()
    return moved


def _fill_gaps(winner: Contact, loser: Contact) -> None:
    for name in FILLABLE:
        if getattr(winner, name) in (None, "") and getattr(loser, name) not in (None, ""):
            setattr(winner, name, getattr(loser, name))
    if loser.created_at < winner.created_at:
        winner.created_at = loser.created_at


def _fields_of(contact: Contact) -> dict[str, Any]:
    values = {n: getattr(contact, n) for n in FILLABLE}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}


def count_history(session: Session, contact_id: int) -> dict[str, int]:
    """Rows attached to a contact, table by table (for the merge preview and tests)."""
    counts = {}
    for model in (*MOVABLE, ContactTag, ContactWatcher, ConsentState):
        counts[model.__tablename__] = (
            session.scalar(
                select(func.count()).select_from(model).where(model.contact_id == contact_id)
            )
            or 0
        )
    return counts
