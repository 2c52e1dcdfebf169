"""Reading orders and products: filtered, sorted, paged lists, totals and one order's items.

Revenue is `total − refunded_total`, zero for a cancelled order (as `Order.revenue`), summed in
SQL. Sales users see only the orders of contacts they may see (`contacts.access`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.commerce.models import (
    MONEY,
    Order,
    OrderChannel,
    OrderItem,
    OrderStatus,
    Product,
)
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact
from retentio.errors import NotFound

REVENUE = type_coerce(
    case(
        (Order.status == OrderStatus.CANCELLED, literal(Decimal("0"), MONEY)),
        else_=Order.total - Order.refunded_total,
    ),
    MONEY,
)
ORDER_SORTS: dict[str, Any] = {"placed": Order.placed_at, "total": Order.total}
PRODUCT_SORTS: dict[str, Any] = {
    "name": Product.name,
    "sku": Product.sku,
    "category": Product.category,
    "price": Product.price,
}


@dataclass(frozen=True)
class OrderFilter:
    search: str | None = None
    status: OrderStatus | None = None
    channel: OrderChannel | None = None
    placed_from: date | None = None
    placed_to: date | None = None
    contact_id: int | None = None


@dataclass(frozen=True)
class MoneyTotal:
    """Orders of one currency: how many, their totals and what stayed after refunds."""

    currency: str
    orders: int
    total: Decimal
    revenue: Decimal


def _visible_orders(user: User, flt: OrderFilter) -> Select[Order, Contact]:
    conditions: list[ColumnElement[bool]] = [visible_clause(user)]
    if flt.search:
        conditions.append(Order.external_id.like(f"%{flt.search.strip()}%"))
    if flt.status is not None:
        conditions.append(Order.status == flt.status)
    if flt.channel is not None:
        conditions.append(Order.channel == flt.channel)
    # Days are UTC days, the same for every viewer.
    if flt.placed_from is not None:
        conditions.append(Order.placed_at >= datetime.combine(flt.placed_from, time(), UTC))
    if flt.placed_to is not None:
        end = datetime.combine(flt.placed_to + timedelta(days=1), time(), UTC)
        conditions.append(Order.placed_at < end)
    if flt.contact_id is not None:
        conditions.append(Order.contact_id == flt.contact_id)
    return (
        select(Order, Contact)
        .join(Contact, Contact.id == Order.contact_id)
        .where(and_(*conditions))
    )


def orders_page(
    session: Session,
    user: User,
    flt: OrderFilter,
    *,
    sort: str = "-placed",
    page_number: int = 1,
    per_page: int = 50,
) -> list[tuple[Order, Contact]]:
    column = ORDER_SORTS.get(sort.lstrip("-"), ORDER_SORTS["placed"])
    order = column.desc() if sort.startswith("-") else column.asc()
    rows = session.execute(
        _visible_orders(user, flt)
        .order_by(order, Order.id.desc())
        .offset((max(page_number, 1) - 1) * per_page)
        .limit(per_page)
    )
    return [(row[0], row[1]) for row in rows]


def order_totals(session: Session, user: User, flt: OrderFilter) -> list[MoneyTotal]:
    """Count, sum and revenue of every order matching the filter, per currency."""
    matching = _visible_orders(user, flt).with_only_columns(Order.id).subquery()
    return _totals(session, Order.id.in_(select(matching.c.id)))


def contact_totals(session: Session, contact_id: int) -> list[MoneyTotal]:
    return _totals(session, Order.contact_id == contact_id)


def _totals(session: Session, condition: ColumnElement[bool]) -> list[MoneyTotal]:
    rows = session.execute(
        select(
            Order.currency,
            func.count(),
            type_coerce(func.coalesce(func.sum(Order.total), 0), MONEY),
            type_coerce(func.coalesce(func.sum(REVENUE), 0), MONEY),
        )
        .where(condition)
        .group_by(Order.currency)
        .order_by(Order.currency)
    )
    return [
        MoneyTotal(currency=c, orders=n, total=Decimal(t), revenue=Decimal(r))
        for c, n, t, r in rows
    ]


def contact_orders(session: Session, contact_id: int, *, limit: int = 20) -> Sequence[Order]:
    return session.scalars(
        select(Order)
        .where(Order.contact_id == contact_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(limit)
    ).all()


def visible_order(session: Session, user: User, order_id: int) -> tuple[Order, Contact]:
    """The order and its customer; NotFound when the user may not see the customer."""
    row = session.execute(_visible_orders(user, OrderFilter()).where(Order.id == order_id)).first()
    if row is None:
        raise NotFound(f"Order {order_id} does not exist.")
    return row[0], row[1]


def items_of(session: Session, order_id: int) -> Sequence[OrderItem]:
    return session.scalars(
        select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id)
    ).all()


@dataclass(frozen=True)
class ProductFilter:
    search: str | None = None
    category: str | None = None


def products_page(
    session: Session,
    flt: ProductFilter,
    *,
    sort: str = "name",
    page_number: int = 1,
    per_page: int = 50,
) -> tuple[Sequence[Product], int]:
    conditions: list[ColumnElement[bool]] = []
    if flt.search:
        pattern = f"%{flt.search.strip().lower()}%"
        conditions.append(
            or_(func.lower(Product.name).like(pattern), func.lower(Product.sku).like(pattern))
        )
    if flt.category:
        conditions.append(Product.category == flt.category)
    query = select(Product).where(*conditions)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    column = PRODUCT_SORTS.get(sort.lstrip("-"), PRODUCT_SORTS["name"])
    order = column.desc() if sort.startswith("-") else column.asc()
    rows = session.scalars(
        query.order_by(order, Product.id)
        .offset((max(page_number, 1) - 1) * per_page)
        .limit(per_page)
    ).all()
    return rows, total


def categories(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Product.category)
            .where(Product.category.is_not(None))
            .distinct()
            .order_by(Product.category)
            .limit(500)
        )
    )
