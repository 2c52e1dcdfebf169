"""Finding contacts by what identifies them, and attaching identities to a contact.

An identity (kind, value) belongs to one contact at most: the unique key makes two concurrent
requests for the same new e-mail end with one owner, never two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact, ContactIdentity, IdentityKind
from retentio.errors import Conflict
from retentio.kit.upsert import insert_or_ignore


class IdentityTaken(Conflict):
    code = "identity_taken"


def contact_by_identity(session: Session, kind: IdentityKind, value: str) -> Contact | None:
    return session.scalar(
        select(Contact)
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(ContactIdentity.kind == kind, ContactIdentity.value == value)
    )


def owners_of(
    session: Session, keys: Iterable[tuple[IdentityKind, str]]
) -> dict[tuple[IdentityKind, str], int]:
    """Contact id for each known (kind, value) key, in one query per kind present."""
    by_kind: dict[IdentityKind, set[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, set()).add(value)
    owners: dict[tuple[IdentityKind, str], int] = {}
    for kind, values in by_kind.items():
        # `kind = ? AND value IN (...)` walks the unique (kind, value) index; SQLite answers a
        # row-value `(kind, value) IN (...)` with a scan of the whole table.
        rows = session.execute(
            select(ContactIdentity.value, ContactIdentity.contact_id).where(
                ContactIdentity.kind == kind, ContactIdentity.value.in_(values)
            )
        )
        owners.update({(kind, value): contact_id for value, contact_id in rows})
    return owners


def identities_of(session: Session, contact_id: int) -> Sequence[ContactIdentity]:
    return session.scalars(
        select(ContactIdentity)
        .where(ContactIdentity.contact_id == contact_id)
        .order_by(ContactIdentity.id)
    ).all()


def attach(
    session: Session, contact_id: int, kind: IdentityKind, value: str, *, field: str
) -> None:
    """Give the identity to this contact; IdentityTaken if another contact holds it."""
    insert_or_ignore(
        session, ContactIdentity, {"contact_id": contact_id, "kind": kind, "value": value}
    )
    holder = session.scalar(
        select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == kind, ContactIdentity.value == value
        )
    )
    if holder != contact_id:
        raise IdentityTaken(
            f"{field}: {value} already belongs to contact {holder}.",
            details={"field": field, "contact_id": holder},
        )


def external_key(system: str, external_id: str) -> str:
    return f"{system.strip().lower()}:{external_id.strip()}"
