"""Writing a batch of parsed contact rows: match, then update in place or insert in bulk.

Rows are applied in file order, so a person listed twice ends as the second row says, whatever
the batch size. Matching tries the configured keys in order (external id, e-mail, phone by
default); an e-mail or phone that belongs to a different contact than the one matched rejects
the row rather than silently moving an address between people.

Existing contacts are read and written as plain rows (no ORM objects): a re-import of a million
rows compares a million contacts. A batch whose keys all look new is first written without
looking any of them up (`_write_new`); the unique key on identities proves it right, and if
one key did exist the batch is undone to its savepoint and written the careful way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.companies.models import Company
from retentio.contacts.identities import external_key
from retentio.contacts.models import Contact, ContactIdentity, ContactTag, IdentityKind, Tag
from retentio.db import utcnow
from retentio.imports.bulk import IN_CHUNK, TupleInsert, select_in
from retentio.imports.rows import ContactRow, RowError
from retentio.kit.ids import allocate_ids
from retentio.kit.upsert import insert_ignoring, insert_or_ignore

# Keys looked up before a batch is written as all-new: enough to catch a re-import at once.
SAMPLE = 64
KEY_KINDS = {
    "external_id": IdentityKind.EXTERNAL,
    "email": IdentityKind.EMAIL,
    "phone": IdentityKind.PHONE,
}
# Enum members looked up once: attribute access on an Enum class costs ~0.3 µs each time.
_EXTERNAL, _EMAIL, _PHONE = IdentityKind.EXTERNAL, IdentityKind.EMAIL, IdentityKind.PHONE
COLUMN_OF_KIND = {kind: name for name, kind in KEY_KINDS.items()}
CONTACTS = cast(Table, Contact.__table__)
IDENTITIES = cast(Table, ContactIdentity.__table__)
CONTACT_COLUMNS = frozenset(CONTACTS.c.keys())
Key = tuple[IdentityKind, str]
Stored = dict[str, Any]  # an existing contact's columns, as read


@dataclass
class Outcome:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, RowError]] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    """A contact this batch will insert: its column values and identities."""

    values: dict[str, Any]
    keys: list[Key]
    tags: set[str]


@dataclass
class _Batch:
    """What one batch knows and collects while its rows are applied in order."""

    owners: dict[Key, int]
    existing: dict[int, Stored]
    tags_held: dict[int, set[str]]
    outcome: Outcome = field(default_factory=Outcome)
    pending: list[_Pending] = field(default_factory=list)
    claimed: dict[Key, _Pending] = field(default_factory=dict)
    changed: dict[int, set[str]] = field(default_factory=dict)  # contact id → columns set
    identities: list[tuple[int, str, str]] = field(default_factory=list)
    tags: list[tuple[int, str]] = field(default_factory=list)

    def count(self, changed: bool) -> None:
        if changed:
            self.outcome.updated += 1
        else:
            self.outcome.unchanged += 1


@dataclass
class ContactWriter:
    session: Session
    match_by: list[str]
    overwrite_empty: bool
    system: str = "import"
    _companies: dict[str, int] = field(default_factory=dict)
    _owners: dict[str, int] = field(default_factory=dict)

    def write(self, rows: list[tuple[int, ContactRow]]) -> Outcome:
        keyed = [(number, row, self._keys(row)) for number, row in rows]
        if not self._any_known(keyed):
            written = self._write_new(keyed)
            if written is not None:
                return written
        owners = self._owners_of({k for _, _, keys in keyed for k in keys})
        ids = set(owners.values())
        batch = _Batch(owners=owners, existing=self._load(ids, keyed), tags_held={})
        if any(row.tags for _, row, _ in keyed):
            batch.tags_held = self._tags_of(ids)
        self._apply_all(batch, keyed)
        self._update(batch)
        self._insert(batch)
        return batch.outcome

    def _write_new(self, keyed: list[tuple[int, ContactRow, list[Key]]]) -> Outcome | None:
        """The batch written as if none of its keys existed; None (and nothing written) if
        one did, which the unique key on identities reports."""
        try:
            with self.session.begin_nested():
                batch = _Batch(owners={}, existing={}, tags_held={})
                self._apply_all(batch, keyed)
                self._insert(batch)
        except IntegrityError:
            # Companies created inside the savepoint are gone with it.
            self._companies.clear()
            return None
        return batch.outcome

    def _apply_all(self, batch: _Batch, keyed: list[tuple[int, ContactRow, list[Key]]]) -> None:
        for number, row, keys in keyed:
            try:
                self._apply(batch, row, keys)
            except RowError as error:
                batch.outcome.rejected.append((number, error))

    def _apply(self, batch: _Batch, row: ContactRow, keys: list[Key]) -> None:
        values = self._values(row)
        target_id, target_new = self._match(keys, batch.owners, batch.claimed)
        for key in keys:
            holder, pending = batch.owners.get(key), batch.claimed.get(key)
            if (holder is not None and holder != target_id) or (
                pending is not None and pending is not target_new
            ):
                raise RowError(COLUMN_OF_KIND[key[0]], key[1], "already belongs to another contact")
        if target_new is not None:
            self._update_pending(batch, target_new, row, keys, values)
        elif target_id is not None:
            self._update_existing(batch, target_id, row, keys, values)
        else:
            created = _Pending(values=values, keys=keys, tags=set(row.tags))
            batch.pending.append(created)
            batch.claimed.update(dict.fromkeys(keys, created))
            batch.outcome.inserted += 1

    def _update_pending(
        self,
        batch: _Batch,
        target: _Pending,
        row: ContactRow,
        keys: list[Key],
        values: dict[str, Any],
    ) -> None:
        changed = _merge_values(target.values, values, self.overwrite_empty, row.empty)
        added = [k for k in keys if k not in target.keys]
        target.keys += added
        new_tags = set(row.tags) - target.tags
        target.tags |= new_tags
        batch.claimed.update(dict.fromkeys(added, target))
        batch.count(changed or bool(added) or bool(new_tags))

    def _update_existing(
        self,
        batch: _Batch,
        contact_id: int,
        row: ContactRow,
        keys: list[Key],
        values: dict[str, Any],
    ) -> None:
        changed = _update_stored(
            batch.existing[contact_id], values, self.overwrite_empty, row.empty
        )
        if changed:
            batch.changed.setdefault(contact_id, set()).update(changed)
        added = [k for k in keys if k not in batch.owners]
        batch.identities += [(contact_id, k[0].value, k[1]) for k in added]
        batch.owners.update(dict.fromkeys(added, contact_id))
        tags_added = bool(row.tags) and not set(row.tags) <= batch.tags_held.get(contact_id, set())
        batch.tags += [(contact_id, t) for t in row.tags]
        batch.count(bool(changed) or bool(added) or tags_added)

    def _match(
        self, keys: list[Key], owners: dict[Key, int], claimed: dict[Key, _Pending]
    ) -> tuple[int | None, _Pending | None]:
        by_kind = dict(keys)
        for name in self.match_by:
            kind = KEY_KINDS[name]
            if kind not in by_kind:
                continue
            key = (kind, by_kind[kind])
            if key in claimed:
                return None, claimed[key]
            if key in owners:
                return owners[key], None
        return None, None

    def _keys(self, row: ContactRow) -> list[Key]:
        keys: list[Key] = []
        if row.external_id:
            keys.append((_EXTERNAL, external_key(self.system, row.external_id)))
        if row.email:
            keys.append((_EMAIL, row.email))
        if row.phone:
            keys.append((_PHONE, row.phone))
        return keys

    def _values(self, row: ContactRow) -> dict[str, Any]:
        values = dict(row.values)
        if row.email:
            values["email"] = row.email
        if row.phone:
            values["phone"] = row.phone
        if row.company:
            values["company_id"] = self._company_id(row.company)
        if row.owner_email:
            values["owner_id"] = self._owner_id(row.owner_email)
        if row.custom:
            values["custom"] = row.custom
        return values

    def _company_id(self, name: str) -> int:
        if name not in self._companies:
            found = self.session.scalar(
                select(Company.id).where(Company.name == name, Company.deleted_at.is_(None))
            )
            if found is None:
                company = Company(name=name, custom={})
                self.session.add(company)
                self.session.flush()
                found = company.id
            self._companies[name] = found
        return self._companies[name]

    def _owner_id(self, email: str) -> int:
        if email not in self._owners:
            found = self.session.scalar(select(User.id).where(User.email == email))
            if found is None:
                raise RowError("owner", email, "no user with this e-mail")
            self._owners[email] = found
        return self._owners[email]

    # --- reading what exists -------------------------------------------------------------

    def _any_known(self, keyed: list[tuple[int, ContactRow, list[Key]]]) -> bool:
        """Whether a few keys spread over the batch belong to someone already."""
        step = max(len(keyed) // SAMPLE, 1)
        sample = [k for _, _, keys in keyed[::step] for k in keys]
        return bool(self._owners_of(sample))

    def _owners_of(self, keys: Iterable[Key]) -> dict[Key, int]:
        by_kind: dict[IdentityKind, list[str]] = {}
        for kind, value in keys:
            by_kind.setdefault(kind, []).append(value)
        found: dict[Key, int] = {}
        for kind, values in by_kind.items():
            # Sorted, the probes walk the unique (kind, value) index in order.
            values.sort()
            rows = select_in(
                self.session,
                IDENTITIES,
                ("value", "contact_id"),
                key="value",
                values=values,
                where={"kind": kind},
            )
            found.update({(kind, value): cid for value, cid in rows})
        return found

    def _load(
        self, ids: set[int], keyed: list[tuple[int, ContactRow, list[Key]]]
    ) -> dict[int, Stored]:
        """The columns these rows may change, of the contacts they matched."""
        if not ids:
            return {}
        names = {"email", "phone", "custom"}
        for _, row, _ in keyed:
            names.update(row.values)
            if self.overwrite_empty:
                names.update(row.empty)
            if row.company:
                names.add("company_id")
            if row.owner_email:
                names.add("owner_id")
        columns = ("id", *sorted(names & CONTACT_COLUMNS))
        rows = select_in(self.session, CONTACTS, columns, key="id", values=sorted(ids))
        return {row[0]: dict(zip(columns, row, strict=True)) for row in rows}

    def _tags_of(self, ids: set[int]) -> dict[int, set[str]]:
        query = (
            select(ContactTag.contact_id, Tag.name)
            .join(Tag, Tag.id == ContactTag.tag_id)
            .where(ContactTag.contact_id.in_(bindparam("ids", expanding=True)))
        )
        ordered = sorted(ids)
        held: dict[int, set[str]] = {}
        for start in range(0, len(ordered), IN_CHUNK):
            for contact_id, name in self.session.execute(
                query, {"ids": ordered[start : start + IN_CHUNK]}
            ):
                held.setdefault(contact_id, set()).add(name)
        return held

    # --- writing -------------------------------------------------------------------------

    def _update(self, batch: _Batch) -> None:
        """One UPDATE per set of changed columns, executed for all contacts sharing it."""
        now = utcnow()
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for contact_id, names in batch.changed.items():
            stored = batch.existing[contact_id]
            columns = tuple(sorted(names))
            groups.setdefault(columns, []).append(
                {"_id": contact_id, **{n: stored[n] for n in columns}}
            )
        for columns, params in groups.items():
            statement = (
                update(CONTACTS)
                .where(CONTACTS.c.id == bindparam("_id"))
                .values({**{c: bindparam(c) for c in columns}, "updated_at": now})
            )
            self.session.connection().execute(statement, params)

    def _insert(self, batch: _Batch) -> None:
        identities, tags = batch.identities, batch.tags
        if batch.pending:
            ids = self._insert_contacts(batch.pending)
            for created, contact_id in zip(batch.pending, ids, strict=True):
                identities += [(contact_id, kind.value, value) for kind, value in created.keys]
                tags += [(contact_id, t) for t in sorted(created.tags)]
        # In key order the inserts walk the unique (kind, value) index instead of jumping in it.
        identities.sort(key=_identity_order)
        TupleInsert(
            self.session,
            IDENTITIES,
            ("contact_id", "kind", "value"),
            {"created_at": utcnow()},
            ready=frozenset({"kind"}),  # IdentityKind values, the strings the column holds
        ).execute(identities)
        self._insert_tags(tags)

    def _insert_contacts(self, pending: list[_Pending]) -> list[int]:
        # Ids allocated up front: no RETURNING (row-at-a-time on SQLite), plain tuples.
        ids = allocate_ids(self.session, CONTACTS, len(pending))
        names = sorted({k for p in pending for k in p.values} - {"custom"})
        now = utcnow()
        insert = TupleInsert(
            self.session,
            CONTACTS,
            ("id", *names, "custom"),
            {
                "is_anonymous": False,
                "available_to_all": False,
                "created_at": now,
                "updated_at": now,
            },
        )
        insert.execute(
            (new_id, *[p.values.get(n) for n in names], p.values.get("custom") or {})
            for p, new_id in zip(pending, ids, strict=True)
        )
        return ids

    def _insert_tags(self, pairs: list[tuple[int, str]]) -> None:
        if not pairs:
            return
        names = {name for _, name in pairs}
        for name in sorted(names):
            insert_or_ignore(self.session, Tag, {"name": name})
        tag_ids = dict(
            self.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names))).all()
        )
        rows = [
            {"contact_id": contact_id, "tag_id": tag_ids[name]}
            for contact_id, name in sorted(set(pairs))
        ]
        self.session.execute(insert_ignoring(self.session, cast(Table, ContactTag.__table__)), rows)


def _identity_order(row: tuple[int, str, str]) -> tuple[str, str]:
    return row[1], row[2]


def _merge_values(
    target: dict[str, Any], values: dict[str, Any], overwrite_empty: bool, empty: set[str]
) -> bool:
    changed = False
    for name, value in values.items():
        if name == "custom":
            value = {**target.get("custom", {}), **value}
        if target.get(name) != value:
            target[name] = value
            changed = True
    if overwrite_empty:
        for name in empty & set(target):
            if target[name] is not None:
                target[name] = None
                changed = True
    return changed


def _update_stored(
    stored: Stored, values: dict[str, Any], overwrite_empty: bool, empty: Sequence[str] | set[str]
) -> set[str]:
    """Apply a row to an existing contact's columns; the names of those it changed."""
    changed: set[str] = set()
    for name, value in values.items():
        if name == "custom":
            value = {**(stored["custom"] or {}), **value}
        if stored[name] != value:
            stored[name] = value
            changed.add(name)
    if overwrite_empty:
        for name in empty:
            if (
                name in CONTACT_COLUMNS
                and name not in ("email", "phone")
                and stored[name] is not None
            ):
                stored[name] = None
                changed.add(name)
    return changed
