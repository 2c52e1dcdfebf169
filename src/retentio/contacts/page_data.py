"""What the contact pages show, gathered with a fixed number of queries.

The list page loads its rows' tags, companies and owners for the whole page at once (one query
each), so its query count does not grow with the page size; the card loads one query per
section. Reads only: writes go through `service`, `merge` and `privacy`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth import queries as auth_queries
from retentio.auth.models import User
from retentio.commerce import queries as commerce_queries
from retentio.commerce.models import Order
from retentio.companies import queries as company_queries
from retentio.companies.models import Company
from retentio.consent.models import Channel, Purpose
from retentio.consent.service import address_for, current_consent, reachable
from retentio.contacts import identities, queries
from retentio.contacts.duplicates import Duplicate, likely_duplicates
from retentio.contacts.models import Contact, IdentityKind
from retentio.contacts.timeline import TimelineItem, timeline
from retentio.fields import queries as field_queries
from retentio.fields.models import CustomFieldDefinition, FieldEntity
from retentio.profiles.models import LifecycleChange, Profile

CARD_ORDERS = 20
CARD_STAGE_CHANGES = 10
MAX_MERGE_HOPS = 10


@dataclass(frozen=True)
class ContactRow:
    contact: Contact
    tags: list[str]
    company: str | None
    owner: str | None


@dataclass(frozen=True)
class FilterOptions:
    tags: list[str]
    cities: list[str]
    sources: list[str]
    users: list[tuple[int, str]]
    fields: Sequence[CustomFieldDefinition]

    @property
    def field_choices(self) -> list[tuple[str, str]]:
        return [(d.key, d.label) for d in self.fields if not d.archived]


def rows_for(session: Session, contacts: Sequence[Contact]) -> list[ContactRow]:
    tags = queries.tags_by_contact(session, [c.id for c in contacts])
    companies = company_queries.names_by_id(
        session, {c.company_id for c in contacts if c.company_id is not None}
    )
    owners = auth_queries.names_by_id(
        session, {c.owner_id for c in contacts if c.owner_id is not None}
    )
    return [
        ContactRow(
            contact=c,
            tags=tags[c.id],
            company=companies.get(c.company_id) if c.company_id is not None else None,
            owner=owners.get(c.owner_id) if c.owner_id is not None else None,
        )
        for c in contacts
    ]


def survivor_of(session: Session, user: User, contact_id: int) -> int | None:
    """Where a merged-away contact lives on (its merge chain's end), if this user may see it."""
    current = contact_id
    for _ in range(MAX_MERGE_HOPS):
        merged_into = session.scalar(select(Contact.merged_into_id).where(Contact.id == current))
        if merged_into is None:
            break
        current = merged_into
    if current == contact_id or not visible_contacts(session, user, [current]):
        return None
    return current


def visible_contacts(session: Session, user: User, ids: Sequence[int]) -> list[Contact]:
    """The live contacts among `ids` that this user may see; the others are left out."""
    if not ids:
        return []
    flt = queries.ContactFilter(ids=list(ids), include_anonymous=True)
    return list(session.scalars(queries.filtered(user, flt).order_by(Contact.id)))


def filter_options(session: Session) -> FilterOptions:
    return FilterOptions(
        tags=queries.all_tags(session),
        cities=queries.distinct_values(session, Contact.city),
        sources=queries.distinct_values(session, Contact.source),
        users=auth_queries.user_choices(session),
        fields=field_queries.definitions(session, FieldEntity.CONTACT),
    )


@dataclass(frozen=True)
class ConsentRow:
    channel: Channel
    address: str | None
    answers: dict[Purpose, bool | None]
    reachable: bool


@dataclass(frozen=True)
class ContactCard:
    contact: Contact
    emails: list[str]
    phones: list[str]
    external_ids: list[tuple[str, str]]
    tags: list[str]
    owner: str | None
    watchers: list[str]
    company: Company | None
    consent: list[ConsentRow]
    orders: Sequence[Order]
    totals: list[commerce_queries.MoneyTotal]
    timeline: list[TimelineItem]
    duplicates: list[Duplicate]
    custom: list[tuple[CustomFieldDefinition, object]] = field(default_factory=list)
    profile: Profile | None = None
    stage_changes: Sequence[LifecycleChange] = ()


def card(session: Session, user: User, contact: Contact) -> ContactCard:
    rows = identities.identities_of(session, contact.id)
    emails = [r.value for r in rows if r.kind == IdentityKind.EMAIL]
    watcher_ids = queries.watcher_ids(session, contact.id)
    names = auth_queries.names_by_id(
        session, {*watcher_ids, *([contact.owner_id] if contact.owner_id else [])}
    )
    definitions = field_queries.definitions(session, FieldEntity.CONTACT)
    return ContactCard(
        contact=contact,
        emails=emails,
        phones=[r.value for r in rows if r.kind == IdentityKind.PHONE],
        external_ids=[_split_external(r.value) for r in rows if r.kind == IdentityKind.EXTERNAL],
        tags=queries.tags_by_contact(session, [contact.id])[contact.id],
        owner=names.get(contact.owner_id) if contact.owner_id else None,
        watchers=[names[w] for w in watcher_ids if w in names],
        company=(
            company_queries.company_or_none(session, contact.company_id)
            if contact.company_id
            else None
        ),
        consent=consent_rows(session, contact),
        orders=commerce_queries.contact_orders(session, contact.id, limit=CARD_ORDERS),
        totals=commerce_queries.contact_totals(session, contact.id),
        timeline=timeline(session, contact.id),
        duplicates=likely_duplicates(session, user, contact, emails=emails),
        custom=[(d, contact.custom[d.key]) for d in definitions if d.key in contact.custom],
        profile=session.get(Profile, contact.id),
        stage_changes=stage_changes(session, contact.id),
    )


def stage_changes(session: Session, contact_id: int) -> Sequence[LifecycleChange]:
    """The contact's latest lifecycle moves, newest first."""
    return session.scalars(
        select(LifecycleChange)
        .where(LifecycleChange.contact_id == contact_id)
        .order_by(LifecycleChange.changed_at.desc(), LifecycleChange.id.desc())
        .limit(CARD_STAGE_CHANGES)
    ).all()


def consent_rows(session: Session, contact: Contact) -> list[ConsentRow]:
    """Per channel: the answer for each purpose (None: never asked) and "reachable by"."""
    answers = current_consent(session, contact.id)
    can_reach = reachable(session, contact)
    return [
        ConsentRow(
            channel=channel,
            address=address_for(contact, channel),
            answers={p: answers.get((channel, p)) for p in Purpose},
            reachable=can_reach[channel],
        )
        for channel in Channel
    ]


def _split_external(value: str) -> tuple[str, str]:
    system, _, external_id = value.partition(":")
    return system, external_id
