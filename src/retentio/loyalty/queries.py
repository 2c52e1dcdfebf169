"""Reads of the loyalty domain: the programme as stored, tiers, a contact's points, the ledger
search and the points outstanding. Nothing here writes; `service.py` does."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact
from retentio.loyalty.models import Account, Entry, EntryKind, Programme, Tier
from retentio.loyalty.service import PROGRAMME_ID

RECENT_ENTRIES = 10


@dataclass(frozen=True)
class LedgerFilter:
    contact_id: int | None = None
    kind: EntryKind | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(frozen=True)
class ContactPoints:
    contact_id: int
    balance: int
    tier: Tier | None
    tier_since: datetime | None
    entries: Sequence[Entry]


@dataclass(frozen=True)
class TierShare:
    tier_id: int | None
    tier: str | None
    accounts: int
    points: int


@dataclass(frozen=True)
class Outstanding:
    points: int
    accounts: int
    by_tier: list[TierShare]


def programme(session: Session) -> Programme:
    """The stored programme, or the defaults (not stored: a read never writes) before any."""
    stored = session.get(Programme, PROGRAMME_ID)
    if stored is not None:
        return stored
    return Programme(
        id=PROGRAMME_ID,
        enabled=False,
        points_per_unit=Decimal("0.0500"),
        category_rates={},
        welcome_bonus=0,
        birthday_bonus=0,
        expiry_days=None,
        tier_window_days=365,
    )


def tiers(session: Session) -> Sequence[Tier]:
    return session.scalars(select(Tier).order_by(Tier.threshold, Tier.id)).all()


def contact_points(
    session: Session, contact_id: int, *, limit: int = RECENT_ENTRIES
) -> ContactPoints:
    account = session.get(Account, contact_id)
    tier = session.get(Tier, account.tier_id) if account and account.tier_id else None
    entries = session.scalars(
        select(Entry)
        .where(Entry.contact_id == contact_id)
        .order_by(Entry.created_at.desc(), Entry.id.desc())
        .limit(limit)
    ).all()
    return ContactPoints(
        contact_id=contact_id,
        balance=account.balance if account else 0,
        tier=tier,
        tier_since=account.tier_since if account else None,
        entries=entries,
    )


def _ledger(user: User, flt: LedgerFilter) -> Select[Entry, Contact]:
    query = (
        select(Entry, Contact)
        .join(Contact, Contact.id == Entry.contact_id)
        .where(visible_clause(user))
    )
    if flt.contact_id is not None:
        query = query.where(Entry.contact_id == flt.contact_id)
    if flt.kind is not None:
        query = query.where(Entry.kind == flt.kind)
    if flt.created_from is not None:
        query = query.where(Entry.created_at >= flt.created_from)
    if flt.created_to is not None:
        query = query.where(Entry.created_at < flt.created_to)
    return query


def ledger_page(
    session: Session, user: User, flt: LedgerFilter, *, offset: int, limit: int
) -> tuple[list[tuple[Entry, Contact]], int]:
    """Entries the user may see, newest first, with the total count for paging."""
    query = _ledger(user, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Entry.created_at.desc(), Entry.id.desc()).offset(offset).limit(limit)
    ).all()
    return [(entry, contact) for entry, contact in rows], total


def outstanding(session: Session) -> Outstanding:
    """Points members hold (positive balances), in all and by tier (no tier last)."""
    rows = session.execute(
        select(
            Account.tier_id,
            Tier.name,
            func.count(Account.contact_id),
            func.coalesce(func.sum(Account.balance), 0),
        )
        .outerjoin(Tier, Tier.id == Account.tier_id)
        .where(Account.balance > 0)
        .group_by(Account.tier_id, Tier.name, Tier.threshold)
        .order_by(Tier.threshold.is_(None), Tier.threshold)
    ).all()
    shares = [TierShare(t, name, int(n), int(points)) for t, name, n, points in rows]
    return Outstanding(
        points=sum(s.points for s in shares),
        accounts=sum(s.accounts for s in shares),
        by_tier=shares,
    )


def ledger_sum(session: Session, contact_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.contact_id == contact_id)
        )
        or 0
    )


def template_views(session: Session, contact_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """`loyalty` in message templates, for many contacts in one query: balance, tier name and
    discount. Contacts without an account are absent (templates see zero points)."""
    rows = session.execute(
        select(Account.contact_id, Account.balance, Tier.name, Tier.discount_percent)
        .outerjoin(Tier, Tier.id == Account.tier_id)
        .where(Account.contact_id.in_(set(contact_ids)))
    )
    return {
        contact_id: {"balance": balance, "tier": tier, "discount_percent": discount}
        for contact_id, balance, tier, discount in rows
    }
