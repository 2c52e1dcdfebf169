"""Rules of the loyalty programme: its settings and tiers, and the points ledger.

A change of the settings or of a tier is recorded in the audit log (entities
"loyalty_programme" and "loyalty_tier") here, for the API and the pages alike; points move
through the ledger, which is its own record.

Every change of points is an append-only `loyalty_entries` row written in the same transaction
as one atomic `UPDATE loyalty_accounts SET balance = balance + n`, so the balance is always the
ledger's sum. Entries that come from outside or from a rule carry a unique key ("order:12:earn",
"welcome:7", a POS receipt id): a retry or a concurrent duplicate finds the key taken and adds
nothing. Services flush, never commit; the request or the task owns the transaction.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, extract, func, or_, select, update
from sqlalchemy.orm import Session

from retentio.audit import service as audit
from retentio.commerce.models import Order, OrderItem, OrderStatus
from retentio.contacts.models import Contact
from retentio.errors import Conflict, InvalidInput, NotFound
from retentio.events.models import Event, EventDedup
from retentio.kit.upsert import insert_or_ignore
from retentio.loyalty.models import Account, Entry, EntryKind, Programme, Tier
from retentio.loyalty.schemas import ProgrammeIn, TierIn

PROGRAMME_ID = 1
TIER_CHANGED = "tier_changed"
# Orders earn once they are paid; a placed order waits (it is earned when it is posted as paid).
EARNING_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.FULFILLED})


class InsufficientPoints(Conflict):
    code = "insufficient_points"


class KeyReused(Conflict):
    code = "key_reused"


@dataclass(frozen=True)
class Posting:
    """One ledger entry to write: what `_post` needs besides the session."""

    contact_id: int
    kind: EntryKind
    points: int
    now: datetime
    key: str | None = None
    reason: str = ""
    order_id: int | None = None
    actor_id: int | None = None
    expires_at: datetime | None = None


# --- programme and tiers ---------------------------------------------------------------------


def programme(session: Session) -> Programme:
    """The programme row, created with the defaults the first time something writes."""
    insert_or_ignore(
        session, Programme, {"id": PROGRAMME_ID, "category_rates": {}, "expiry_days": None}
    )
    found = session.get(Programme, PROGRAMME_ID)
    assert found is not None  # inserted a moment ago or earlier
    return found


def update_programme(
    session: Session,
    data: ProgrammeIn,
    *,
    actor_id: int | None,
) -> Programme:
    current = programme(session)
    before = _programme_settings(current)
    for name, value in data.model_dump().items():
        setattr(current, name, value)
    current.category_rates = {k: str(v) for k, v in data.category_rates.items()}
    session.flush()
    changes = audit.changed(before, _programme_settings(current))
    audit.record(
        session,
        entity="loyalty_programme",
        entity_id=current.id,
        action="update",
        actor_id=actor_id,
        changes=changes,
    )
    return current


def get_tier(session: Session, tier_id: int) -> Tier:
    tier = session.get(Tier, tier_id)
    if tier is None:
        raise NotFound(f"Tier {tier_id} does not exist.")
    return tier


def create_tier(
    session: Session,
    data: TierIn,
    *,
    actor_id: int | None,
) -> Tier:
    # The unique name settles two admins creating the same tier at once.
    if not insert_or_ignore(session, Tier, data.model_dump()):
        raise _name_taken(data.name)
    tier = session.scalars(select(Tier).where(Tier.name == data.name)).one()
    changes = {k: audit.json_ready(v) for k, v in _tier_settings(tier).items()}
    audit.record(
        session,
        entity="loyalty_tier",
        entity_id=tier.id,
        action="create",
        actor_id=actor_id,
        changes=changes,
    )
    return tier


def update_tier(session: Session, tier_id: int, data: TierIn, *, actor_id: int | None) -> Tier:
    tier = get_tier(session, tier_id)
    other = session.scalar(select(Tier.id).where(Tier.name == data.name, Tier.id != tier_id))
    if other is not None:
        raise _name_taken(data.name)
    before = _tier_settings(tier)
    for name, value in data.model_dump().items():
        setattr(tier, name, value)
    session.flush()
    session.refresh(tier)  # the stored scale (60000.00), as every read shows it
    changes = audit.changed(before, _tier_settings(tier))
    audit.record(
        session,
        entity="loyalty_tier",
        entity_id=tier.id,
        action="update",
        actor_id=actor_id,
        changes=changes,
    )
    return tier


def delete_tier(session: Session, tier_id: int, *, actor_id: int | None) -> None:
    """Members of the tier keep no tier until the next recalculation places them."""
    tier = get_tier(session, tier_id)
    # The row goes: its name is what tells a reader of the log which tier it was.
    gone = {"name": tier.name}
    session.delete(tier)
    session.flush()
    audit.record(
        session,
        entity="loyalty_tier",
        entity_id=tier_id,
        action="delete",
        actor_id=actor_id,
        changes=gone,
    )


def _programme_settings(rules: Programme) -> dict[str, Any]:
    return {
        "enabled": rules.enabled,
        "points_per_unit": rules.points_per_unit,
        "category_rates": rules.category_rates,
        "welcome_bonus": rules.welcome_bonus,
        "birthday_bonus": rules.birthday_bonus,
        "expiry_days": rules.expiry_days,
        "tier_window_days": rules.tier_window_days,
    }


def _tier_settings(tier: Tier) -> dict[str, Any]:
    return {
        "name": tier.name,
        "threshold": tier.threshold,
        "multiplier": tier.multiplier,
        "discount_percent": tier.discount_percent,
    }


def _name_taken(name: str) -> Conflict:
    return Conflict(f"name: a tier named {name!r} exists.", details={"field": "name"})


# --- the ledger ------------------------------------------------------------------------------


def _post(session: Session, posting: Posting) -> bool:
    """Append the entry and move the balance by its points; False when its key was taken."""
    values: dict[str, Any] = {
        "contact_id": posting.contact_id,
        "kind": posting.kind,
        "points": posting.points,
        "reason": posting.reason,
        "order_id": posting.order_id,
        "actor_id": posting.actor_id,
        "key": posting.key,
        "expires_at": posting.expires_at,
        "created_at": posting.now,
    }
    if not insert_or_ignore(session, Entry, values):
        return False
    session.execute(
        update(Account)
        .where(Account.contact_id == posting.contact_id)
        .values(balance=Account.balance + posting.points, updated_at=posting.now)
    )
    return True


def _keyed(session: Session, key: str, expected: tuple[int, EntryKind, int]) -> Entry:
    """The entry holding `key`, which must be the one the caller meant to write."""
    entry = session.scalars(select(Entry).where(Entry.key == key)).one()
    if (entry.contact_id, entry.kind, entry.points) != expected:
        raise KeyReused(
            f"key: {key!r} was used for another entry.", details={"field": "key", "id": entry.id}
        )
    return entry


def _expiry(rules: Programme, now: datetime) -> datetime | None:
    return now + timedelta(days=rules.expiry_days) if rules.expiry_days else None


def ensure_account(session: Session, contact_id: int, *, now: datetime) -> bool:
    """Open the contact's account unless it exists, with the welcome bonus; True when opened."""
    opened = insert_or_ignore(
        session, Account, {"contact_id": contact_id, "balance": 0, "updated_at": now}
    )
    rules = programme(session)
    if opened and rules.enabled and rules.welcome_bonus > 0:
        _post(
            session,
            Posting(
                contact_id=contact_id,
                kind=EntryKind.EARN,
                points=rules.welcome_bonus,
                now=now,
                key=f"welcome:{contact_id}",
                reason="welcome",
                expires_at=_expiry(rules, now),
            ),
        )
    return opened


def earn_for_order(session: Session, order_id: int, *, now: datetime) -> int:
    """Bring the order's points in line with its state; returns the points written (±).

    A paid order earns once (key "order:{id}:earn"). When it is later cancelled or refunded,
    a compensating ADJUST takes back what its revenue no longer covers — the earn entry is
    never edited. The compensation carries the earn's expiry, so expiry nets the two.
    """
    order = session.get(Order, order_id)
    if order is None:
        return 0
    earned = session.scalar(select(Entry).where(Entry.key == f"order:{order_id}:earn"))
    if earned is None:
        return _first_earn(session, order, now=now)
    held = int(
        session.scalar(
            select(func.coalesce(func.sum(Entry.points), 0)).where(Entry.order_id == order_id)
        )
        or 0
    )
    due = _still_due(order, earned.points)
    if due >= held:
        return 0
    key = f"order:{order_id}:reverse" if due == 0 else f"order:{order_id}:reverse:{due}"
    posting = Posting(
        contact_id=order.contact_id,
        kind=EntryKind.ADJUST,
        points=due - held,
        now=now,
        key=key,
        reason="order reversal",
        order_id=order_id,
        expires_at=earned.expires_at,
    )
    return posting.points if _post(session, posting) else 0


def _still_due(order: Order, earned: int) -> int:
    """What an earned order still deserves: its revenue's share of the total, floored.

    A share of the earn itself rather than a recomputation, so a tier or rate changed since
    the purchase does not change what a refund takes back.
    """
    if order.status == OrderStatus.CANCELLED or order.total <= 0:
        return 0
    return min(earned, math.floor(earned * order.revenue / order.total))


def _first_earn(session: Session, order: Order, *, now: datetime) -> int:
    rules = programme(session)
    if not rules.enabled or order.status not in EARNING_STATUSES:
        return 0
    ensure_account(session, order.contact_id, now=now)
    points = _points_for(session, order)
    if points <= 0:
        return 0
    posting = Posting(
        contact_id=order.contact_id,
        kind=EntryKind.EARN,
        points=points,
        now=now,
        key=f"order:{order.id}:earn",
        reason="order",
        order_id=order.id,
        expires_at=_expiry(rules, now),
    )
    return points if _post(session, posting) else 0


def _points_for(session: Session, order: Order) -> int:
    """floor(revenue × points per unit × category multiplier × tier multiplier).

    Items carry the categories; the order's revenue (after refunds) is spread over them in
    proportion to their value, so a partial refund lowers every item alike.
    """
    if order.status == OrderStatus.CANCELLED:
        return 0
    rules = programme(session)
    items = session.execute(
        select(OrderItem.category, OrderItem.unit_price, OrderItem.quantity).where(
            OrderItem.order_id == order.id
        )
    ).all()
    value = sum((price * quantity for _c, price, quantity in items), Decimal("0"))
    weighted = sum(
        (price * quantity * _rate(rules, category) for category, price, quantity in items),
        Decimal("0"),
    )
    factor = weighted / value if value > 0 else Decimal("1")
    tier_rate = session.scalar(
        select(Tier.multiplier)
        .join(Account, Account.tier_id == Tier.id)
        .where(Account.contact_id == order.contact_id)
    )
    points = order.revenue * factor * rules.points_per_unit * (tier_rate or Decimal("1"))
    return max(0, math.floor(points))


def _rate(rules: Programme, category: str | None) -> Decimal:
    return Decimal(str(rules.category_rates.get(category or "", 1)))


def redeem(
    session: Session,
    contact_id: int,
    points: int,
    *,
    reason: str,
    key: str,
    actor_id: int | None,
    now: datetime,
) -> Entry:
    """Spend points; the same key again returns the first entry and debits nothing more.

    The key is claimed first: of two concurrent requests with one key, the second waits on
    the unique index and then finds it taken. A savepoint takes the claim back when the
    balance is short, so a refused key may be tried again.
    """
    if points <= 0:
        raise InvalidInput("points: must be more than zero.", details={"field": "points"})
    savepoint = session.begin_nested()
    posted = insert_or_ignore(
        session,
        Entry,
        {
            "contact_id": contact_id,
            "kind": EntryKind.REDEEM,
            "points": -points,
            "reason": reason,
            "actor_id": actor_id,
            "key": key,
            "created_at": now,
        },
    )
    # `WHERE balance >= n` is what makes overdrawing impossible under concurrency.
    if posted and not _debit(session, contact_id, points, now):
        savepoint.rollback()
        raise _insufficient(session, contact_id, points)
    savepoint.commit()
    return _keyed(session, key, (contact_id, EntryKind.REDEEM, -points))


def _debit(session: Session, contact_id: int, points: int, now: datetime) -> bool:
    debited = session.execute(
        update(Account)
        .where(Account.contact_id == contact_id, Account.balance >= points)
        .values(balance=Account.balance - points, updated_at=now)
        .returning(Account.balance)
    ).first()
    return debited is not None


def _insufficient(session: Session, contact_id: int, points: int) -> InsufficientPoints:
    balance = session.scalar(select(Account.balance).where(Account.contact_id == contact_id)) or 0
    return InsufficientPoints(
        f"points: the balance is {balance}, less than the {points} asked for.",
        details={"field": "points", "balance": balance},
    )


def adjust(
    session: Session,
    contact_id: int,
    points: int,
    *,
    reason: str,
    actor_id: int | None,
    now: datetime,
    key: str | None = None,
) -> Entry:
    """An admin's correction with a reason; it may take the balance below zero on purpose."""
    if points == 0:
        raise InvalidInput("points: must not be zero.", details={"field": "points"})
    if not reason.strip():
        raise InvalidInput("reason: say why.", details={"field": "reason"})
    ensure_account(session, contact_id, now=now)
    # An adjustment without a key is a new one each time: it gets a key of its own.
    key = key or f"adjust:{uuid.uuid4().hex}"
    posting = Posting(
        contact_id=contact_id,
        kind=EntryKind.ADJUST,
        points=points,
        now=now,
        key=key,
        reason=reason,
        actor_id=actor_id,
    )
    _post(session, posting)
    return _keyed(session, key, (contact_id, EntryKind.ADJUST, points))


# --- daily rules -----------------------------------------------------------------------------


def expire(session: Session, *, now: datetime) -> int:
    """Expire earned points whose time has come, oldest first; returns the points expired.

    FIFO without tracking lots: spending consumes the oldest points first, so what must have
    expired by now is what came due minus everything spent, and this run writes the part not
    expired yet. The expiry key holds the contact's expired total after the entry, so a
    second run, concurrent or later, writes nothing new.
    """
    candidates = session.scalars(
        select(Entry.contact_id)
        .where(Entry.kind == EntryKind.EARN, Entry.expires_at <= now)
        .distinct()
        .order_by(Entry.contact_id)
    ).all()
    total = 0
    for contact_id in candidates:
        # The account row lock orders this against redemptions of the same contact.
        session.execute(
            select(Account.contact_id).where(Account.contact_id == contact_id).with_for_update()
        )
        due, spent, expired = _expiry_sums(session, contact_id, now)
        points = max(0, due - spent) - expired
        if points <= 0:
            continue
        posting = Posting(
            contact_id=contact_id,
            kind=EntryKind.EXPIRE,
            points=-points,
            now=now,
            key=f"expire:{contact_id}:{expired + points}",
            reason="expiry",
        )
        if _post(session, posting):
            total += points
    session.flush()
    return total


def _expiry_sums(session: Session, contact_id: int, now: datetime) -> tuple[int, int, int]:
    """(points come due, points spent, points expired) of one contact."""
    dated = Entry.expires_at.is_not(None)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((and_(dated, Entry.expires_at <= now), Entry.points))), 0),
            func.coalesce(
                func.sum(
                    case(
                        (
                            and_(~dated, Entry.points < 0, Entry.kind != EntryKind.EXPIRE),
                            -Entry.points,
                        )
                    )
                ),
                0,
            ),
            func.coalesce(func.sum(case((Entry.kind == EntryKind.EXPIRE, -Entry.points))), 0),
        ).where(Entry.contact_id == contact_id)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def birthday_bonuses(session: Session, *, now: datetime) -> int:
    """Give this year's birthday bonus to members born today; returns how many got it.

    Born on 29 February: on 28 February in other years.
    """
    rules = programme(session)
    if not rules.enabled or rules.birthday_bonus <= 0:
        return 0
    today = now.date()
    born_today = and_(
        extract("month", Contact.birthday) == today.month,
        extract("day", Contact.birthday) == today.day,
    )
    if (today.month, today.day) == (2, 28) and not _is_leap(today.year):
        born_today = or_(
            born_today,
            and_(extract("month", Contact.birthday) == 2, extract("day", Contact.birthday) == 29),
        )
    members = session.scalars(
        select(Account.contact_id)
        .join(Contact, Contact.id == Account.contact_id)
        .where(Contact.deleted_at.is_(None), Contact.birthday.is_not(None), born_today)
        .order_by(Account.contact_id)
    ).all()
    given = 0
    for contact_id in members:
        posting = Posting(
            contact_id=contact_id,
            kind=EntryKind.EARN,
            points=rules.birthday_bonus,
            now=now,
            key=f"birthday:{contact_id}:{today.year}",
            reason="birthday",
            expires_at=_expiry(rules, now),
        )
        given += _post(session, posting)
    session.flush()
    return given


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def recalculate_tiers(session: Session, *, now: datetime) -> list[int]:
    """Place every member in the highest tier their revenue over the window reaches.

    Revenue is `total − refunded_total` of orders not cancelled, placed within the rolling
    window. A change sets the tier and writes a "tier_changed" event (properties `from`, `to`:
    tier names, None for no tier) that journeys can trigger on. Returns the contacts moved.
    """
    rules = programme(session)
    tiers = session.scalars(select(Tier).order_by(Tier.threshold.desc(), Tier.id)).all()
    names = {t.id: t.name for t in tiers}
    since = now - timedelta(days=rules.tier_window_days)
    revenue = (
        select(Order.contact_id, func.sum(Order.total - Order.refunded_total).label("revenue"))
        .where(
            Order.status != OrderStatus.CANCELLED,
            Order.placed_at > since,
            Order.placed_at <= now,
        )
        .group_by(Order.contact_id)
        .subquery()
    )
    members = session.execute(
        select(Account.contact_id, Account.tier_id, revenue.c.revenue)
        .outerjoin(revenue, revenue.c.contact_id == Account.contact_id)
        .order_by(Account.contact_id)
    ).all()
    moved = []
    for contact_id, old_tier, spent in members:
        amount = Decimal(spent or 0)
        new_tier = next((t.id for t in tiers if amount >= t.threshold), None)
        if new_tier == old_tier:
            continue
        changed = session.execute(
            update(Account)
            .where(Account.contact_id == contact_id, Account.tier_id.is_distinct_from(new_tier))
            .values(tier_id=new_tier, tier_since=now)
            .returning(Account.contact_id)
        ).first()
        if changed is None:
            continue  # a concurrent run moved them a moment ago
        moved.append(contact_id)
        _tier_event(
            session,
            contact_id,
            old=names.get(old_tier) if old_tier else None,
            new=names.get(new_tier) if new_tier else None,
            tier_id=new_tier,
            now=now,
        )
    session.flush()
    return moved


def _tier_event(
    session: Session,
    contact_id: int,
    *,
    old: str | None,
    new: str | None,
    tier_id: int | None,
    now: datetime,
) -> None:
    message_id = f"tier:{contact_id}:{tier_id or 0}:{now.date().isoformat()}"
    # The same de-duplication table as ingestion: one event per contact, tier and day.
    if insert_or_ignore(session, EventDedup, {"message_id": message_id, "received_at": now}):
        session.add(
            Event(
                contact_id=contact_id,
                type=TIER_CHANGED,
                occurred_at=now,
                received_at=now,
                message_id=message_id,
                properties={"from": old, "to": new},
                context={},
            )
        )
