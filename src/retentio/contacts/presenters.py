"""Building the API's detailed view of one contact from its rows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from retentio.consent.service import reachable
from retentio.contacts import identities, queries
from retentio.contacts.models import Contact, IdentityKind
from retentio.contacts.schemas import ContactDetail, ContactRead


def contact_detail(session: Session, contact: Contact) -> ContactDetail:
    rows = identities.identities_of(session, contact.id)
    externals = {}
    for row in rows:
        if row.kind == IdentityKind.EXTERNAL:
            system, _, value = row.value.partition(":")
            externals[system] = value
    return ContactDetail(
        **ContactRead.model_validate(contact).model_dump(),
        emails=[r.value for r in rows if r.kind == IdentityKind.EMAIL],
        phones=[r.value for r in rows if r.kind == IdentityKind.PHONE],
        tags=queries.tags_by_contact(session, [contact.id])[contact.id],
        watcher_ids=queries.watcher_ids(session, contact.id),
        external_ids=externals,
        reachable={c.value: ok for c, ok in reachable(session, contact).items()},
    )
