"""Writers for the smaller kinds of import: companies, products, orders, events, consents.

They go through the domain services row by row (or order by order), each in a SAVEPOINT, so a
row the database refuses is rejected alone and the rest of the batch is kept. Contacts, the
kind imported by the million, have their own bulk writer (`contacts_writer`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderItem, OrderStatus, Product
from retentio.commerce.schemas import OrderIn, ProductIn
from retentio.commerce.service import upsert_order, upsert_product
from retentio.companies.models import Company
from retentio.companies.schemas import CompanyFields
from retentio.companies.service import create_company, update_company
from retentio.consent.models import Channel, ConsentState, Purpose
from retentio.consent.service import record_consent
from retentio.contacts.resolve import Who, resolve
from retentio.errors import RetentioError
from retentio.events.schemas import EventIn
from retentio.events.service import ingest
from retentio.imports.contacts_writer import Outcome
from retentio.imports.reader import Cell
from retentio.imports.rows import RowError, text
from retentio.imports.values import parse_bool, parse_datetime, parse_decimal, parse_int

Cells = Mapping[str, tuple[str, Cell]]
ORDER_STATUS_WORDS = {
    "новый": "placed",
    "оформлен": "placed",
    "оплачен": "paid",
    "выполнен": "fulfilled",
    "доставлен": "fulfilled",
    "отгружен": "fulfilled",
    "отменен": "cancelled",
    "отменён": "cancelled",
    "возврат": "refunded",
}
CHANNEL_WORDS = {
    "email": "email",
    "e-mail": "email",
    "почта": "email",
    "sms": "sms",
    "смс": "sms",
    "telegram": "messenger",
    "messenger": "messenger",
    "телефон": "phone",
    "phone": "phone",
}


@dataclass
class WriteContext:
    session: Session
    region: str
    now: datetime


def _value(cells: Cells, target: str) -> str:
    return text(cells[target][1]) if target in cells else ""


def _column(cells: Cells, target: str) -> str | None:
    return cells[target][0] if target in cells else None


def _pydantic_error(cells: Cells, error: ValidationError) -> RowError:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    raw = cells[field][1] if field in cells else None
    return RowError(_column(cells, field) or field or None, raw, first["msg"])


def _guarded(
    ctx: WriteContext, number: int, outcome: Outcome, cells: Cells, action: Callable[[], str]
) -> None:
    """Run one row's write in a savepoint; count its result or reject it."""
    savepoint = ctx.session.begin_nested()
    try:
        result = action()
        savepoint.commit()
    except RowError as error:
        savepoint.rollback()
        outcome.rejected.append((number, error))
        return
    except ValidationError as error:
        savepoint.rollback()
        outcome.rejected.append((number, _pydantic_error(cells, error)))
        return
    except RetentioError as error:
        savepoint.rollback()
        field = error.details.get("field") if isinstance(error.details, dict) else None
        outcome.rejected.append(
            (number, RowError(_column(cells, str(field)) or field, None, error.message))
        )
        return
    setattr(outcome, result, getattr(outcome, result) + 1)


def _each(
    ctx: WriteContext,
    rows: list[tuple[int, Cells]],
    write_row: Callable[[WriteContext, Cells], str],
) -> Outcome:
    outcome = Outcome()
    for number, cells in rows:
        _guarded(ctx, number, outcome, cells, partial(write_row, ctx, cells))
    return outcome


def write_companies(ctx: WriteContext, rows: list[tuple[int, Cells]]) -> Outcome:
    return _each(ctx, rows, _company)


def _company(ctx: WriteContext, cells: Cells) -> str:
    given = {t: _value(cells, t) or None for t in cells}
    data = CompanyFields.model_validate(given)
    query = select(Company).where(Company.deleted_at.is_(None))
    found = ctx.session.scalar(query.where(Company.inn == data.inn)) if data.inn else None
    found = found or ctx.session.scalar(query.where(Company.name == data.name))
    if found is None:
        create_company(ctx.session, data, actor_id=None)
        return "inserted"
    before = CompanyFields.model_validate(found, from_attributes=True).model_dump()
    update_company(ctx.session, found, data, actor_id=None)
    after = CompanyFields.model_validate(found, from_attributes=True).model_dump()
    return "updated" if before != after else "unchanged"


def write_products(ctx: WriteContext, rows: list[tuple[int, Cells]]) -> Outcome:
    return _each(ctx, rows, _product)


def _product(ctx: WriteContext, cells: Cells) -> str:
    price = _value(cells, "price")
    data = ProductIn.model_validate(
        {
            "sku": _value(cells, "sku"),
            "name": _value(cells, "name"),
            "category": _value(cells, "category") or None,
            "price": _money(cells, "price") if price else None,
            "currency": _value(cells, "currency") or "RUB",
        }
    )
    before = ctx.session.scalar(select(Product).where(Product.sku == data.sku))
    snapshot = ProductIn.model_validate(before, from_attributes=True) if before else None
    product = upsert_product(ctx.session, data)
    if snapshot is None:
        return "inserted"
    return (
        "unchanged"
        if ProductIn.model_validate(product, from_attributes=True) == snapshot
        else "updated"
    )


def _money(cells: Cells, target: str) -> Decimal:
    raw = cells[target][1] if target in cells else None
    try:
        return parse_decimal(raw if isinstance(raw, int | float) else text(raw))
    except ValueError as error:
        raise RowError(_column(cells, target), cells[target][1], str(error)) from error


# What a row without an order number is identified by: who bought, when, what and for how much.
# Status, channel and the buyer's name are left out, so a re-export that changes them updates
# the order instead of adding another.
ROW_ORDER_IDENTITY = (
    "customer_id",
    "customer_email",
    "customer_phone",
    "placed_at",
    "total",
    "currency",
    "sku",
    "product_name",
    "quantity",
    "unit_price",
)


def row_order_id(cells: Cells, seen: dict[bytes, int]) -> str:
    """A deterministic order number for a row of a file without one: `row:` + a hash of the
    row's identifying cells (`ROW_ORDER_IDENTITY`, as written in the file) + `:n`, n counting
    identical rows from the top of the file (`seen` carries the count across calls).

    Re-importing the same file, or one with rows added, moved or removed elsewhere, gives every
    row the number it had, so nothing is imported twice; the row number in the file is left out
    for that reason. Two genuinely separate purchases with identical cells stay two orders
    (`:1`, `:2`). The limits: each row is a whole order (rows of one multi-line order become
    separate orders), and the count is per file: the n-th of several identical rows in another
    file is taken for the same order as the n-th in this one.
    """
    content = repr([_value(cells, target) for target in ROW_ORDER_IDENTITY]).encode()
    digest = hashlib.blake2b(content, digest_size=16).digest()
    occurrence = seen[digest] = seen.get(digest, 0) + 1
    return f"row:{digest.hex()}:{occurrence}"


def order_key(cells: Cells) -> str:
    """Rows of one order share its number: the runner never splits them across batches."""
    return _value(cells, "external_id")


def write_orders(ctx: WriteContext, rows: list[tuple[int, Cells]]) -> Outcome:
    outcome = Outcome()
    groups: dict[str, list[tuple[int, Cells]]] = {}
    for number, cells in rows:
        groups.setdefault(order_key(cells), []).append((number, cells))
    for group in groups.values():
        first_number, first = group[0]
        counted = Outcome()
        _guarded(ctx, first_number, counted, first, partial(_order, ctx, group))
        # Every row of an order shares its fate: all inserted, updated, unchanged or rejected.
        for name in ("inserted", "updated", "unchanged"):
            setattr(outcome, name, getattr(outcome, name) + getattr(counted, name) * len(group))
        for _, error in counted.rejected:
            outcome.rejected += [(number, error) for number, _cells in group]
    return outcome


def _order(ctx: WriteContext, group: list[tuple[int, Cells]]) -> str:
    cells = group[0][1]
    if not order_key(cells):
        raise RowError(_column(cells, "external_id"), None, "the order number is empty")
    data = OrderIn.model_validate(
        {
            "external_id": order_key(cells),
            "placed_at": _when(cells, "placed_at"),
            "status": _status(cells),
            "channel": _value(cells, "channel").lower() or "offline",
            "currency": _value(cells, "currency") or "RUB",
            "customer": {
                "external_id": _value(cells, "customer_id") or None,
                "email": _value(cells, "customer_email") or None,
                "phone": _value(cells, "customer_phone") or None,
                "first_name": _value(cells, "customer_name") or None,
            },
            "items": [_item(c) for _, c in group],
            "total": _money(cells, "total") if _value(cells, "total") and "sku" in cells else None,
        }
    )
    before = _order_snapshot(ctx.session, data.external_id)
    order, created = upsert_order(ctx.session, data, default_region=ctx.region, now=ctx.now)
    if created:
        return "inserted"
    ctx.session.flush()
    return "unchanged" if _order_snapshot(ctx.session, order.external_id) == before else "updated"


def _when(cells: Cells, target: str) -> datetime:
    raw = cells[target][1] if target in cells else None
    if raw in (None, ""):
        raise RowError(_column(cells, target) or target, None, "the date is empty")
    try:
        return parse_datetime(raw if not isinstance(raw, bool) else str(raw))
    except ValueError as error:
        raise RowError(_column(cells, target), raw, str(error)) from error


def _status(cells: Cells) -> str:
    word = _value(cells, "status").lower()
    return ORDER_STATUS_WORDS.get(word, word or OrderStatus.FULFILLED.value)


def _item(cells: Cells) -> dict[str, Any]:
    if "sku" not in cells and "product_name" not in cells:
        # One row per order: the order becomes one line worth its total.
        return {
            "sku": "ORDER",
            "name": "Order",
            "quantity": 1,
            "unit_price": _money(cells, "total"),
        }
    quantity = _value(cells, "quantity")
    try:
        count = parse_int(quantity) if quantity else 1
    except ValueError as error:
        raise RowError(_column(cells, "quantity"), quantity, str(error)) from error
    return {
        "sku": _value(cells, "sku") or _value(cells, "product_name"),
        "name": _value(cells, "product_name") or None,
        "category": _value(cells, "category") or None,
        "quantity": count,
        "unit_price": _money(cells, "unit_price")
        if _value(cells, "unit_price")
        else _money(cells, "total"),
    }


def _order_snapshot(session: Session, external_id: str) -> tuple[Any, ...] | None:
    order = session.scalar(select(Order).where(Order.external_id == external_id))
    if order is None:
        return None
    items = session.execute(
        select(OrderItem.sku, OrderItem.quantity, OrderItem.unit_price)
        .where(OrderItem.order_id == order.id)
        .order_by(OrderItem.sku, OrderItem.quantity)
    ).all()
    return (
        order.contact_id,
        order.status,
        order.channel,
        order.total,
        order.refunded_total,
        order.placed_at,
        tuple(tuple(i) for i in items),
    )


def write_events(ctx: WriteContext, rows: list[tuple[int, Cells]]) -> Outcome:
    return _each(ctx, rows, _event)


def _event(ctx: WriteContext, cells: Cells) -> str:
    occurred = _when(cells, "occurred_at")
    identity = {
        "user_id": _value(cells, "user_id") or None,
        "email": _value(cells, "email") or None,
        "phone": _value(cells, "phone") or None,
    }
    kind = _value(cells, "type")
    # Without an id column, the row's own content names the event: re-importing the file
    # then finds every event already stored.
    message_id = (
        _value(cells, "message_id")
        or "import:"
        + hashlib.sha256(
            repr((kind, occurred.isoformat(), sorted(identity.items()))).encode()
        ).hexdigest()[:40]
    )
    event = EventIn.model_validate(
        {"message_id": message_id, "type": kind, "occurred_at": occurred, **identity}
    )
    result = ingest(ctx.session, [event], source_id=None, default_region=ctx.region, now=ctx.now)
    return "inserted" if result.accepted else "unchanged"


def write_consents(ctx: WriteContext, rows: list[tuple[int, Cells]]) -> Outcome:
    return _each(ctx, rows, _consent)


def _consent(ctx: WriteContext, cells: Cells) -> str:
    who = Who(
        external_id=_value(cells, "external_id") or None,
        external_system="import",
        email=_value(cells, "email") or None,
        phone=_value(cells, "phone") or None,
    )
    contact = resolve(ctx.session, who, default_region=ctx.region, now=ctx.now)
    channel_word = _value(cells, "channel").lower()
    channel = CHANNEL_WORDS.get(channel_word)
    if channel is None:
        raise RowError(
            _column(cells, "channel"), channel_word, "use email, sms, messenger or phone"
        )
    purpose_word = _value(cells, "purpose").lower() or "marketing"
    if purpose_word not in {p.value for p in Purpose}:
        raise RowError(_column(cells, "purpose"), purpose_word, "use marketing or transactional")
    purpose = Purpose(purpose_word)
    try:
        granted = parse_bool(_value(cells, "granted") or "да")
    except ValueError as error:
        raise RowError(_column(cells, "granted"), cells["granted"][1], str(error)) from error
    at = _when(cells, "occurred_at") if _value(cells, "occurred_at") else ctx.now
    state = ctx.session.get(ConsentState, (contact.id, Channel(channel), purpose))
    if state is not None and state.granted == granted and state.updated_at >= at:
        return "unchanged"
    record_consent(
        ctx.session,
        contact.id,
        channel=Channel(channel),
        purpose=purpose,
        granted=granted,
        source=_value(cells, "source") or "import",
        text_version=_value(cells, "text_version") or None,
        occurred_at=at,
    )
    return "inserted" if state is None else "updated"
