"""Rules for writing contacts: create, update, tags, owners, soft delete.

Every address is normalised and becomes an identity; custom values are validated against their
definitions; each change is written to the audit log with the fields that changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.auth.models import User
from retentio.companies.models import Company
from retentio.contacts import identities
from retentio.contacts.models import (
    Contact,
    ContactNote,
    ContactTag,
    ContactWatcher,
    IdentityKind,
    Tag,
)
from retentio.contacts.normalize import normalize_email, normalize_phone, normalize_telegram
from retentio.contacts.schemas import ContactFields
from retentio.errors import InvalidInput
from retentio.fields.models import FieldEntity
from retentio.fields.service import clean_values
from retentio.kit.upsert import insert_or_ignore

PLAIN_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "gender",
    "birthday",
    "city",
    "region",
    "country",
    "timezone",
    "language",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "available_to_all",
)

NOTE_MAX_LENGTH = 10_000


@dataclass(frozen=True)
class WriteContext:
    """Who writes and how to read phones; passed to every write."""

    actor_id: int | None
    default_region: str


def create_contact(session: Session, data: ContactFields, ctx: WriteContext) -> Contact:
    # Whoever creates a contact owns it unless told otherwise (sales users see what they own).
    contact = Contact(custom={}, is_anonymous=False, owner_id=ctx.actor_id)
    session.add(contact)
    session.flush()
    _apply(session, contact, data, ctx, creating=True)
    audit.record(
        session, entity="contact", entity_id=contact.id, action="create", actor_id=ctx.actor_id
    )
    return contact


def update_contact(
    session: Session, contact: Contact, data: ContactFields, ctx: WriteContext
) -> Contact:
    before = _snapshot(contact)
    _apply(session, contact, data, ctx, creating=False)
    after = _snapshot(contact)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changes:
        audit.record(
            session,
            entity="contact",
            entity_id=contact.id,
            action="update",
            actor_id=ctx.actor_id,
            changes=changes,
        )
    return contact


def _apply(
    session: Session, contact: Contact, data: ContactFields, ctx: WriteContext, *, creating: bool
) -> None:
    given = data.model_fields_set
    for name in PLAIN_FIELDS:
        if name in given:
            value = getattr(data, name)
            setattr(
                contact, name, value if value is not None or name != "available_to_all" else False
            )
    if "company_id" in given:
        contact.company_id = _existing_company(session, data.company_id)
    if "owner_id" in given:
        contact.owner_id = _existing_user(session, data.owner_id, field="owner_id")
    if "custom" in given or creating:
        contact.custom = clean_values(
            session,
            FieldEntity.CONTACT,
            data.custom or {},
            current=None if creating else contact.custom,
        )
    _apply_addresses(session, contact, data, ctx)
    if data.tags is not None:
        set_tags(session, contact, data.tags)
    if data.watcher_ids is not None:
        set_watchers(session, contact, data.watcher_ids)
    session.flush()


def _apply_addresses(
    session: Session, contact: Contact, data: ContactFields, ctx: WriteContext
) -> None:
    given = data.model_fields_set
    if "email" in given:
        contact.email = normalize_email(data.email) if data.email else None
    if "phone" in given:
        contact.phone = (
            normalize_phone(data.phone, default_region=ctx.default_region) if data.phone else None
        )
    if "telegram" in given:
        contact.telegram = normalize_telegram(data.telegram) if data.telegram else None
    emails = [normalize_email(e, field="extra_emails") for e in data.extra_emails or []]
    phones = [
        normalize_phone(p, default_region=ctx.default_region, field="extra_phones")
        for p in data.extra_phones or []
    ]
    keys: list[tuple[IdentityKind, str, str]] = []
    if contact.email:
        keys.append((IdentityKind.EMAIL, contact.email, "email"))
    if contact.phone:
        keys.append((IdentityKind.PHONE, contact.phone, "phone"))
    if contact.telegram:
        keys.append((IdentityKind.TELEGRAM, contact.telegram, "telegram"))
    keys += [(IdentityKind.EMAIL, e, "extra_emails") for e in emails]
    keys += [(IdentityKind.PHONE, p, "extra_phones") for p in phones]
    for system, external_id in (data.external_ids or {}).items():
        if not system.strip() or not str(external_id).strip():
            raise InvalidInput(
                "external_ids: system and id must not be empty.", details={"field": "external_ids"}
            )
        key = identities.external_key(system, str(external_id))
        keys.append((IdentityKind.EXTERNAL, key, f"external_ids.{system}"))
    session.flush()
    for kind, value, field in keys:
        identities.attach(session, contact.id, kind, value, field=field)


def set_tags(session: Session, contact: Contact, names: Iterable[str]) -> None:
    wanted = {n.strip() for n in names if n.strip()}
    for name in wanted:
        insert_or_ignore(session, Tag, {"name": name})
    tag_ids = set(session.scalars(select(Tag.id).where(Tag.name.in_(wanted)))) if wanted else set()
    session.execute(delete(ContactTag).where(ContactTag.contact_id == contact.id))
    for tag_id in sorted(tag_ids):
        session.add(ContactTag(contact_id=contact.id, tag_id=tag_id))
    session.flush()


def add_tag(session: Session, contact_ids: Iterable[int], name: str) -> int:
    """Bulk action: tag many contacts; returns how many were newly tagged."""
    name = name.strip()
    if not name:
        raise InvalidInput("tag: the tag name is empty.", details={"field": "tag"})
    insert_or_ignore(session, Tag, {"name": name})
    tag_id = session.scalar(select(Tag.id).where(Tag.name == name))
    added = 0
    for contact_id in sorted(set(contact_ids)):
        before = session.get(ContactTag, (contact_id, tag_id))
        if before is None:
            insert_or_ignore(session, ContactTag, {"contact_id": contact_id, "tag_id": tag_id})
            added += 1
    session.flush()
    return added


def remove_tag(session: Session, contact_ids: Iterable[int], name: str) -> int:
    """Bulk action: untag many contacts; returns how many lost the tag."""
    tag_id = session.scalar(select(Tag.id).where(Tag.name == name.strip()))
    if tag_id is None:
        return 0
    result = session.execute(
        delete(ContactTag).where(
            ContactTag.tag_id == tag_id, ContactTag.contact_id.in_(sorted(set(contact_ids)))
        )
    )
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def set_watchers(session: Session, contact: Contact, user_ids: Iterable[int]) -> None:
    wanted = {_existing_user(session, uid, field="watcher_ids") for uid in user_ids}
    session.execute(delete(ContactWatcher).where(ContactWatcher.contact_id == contact.id))
    for user_id in sorted(u for u in wanted if u is not None):
        session.add(ContactWatcher(contact_id=contact.id, user_id=user_id))
    session.flush()


def assign_owner(
    session: Session, contacts: Iterable[Contact], owner_id: int | None, *, actor_id: int | None
) -> int:
    owner = _existing_user(session, owner_id, field="owner_id")
    changed = 0
    for contact in contacts:
        if contact.owner_id != owner:
            audit.record(
                session,
                entity="contact",
                entity_id=contact.id,
                action="update",
                actor_id=actor_id,
                changes={"owner_id": [contact.owner_id, owner]},
            )
            contact.owner_id = owner
            changed += 1
    session.flush()
    return changed


def soft_delete(
    session: Session, contacts: Iterable[Contact], *, actor_id: int | None, now: datetime
) -> int:
    deleted = 0
    for contact in contacts:
        if contact.deleted_at is None:
            contact.deleted_at = now
            audit.record(
                session, entity="contact", entity_id=contact.id, action="delete", actor_id=actor_id
            )
            deleted += 1
    session.flush()
    return deleted


def add_note(
    session: Session, contact: Contact, body: str, *, author_id: int | None
) -> ContactNote:
    text = body.strip()
    if not text:
        raise InvalidInput("body: the note is empty.", details={"field": "body"})
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidInput(
            f"body: a note holds at most {NOTE_MAX_LENGTH} characters.", details={"field": "body"}
        )
    note = ContactNote(contact_id=contact.id, author_id=author_id, body=text)
    session.add(note)
    session.flush()
    return note


def _existing_user(session: Session, user_id: int | None, *, field: str) -> int | None:
    if user_id is not None and session.get(User, user_id) is None:
        raise InvalidInput(f"{field}: user {user_id} does not exist.", details={"field": field})
    return user_id


def _existing_company(session: Session, company_id: int | None) -> int | None:
    if company_id is not None:
        company = session.get(Company, company_id)
        if company is None or company.deleted_at is not None:
            raise InvalidInput(
                f"company_id: company {company_id} does not exist.", details={"field": "company_id"}
            )
    return company_id


def _snapshot(contact: Contact) -> dict[str, Any]:
    names = (*PLAIN_FIELDS, "email", "phone", "telegram", "company_id", "owner_id", "custom")
    return {n: _jsonable(getattr(contact, n)) for n in names}


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
