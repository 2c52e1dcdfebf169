"""Data subject rights: export everything about a contact, or erase the person from it.

Erasure removes personal fields, identities, notes, behavioural events and form answers; orders
stay, attached to the anonymised record, so revenue figures do not change. Both are audited.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.audit.models import AuditEntry
from retentio.commerce.models import Order, OrderItem
from retentio.consent.models import ConsentEvent
from retentio.contacts import identities
from retentio.contacts.merge import FILLABLE
from retentio.contacts.models import Contact, ContactIdentity, ContactNote, ContactTag
from retentio.contacts.queries import tags_by_contact
from retentio.events.models import Event
from retentio.forms.models import FormSubmission

PERSONAL = (*FILLABLE, "middle_name")


def export_contact(session: Session, contact: Contact, *, actor_id: int | None) -> dict[str, Any]:
    audit.record(
        session, entity="contact", entity_id=contact.id, action="export", actor_id=actor_id
    )
    orders = session.scalars(
        select(Order).where(Order.contact_id == contact.id).order_by(Order.placed_at)
    ).all()
    items = _items_by_order(session, [o.id for o in orders])
    exported: dict[str, Any] = _plain(
        {
            "contact": {c.key: getattr(contact, c.key) for c in Contact.__table__.columns},
            "identities": [
                {"kind": i.kind.value, "value": i.value, "created_at": i.created_at}
                for i in identities.identities_of(session, contact.id)
            ],
            "tags": tags_by_contact(session, [contact.id])[contact.id],
            "consent": _rows(session, ConsentEvent, contact.id, ConsentEvent.occurred_at),
            "orders": [
                {
                    **{c.key: getattr(o, c.key) for c in Order.__table__.columns},
                    "items": items.get(o.id, []),
                }
                for o in orders
            ],
            "events": _rows(session, Event, contact.id, Event.occurred_at),
            "notes": _rows(session, ContactNote, contact.id, ContactNote.created_at),
            "form_submissions": _rows(
                session, FormSubmission, contact.id, FormSubmission.submitted_at
            ),
            "changes": [
                {
                    "action": a.action,
                    "actor_id": a.actor_id,
                    "changes": a.changes,
                    "at": a.created_at,
                }
                for a in session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.entity == "contact", AuditEntry.entity_id == contact.id)
                    .order_by(AuditEntry.id)
                )
            ],
        }
    )
    return exported


def erase_contact(
    session: Session, contact: Contact, *, actor_id: int | None, now: datetime
) -> None:
    for name in PERSONAL:
        if name not in ("available_to_all", "owner_id", "company_id"):
            setattr(contact, name, None)
    contact.custom = {}
    contact.erased_at = now
    for model in (ContactIdentity, ContactNote, Event, FormSubmission, ContactTag):
        session.execute(delete(model).where(model.contact_id == contact.id))
    session.execute(
        update(ConsentEvent).where(ConsentEvent.contact_id == contact.id).values(ip=None)
    )
    # Audit entries of this contact may hold old personal values in their diffs.
    session.execute(
        update(AuditEntry)
        .where(AuditEntry.entity == "contact", AuditEntry.entity_id == contact.id)
        .values(changes={})
    )
    audit.record(session, entity="contact", entity_id=contact.id, action="erase", actor_id=actor_id)
    session.flush()


def _items_by_order(session: Session, order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    result: dict[int, list[dict[str, Any]]] = {}
    if not order_ids:
        return result
    for item in session.scalars(select(OrderItem).where(OrderItem.order_id.in_(order_ids))):
        result.setdefault(item.order_id, []).append(
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
            }
        )
    return result


def _rows(session: Session, model: Any, contact_id: int, order_by: Any) -> list[dict[str, Any]]:
    rows = session.scalars(select(model).where(model.contact_id == contact_id).order_by(order_by))
    return [{c.key: getattr(r, c.key) for c in model.__table__.columns} for r in rows]


def _plain(value: Any) -> Any:
    """JSON-ready: datetimes and dates as ISO strings, Decimals as strings, enums as values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value
    return value
