"""Finding contacts that are *probably* the same person as a given one.

Identities are unique, so two records never share an exact e-mail or phone; what they may
share is an address that reaches the same mailbox (`Ivan.Petrov+shop@googlemail.com` is
`ivanpetrov@gmail.com`), or a name in the same company, or a name and a birthday. SQL narrows
the candidates cheaply; the pure helpers below decide. Nothing here merges: a person does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact, ContactIdentity, IdentityKind

# Gmail ignores dots in the mailbox name; googlemail.com is the same service.
GMAIL = frozenset({"gmail.com", "googlemail.com"})
# Yandex delivers one mailbox at all its domains and treats "-" and "." in logins alike.
YANDEX = frozenset({"yandex.ru", "ya.ru", "yandex.com", "yandex.by", "yandex.kz", "yandex.ua"})
CANDIDATE_LIMIT = 200
_SPACES = re.compile(r"\s+")


class Reason(StrEnum):
    EMAIL = "email"
    NAME_COMPANY = "name_company"
    NAME_BIRTHDAY = "name_birthday"


@dataclass(frozen=True)
class Duplicate:
    contact: Contact
    reasons: tuple[Reason, ...]


def canonical_email(address: str) -> str:
    """The mailbox an address delivers to: lower case, no +tag, provider aliases folded."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local:
        return address.strip().lower()
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        return f"{local.replace('.', '')}@gmail.com"
    if domain in YANDEX:
        return f"{local.replace('-', '.')}@yandex.ru"
    return f"{local}@{domain}"


def name_key(first: str | None, last: str | None) -> str | None:
    """A person's name compared loosely: case, ё/е, spacing and word order do not matter.

    Both parts are needed: a first name alone matches far too many people.
    """
    if not (first and first.strip() and last and last.strip()):
        return None
    words = _SPACES.split(f"{first} {last}".casefold().replace("ё", "е").strip())
    return " ".join(sorted(words))


def likely_duplicates(
    session: Session, user: User, contact: Contact, *, emails: Iterable[str], limit: int = 10
) -> list[Duplicate]:
    """Other live contacts this user may see that look like the same person, best first."""
    reasons: dict[int, set[Reason]] = {}
    found: dict[int, Contact] = {}
    for other in _email_matches(session, user, contact, emails):
        found[other.id] = other
        reasons.setdefault(other.id, set()).add(Reason.EMAIL)
    key = name_key(contact.first_name, contact.last_name)
    if key is not None:
        for other in _same_name_candidates(session, user, contact):
            if name_key(other.first_name, other.last_name) != key:
                continue
            found[other.id] = other
            if contact.company_id is not None and other.company_id == contact.company_id:
                reasons.setdefault(other.id, set()).add(Reason.NAME_COMPANY)
            if contact.birthday is not None and other.birthday == contact.birthday:
                reasons.setdefault(other.id, set()).add(Reason.NAME_BIRTHDAY)
    ranked = sorted(reasons, key=lambda cid: (-len(reasons[cid]), cid))
    return [
        Duplicate(found[cid], tuple(r for r in Reason if r in reasons[cid]))
        for cid in ranked[:limit]
    ]


def _others(user: User, contact: Contact) -> list[ColumnElement[bool]]:
    return [Contact.id != contact.id, Contact.deleted_at.is_(None), visible_clause(user)]


def _email_matches(
    session: Session, user: User, contact: Contact, emails: Iterable[str]
) -> Sequence[Contact]:
    keys = {canonical_email(e) for e in emails if "@" in e}
    if not keys:
        return []
    rows = session.execute(
        select(Contact, ContactIdentity.value)
        .join(ContactIdentity, ContactIdentity.contact_id == Contact.id)
        .where(
            ContactIdentity.kind == IdentityKind.EMAIL,
            or_(*(_mailbox_candidates(key) for key in keys)),
            *_others(user, contact),
        )
        .limit(CANDIDATE_LIMIT)
    )
    matches: dict[int, Contact] = {}
    for other, value in rows:
        if canonical_email(value) in keys:
            matches[other.id] = other
    return list(matches.values())


def _mailbox_candidates(key: str) -> ColumnElement[bool]:
    """Addresses that may deliver to the mailbox `key`; a superset, checked afterwards."""
    local, _, domain = key.rpartition("@")
    value = ContactIdentity.value
    if domain == "gmail.com":
        undotted = func.replace(value, ".", "")
        return or_(
            *(undotted.like(f"{_like(local)}%@{d.replace('.', '')}", escape="\\") for d in GMAIL)
        )
    if domain == "yandex.ru":
        dotted = func.replace(value, "-", ".")
        return or_(*(dotted.like(f"{_like(local)}%@{_like(d)}", escape="\\") for d in YANDEX))
    return value.like(f"{_like(local)}%@{_like(domain)}", escape="\\")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _same_name_candidates(session: Session, user: User, contact: Contact) -> Sequence[Contact]:
    """Contacts in the same company or born the same day whose names are as long."""
    places: list[ColumnElement[bool]] = []
    if contact.company_id is not None:
        places.append(Contact.company_id == contact.company_id)
    if contact.birthday is not None:
        places.append(Contact.birthday == contact.birthday)
    if not places:
        return []
    # Lengths survive case, ё and word order, so they narrow the rows compared in Python.
    length = len(contact.first_name or "") + len(contact.last_name or "")
    return session.scalars(
        select(Contact)
        .where(
            or_(*places),
            and_(Contact.first_name.is_not(None), Contact.last_name.is_not(None)),
            func.length(Contact.first_name) + func.length(Contact.last_name) == length,
            *_others(user, contact),
        )
        .limit(CANDIDATE_LIMIT)
    ).all()
