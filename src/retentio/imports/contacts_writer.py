"""Writing a batch of parsed contact rows: match, then update in place or insert in bulk.

Rows are applied in file order, so a person listed twice ends as the second row says, whatever
the batch size. Matching tries the configured keys in order (external id, e-mail, phone by
default); an e-mail or phone that belongs to a different contact than the one matched rejects
the row rather than silently moving an address between people.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.companies.models import Company
from retentio.contacts.identities import external_key
from retentio.contacts.models import Contact, ContactIdentity, ContactTag, IdentityKind, Tag
from retentio.db import utcnow
from retentio.imports.rows import ContactRow, RowError
from retentio.kit.ids import allocate_ids
from retentio.kit.upsert import insert_or_ignore

CHUNK = 5_000
KEY_KINDS = {
    "external_id": IdentityKind.EXTERNAL,
    "email": IdentityKind.EMAIL,
    "phone": IdentityKind.PHONE,
}
Key = tuple[IdentityKind, str]


@dataclass
class Outcome:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, RowError]] = field(default_factory=list)


@dataclass
class _Pending:
    """A contact this batch will insert: its column values and identities."""

    values: dict[str, Any]
    keys: list[Key]
    tags: set[str]


@dataclass
class _Batch:
    """What one batch knows and collects while its rows are applied in order."""

    owners: dict[Key, int]
    existing: dict[int, Contact]
    outcome: Outcome = field(default_factory=Outcome)
    pending: list[_Pending] = field(default_factory=list)
    claimed: dict[Key, _Pending] = field(default_factory=dict)
    identities: list[dict[str, Any]] = field(default_factory=list)
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
        owners = self._owners_of({k for _, _, keys in keyed for k in keys})
        batch = _Batch(owners=owners, existing=self._load(set(owners.values())))
        for number, row, keys in keyed:
            try:
                self._apply(batch, row, keys)
            except RowError as error:
                batch.outcome.rejected.append((number, error))
        self.session.flush()
        self._insert(batch)
        return batch.outcome

    def _apply(self, batch: _Batch, row: ContactRow, keys: list[Key]) -> None:
        values = self._values(row)
        target_id, target_new = self._match(keys, batch.owners, batch.claimed)
        for key in keys:
            holder, pending = batch.owners.get(key), batch.claimed.get(key)
            if (holder is not None and holder != target_id) or (
                pending is not None and pending is not target_new
            ):
                raise RowError(_column_of(key), key[1], "already belongs to another contact")
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
        contact = batch.existing[contact_id]
        changed = _update_contact(contact, values, self.overwrite_empty, row.empty)
        added = [k for k in keys if k not in batch.owners]
        batch.identities += [{"contact_id": contact_id, "kind": k[0], "value": k[1]} for k in added]
        batch.owners.update(dict.fromkeys(added, contact_id))
        tags_added = bool(row.tags) and self._tags_missing(contact_id, row.tags)
        batch.tags += [(contact_id, t) for t in row.tags]
        batch.count(changed or bool(added) or tags_added)

    def _match(
        self, keys: list[Key], owners: dict[Key, int], claimed: dict[Key, _Pending]
    ) -> tuple[int | None, _Pending | None]:
        by_kind = {kind: (kind, value) for kind, value in keys}
        for name in self.match_by:
            key = by_kind.get(KEY_KINDS[name])
            if key is None:
                continue
            if key in claimed:
                return None, claimed[key]
            if key in owners:
                return owners[key], None
        return None, None

    def _keys(self, row: ContactRow) -> list[Key]:
        return [k for k in (self._key_for(row, n) for n in KEY_KINDS) if k is not None]

    def _key_for(self, row: ContactRow, name: str) -> Key | None:
        if name == "external_id" and row.external_id:
            return IdentityKind.EXTERNAL, external_key(self.system, row.external_id)
        if name == "email" and row.email:
            return IdentityKind.EMAIL, row.email
        if name == "phone" and row.phone:
            return IdentityKind.PHONE, row.phone
        return None

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

    def _owners_of(self, keys: Iterable[Key]) -> dict[Key, int]:
        by_kind: dict[IdentityKind, list[str]] = {}
        for kind, value in keys:
            by_kind.setdefault(kind, []).append(value)
        found: dict[Key, int] = {}
        for kind, values in by_kind.items():
            for start in range(0, len(values), CHUNK):
                rows = self.session.execute(
                    select(ContactIdentity.value, ContactIdentity.contact_id).where(
                        ContactIdentity.kind == kind,
                        ContactIdentity.value.in_(values[start : start + CHUNK]),
                    )
                )
                found.update({(kind, value): cid for value, cid in rows})
        return found

    def _load(self, ids: set[int]) -> dict[int, Contact]:
        ordered = sorted(ids)
        loaded: dict[int, Contact] = {}
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            loaded.update(
                {
                    c.id: c
                    for c in self.session.scalars(select(Contact).where(Contact.id.in_(chunk)))
                }
            )
        return loaded

    def _tags_missing(self, contact_id: int, names: list[str]) -> bool:
        have = set(
            self.session.scalars(
                select(Tag.name)
                .join(ContactTag, ContactTag.tag_id == Tag.id)
                .where(ContactTag.contact_id == contact_id)
            )
        )
        return not set(names) <= have

    def _insert(self, batch: _Batch) -> None:
        identities, tags = batch.identities, batch.tags
        if batch.pending:
            rows = [{"custom": {}, "is_anonymous": False, **p.values} for p in batch.pending]
            ids = self._insert_contacts(rows)
            for created, contact_id in zip(batch.pending, ids, strict=True):
                identities += [
                    {"contact_id": contact_id, "kind": k[0], "value": k[1]} for k in created.keys
                ]
                tags += [(contact_id, t) for t in sorted(created.tags)]
        now = utcnow()
        table = cast(Table, ContactIdentity.__table__)
        for start in range(0, len(identities), CHUNK):
            chunk = [{**row, "created_at": now} for row in identities[start : start + CHUNK]]
            self.session.execute(insert(table), chunk)
        self._insert_tags(tags)

    def _insert_contacts(self, rows: list[dict[str, Any]]) -> list[int]:
        # Core executemany with ids allocated up front: no RETURNING (row-at-a-time on SQLite)
        # and none of the ORM's per-row bookkeeping.
        table = cast(Table, Contact.__table__)
        ids = allocate_ids(self.session, table, len(rows))
        now = utcnow()
        defaults = {"available_to_all": False, "created_at": now, "updated_at": now}
        columns = {k for row in rows for k in row} | set(defaults) | {"id"}
        full = [
            {c: row.get(c, defaults.get(c)) for c in columns} | {"id": new_id}
            for row, new_id in zip(rows, ids, strict=True)
        ]
        for row in full:
            row["custom"] = row["custom"] or {}
        for start in range(0, len(full), CHUNK):
            self.session.execute(insert(table), full[start : start + CHUNK])
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
        for contact_id, name in sorted(set(pairs)):
            insert_or_ignore(
                self.session, ContactTag, {"contact_id": contact_id, "tag_id": tag_ids[name]}
            )


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


def _update_contact(
    contact: Contact, values: dict[str, Any], overwrite_empty: bool, empty: set[str]
) -> bool:
    changed = False
    for name, value in values.items():
        if name == "custom":
            value = {**contact.custom, **value}
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
    if overwrite_empty:
        for name in empty:
            if (
                hasattr(Contact, name)
                and name not in ("email", "phone")
                and getattr(contact, name) is not None
            ):
                setattr(contact, name, None)
                changed = True
    return changed


def _column_of(key: Key) -> str:
    return {
        IdentityKind.EXTERNAL: "external_id",
        IdentityKind.EMAIL: "email",
        IdentityKind.PHONE: "phone",
    }[key[0]]
