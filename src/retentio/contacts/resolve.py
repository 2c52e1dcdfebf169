"""Find-or-create the contact behind an incoming order, event or form.

Keys are tried from the most to the least specific: external id, e-mail, phone, then the
anonymous (cookie) id. An anonymous visitor who turns out to be a known contact is merged
into that contact with all of their history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from retentio.contacts import identities
from retentio.contacts.merge import merge_contacts
from retentio.contacts.models import Contact, ContactIdentity, IdentityKind
from retentio.contacts.normalize import normalize_email, normalize_phone
from retentio.errors import InvalidInput, TryAgain
from retentio.kit.ids import allocate_ids
from retentio.kit.upsert import insert_ignoring

Key = tuple[IdentityKind, str]
CONTACTS = cast(Table, Contact.__table__)
IDENTITIES = cast(Table, ContactIdentity.__table__)


class NoIdentity(InvalidInput):
    code = "no_identity"


@dataclass(frozen=True)
class Who:
    """What an incoming record says about the person; at least one part must be present."""

    external_id: str | None = None
    external_system: str = "shop"
    email: str | None = None
    phone: str | None = None
    anonymous_id: str | None = None

    def keys(self, default_region: str) -> list[Key]:
        keys: list[Key] = []
        if self.external_id:
            keys.append(
                (
                    IdentityKind.EXTERNAL,
                    identities.external_key(self.external_system, self.external_id),
                )
            )
        if self.email:
            keys.append((IdentityKind.EMAIL, normalize_email(self.email)))
        if self.phone:
            keys.append(
                (IdentityKind.PHONE, normalize_phone(self.phone, default_region=default_region))
            )
        if self.anonymous_id:
            keys.append((IdentityKind.ANONYMOUS, self.anonymous_id.strip()[:300]))
        return keys


class ConcurrentNewcomer(TryAgain):
    """Two requests brought the same new person at once; the one that lost sends again and
    finds the person the other created."""

    code = "concurrent_newcomer"


def resolve(
    session: Session,
    who: Who,
    *,
    default_region: str,
    now: datetime,
    owners: dict[Key, int] | None = None,
) -> Contact:
    """The contact for `who`, created if new; `owners` may hold a prefetched key → id map."""
    keys = who.keys(default_region)
    if not keys:
        raise NoIdentity(
            "Identify the person: give a user id, e-mail, phone or anonymous id.",
            details={"field": "userId"},
        )
    known = owners if owners is not None else identities.owners_of(session, keys)
    named = [known[k] for k in keys if k[0] != IdentityKind.ANONYMOUS and k in known]
    anonymous = next(
        (known[k] for k in keys if k[0] == IdentityKind.ANONYMOUS and k in known), None
    )
    contact = _pick(session, named[0] if named else anonymous)
    if contact is None:
        contact = Contact(custom={}, is_anonymous=all(k[0] == IdentityKind.ANONYMOUS for k in keys))
        session.add(contact)
        session.flush()
    elif anonymous is not None and anonymous != contact.id:
        visitor = session.get(Contact, anonymous)
        if visitor is not None and visitor.is_anonymous and visitor.deleted_at is None:
            merge_contacts(session, winner=contact, loser=visitor, actor_id=None, now=now)
    _attach_free_keys(session, contact, keys, known)
    if owners is not None:
        owners.update({k: contact.id for k in keys if owners.get(k) in (None, anonymous)})
    return contact


def _pick(session: Session, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    contact = session.get(Contact, contact_id)
    # A merged-away record forwards to its survivor.
    while contact is not None and contact.merged_into_id is not None:
        contact = session.get(Contact, contact.merged_into_id)
    return contact


def _attach_free_keys(
    session: Session, contact: Contact, keys: list[Key], known: dict[Key, int]
) -> None:
    # A key another contact holds is never taken from it; a merged visitor's keys moved already.
    for kind, value in keys:
        if (kind, value) not in known:
            identities.attach(session, contact.id, kind, value, field=kind.value)
            _fill_primary(contact, kind, value)


def _fill_primary(contact: Contact, kind: IdentityKind, value: str) -> None:
    if kind == IdentityKind.EMAIL and not contact.email:
        contact.email = value
    elif kind == IdentityKind.PHONE and not contact.phone:
        contact.phone = value
    if kind in (IdentityKind.EMAIL, IdentityKind.PHONE, IdentityKind.EXTERNAL):
        contact.is_anonymous = False


def create_people(session: Session, people: Sequence[list[Key]], *, now: datetime) -> list[int]:
    """New contacts, one per list of keys none of which belongs to anyone yet; their ids in order.

    Two statements for any number of people (the bulk twin of `resolve()` creating one).
    ConcurrentNewcomer if a concurrent request took one of the keys in the meantime.
    """
    if not people:
        return []
    # Ids allocated up front: RETURNING with ordered rows is one statement per row on SQLite.
    ids = allocate_ids(session, CONTACTS, len(people))
    session.execute(
        insert(CONTACTS),
        [
            {**_new_contact(keys, now), "id": new_id}
            for keys, new_id in zip(people, ids, strict=True)
        ],
    )
    rows = [
        {"contact_id": contact_id, "kind": kind, "value": value, "created_at": now}
        for contact_id, keys in zip(ids, people, strict=True)
        for kind, value in keys
    ]
    claimed = insert_ignoring(session, IDENTITIES).returning(IDENTITIES.c.id)
    if len(session.scalars(claimed, rows).all()) < len(rows):
        raise ConcurrentNewcomer(
            "An identity was just given to another contact by a concurrent request; send again.",
            details={"field": "identity"},
        )
    return ids


def _new_contact(keys: list[Key], now: datetime) -> dict[str, Any]:
    # The same fields `resolve()` sets on a contact it creates (see `_fill_primary`): the first
    # e-mail and phone given become the primary ones.
    first = dict(reversed(keys))
    return {
        "email": first.get(IdentityKind.EMAIL),
        "phone": first.get(IdentityKind.PHONE),
        "is_anonymous": all(kind == IdentityKind.ANONYMOUS for kind, _ in keys),
        "custom": {},
        "created_at": now,
        "updated_at": now,
    }


def survivors(session: Session, contact_ids: Iterable[int]) -> dict[int, int]:
    """For each of these contacts that was merged away, the contact it lives on in now."""
    merged: dict[int, int] = {}
    wanted = set(contact_ids)
    while wanted:
        rows = session.execute(
            select(Contact.id, Contact.merged_into_id).where(
                Contact.id.in_(wanted), Contact.merged_into_id.is_not(None)
            )
        ).all()
        step = {loser: winner for loser, winner in rows if winner is not None}
        merged.update(step)
        # A survivor may itself have been merged since: follow the chain.
        wanted = set(step.values()) - set(merged)
    return {contact_id: _last(merged, contact_id) for contact_id in merged}


def _last(merged: dict[int, int], contact_id: int) -> int:
    while contact_id in merged:
        contact_id = merged[contact_id]
    return contact_id
