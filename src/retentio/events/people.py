"""Who is who within one batch of events: identity keys → contact ids, in a few queries.

One query per identity kind finds the owners of every key in the batch. People none of whose
keys are known yet are created together (keys that appear in one event belong to one person).
An event whose keys all point at one live contact needs nothing more; only events that link
keys of different contacts go through `resolve()`, one by one, and may merge a visitor into a
customer — so the ids of rows are followed through such merges before the rows are stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.contacts import identities
from retentio.contacts.models import Contact, IdentityKind
from retentio.contacts.resolve import Key, Who, create_people, resolve, survivors
from retentio.events.schemas import EventIn

# Bound values per statement: well under SQLite's limit of 32,766.
SQLITE_VALUES_PER_STATEMENT = 1000
# The owner of each key and whether it is live (not merged away), in one indexed lookup per key
# (the unique (kind, value) index, then the contact's primary key).
SQLITE_OWNERS = (
    "SELECT i.value, i.contact_id, c.merged_into_id IS NULL "
    "FROM contact_identities AS i JOIN contacts AS c ON c.id = i.contact_id "
    "WHERE i.kind = ? AND i.value IN "
)


class Incoming:
    """One event with the identity keys it carries, already normalised.

    A plain class with slots rather than a frozen dataclass: a batch makes a thousand of them.
    """

    __slots__ = ("event", "keys", "touches")

    def __init__(self, event: EventIn, keys: list[Key]) -> None:
        self.event = event
        self.keys = keys
        # Whether the event sets fields of its contact; asked twice per event, computed once.
        self.touches = needs_contact(event)

    @property
    def who(self) -> Who:
        """What the event says about the person (only events that link people need it)."""
        event = self.event
        return Who(
            external_id=event.user_id,
            email=event.email,
            phone=event.phone,
            anonymous_id=event.anonymous_id,
        )


@dataclass
class BatchPeople:
    session: Session
    owners: dict[Key, int]
    live: set[int]
    default_region: str
    now: datetime
    # Strong references: the session's identity map alone would let these be collected.
    loaded: list[Contact] = field(default_factory=list)
    merges_possible: bool = False
    created: set[int] = field(default_factory=set)

    @classmethod
    def find(
        cls, session: Session, batch: Sequence[Incoming], *, default_region: str, now: datetime
    ) -> BatchPeople:
        owners, live = _known(session, (k for item in batch for k in item.keys))
        newcomers = new_people(batch, owners)
        created = create_people(session, newcomers, now=now)
        for keys, contact_id in zip(newcomers, created, strict=True):
            owners.update(dict.fromkeys(keys, contact_id))
        live.update(created)
        people = cls(session, owners, live, default_region, now, created=set(created))
        people.loaded = _load_touched(session, batch, owners)
        return people

    def contact_id(self, item: Incoming) -> int:
        holders = {self.owners.get(k) for k in item.keys}
        holder = holders.pop() if len(holders) == 1 else None
        if holder is not None and holder in self.live:
            return holder
        contact = resolve(
            self.session,
            item.who,
            default_region=self.default_region,
            now=self.now,
            owners=self.owners,
        )
        self.merges_possible = True
        # A holder other than the result may just have been merged away: re-check it later.
        self.live.difference_update(h for h in holders if h is not None)
        self.live.add(contact.id)
        return contact.id

    def final_ids(self, contact_ids: list[int]) -> list[int]:
        """The ids as they are after this batch's merges (an earlier row may name the loser)."""
        if not self.merges_possible:
            return contact_ids
        forward = survivors(self.session, set(contact_ids))
        return [forward.get(c, c) for c in contact_ids]


def new_people(batch: Sequence[Incoming], owners: dict[Key, int]) -> list[list[Key]]:
    """Keys of the people no key of whom is known, grouped: keys seen together are one person.

    Union-find over keys, in the order they first appear (the first e-mail is the primary one).
    """
    parent: dict[Key, Key] = {}

    def root(key: Key) -> Key:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for item in batch:
        if any(k in owners for k in item.keys):
            continue
        for key in item.keys:
            parent.setdefault(key, key)
        first = root(item.keys[0])
        for key in item.keys[1:]:
            parent[root(key)] = first
    groups: dict[Key, list[Key]] = {}
    for key in parent:
        groups.setdefault(root(key), []).append(key)
    return list(groups.values())


def needs_contact(event: EventIn) -> bool:
    """Whether the event sets fields of its contact (traits, first-touch campaign)."""
    return bool(event.traits) or isinstance(event.context.get("campaign"), dict)


def _known(session: Session, keys: Iterable[Key]) -> tuple[dict[Key, int], set[int]]:
    """The owner of each known key, and which of those owners are live (not merged away)."""
    if session.get_bind().dialect.name != "sqlite":
        found = identities.owners_of(session, keys)
        return found, _live(session, set(found.values()))
    # The hot path on SQLite: SQLAlchemy compiling two `IN` lists of a thousand values cost
    # more than the lookups themselves. Same query shape as `identities.owners_of`
    # (`kind = ? AND value IN (…)` walks the unique index), joined to the contact's liveness.
    by_kind: dict[IdentityKind, dict[str, None]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, {})[value] = None
    owners: dict[Key, int] = {}
    live: set[int] = set()
    connection = session.connection()
    for kind, values in by_kind.items():
        distinct = list(values)
        for start in range(0, len(distinct), SQLITE_VALUES_PER_STATEMENT):
            chunk = distinct[start : start + SQLITE_VALUES_PER_STATEMENT]
            sql = f"{SQLITE_OWNERS}({', '.join('?' * len(chunk))})"
            # The driver binds plain strings only: the enum's value, not the enum.
            rows = connection.exec_driver_sql(sql, (kind.value, *chunk)).all()
            for value, contact_id, alive in rows:
                owners[kind, value] = contact_id
                if alive:
                    live.add(contact_id)
    return owners, live


def _live(session: Session, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    query = select(Contact.id).where(Contact.id.in_(ids), Contact.merged_into_id.is_(None))
    return set(session.scalars(query))


def _load_touched(
    session: Session, batch: Sequence[Incoming], owners: dict[Key, int]
) -> list[Contact]:
    """Load, in one query, the contacts whose fields events of this batch may set."""
    ids = {owners[k] for item in batch if item.touches for k in item.keys if k in owners}
    if not ids:
        return []
    return list(session.scalars(select(Contact).where(Contact.id.in_(ids))))
