"""Rules for products and orders: upserts keyed by SKU and by the shop's order number.

Re-posting an order with the same external id updates it (status, items, totals) and never
creates a second one; a refund without an amount refunds the whole order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderItem, OrderStatus, Product
from retentio.commerce.schemas import CustomerRef, OrderIn, ProductIn
from retentio.contacts.models import Contact
from retentio.contacts.resolve import Who, resolve
from retentio.errors import InvalidInput
from retentio.fields.models import FieldEntity
from retentio.fields.service import clean_values
from retentio.kit.upsert import insert_or_ignore


class RefundExceedsTotal(InvalidInput):
    code = "refund_exceeds_total"


def upsert_product(session: Session, data: ProductIn) -> Product:
    insert_or_ignore(session, Product, {"sku": data.sku, "name": data.name, "price": data.price})
    product = session.scalars(
        select(Product).where(Product.sku == data.sku).with_for_update()
    ).one()
    for name, value in data.model_dump().items():
        setattr(product, name, value)
    session.flush()
    return product


def upsert_order(
    session: Session, data: OrderIn, *, default_region: str, now: datetime
) -> tuple[Order, bool]:
    """Create or update the order with this external id; returns (order, created)."""
    contact = _customer(session, data.customer, default_region=default_region, now=now)
    created = _claim(session, data, contact.id)
    order = session.scalars(
        select(Order).where(Order.external_id == data.external_id).with_for_update()
    ).one()
    items_total = sum((i.unit_price * i.quantity for i in data.items), Decimal("0"))
    order.contact_id = contact.id
    order.status, order.channel, order.currency = data.status, data.channel, data.currency
    order.placed_at = data.placed_at
    order.total = data.total if data.total is not None else items_total
    order.refunded_total = _refunded(data, order.total)
    order.custom = clean_values(
        session, FieldEntity.ORDER, data.custom or {}, current=None if created else order.custom
    )
    _replace_items(session, order, data)
    session.flush()
    return order, created


def _claim(session: Session, data: OrderIn, contact_id: int) -> bool:
    """Insert the order row unless it exists; the unique key settles concurrent posts."""
    return insert_or_ignore(
        session,
        Order,
        {
            "external_id": data.external_id,
            "contact_id": contact_id,
            "status": data.status,
            "channel": data.channel,
            "total": Decimal("0"),
            "placed_at": data.placed_at,
            "custom": {},
        },
    )


def _refunded(data: OrderIn, total: Decimal) -> Decimal:
    if data.refunded_total is not None:
        if data.refunded_total > total:
            raise RefundExceedsTotal(
                f"refunded_total: {data.refunded_total} is more than the order total {total}.",
                details={"field": "refunded_total"},
            )
        return data.refunded_total
    return total if data.status == OrderStatus.REFUNDED else Decimal("0")


def _replace_items(session: Session, order: Order, data: OrderIn) -> None:
    skus = {i.sku for i in data.items}
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    session.execute(delete(OrderItem).where(OrderItem.order_id == order.id))
    for item in data.items:
        product = products.get(item.sku)
        session.add(
            OrderItem(
                order_id=order.id,
                product_id=product.id if product else None,
                sku=item.sku,
                name=item.name or (product.name if product else item.sku),
                category=item.category or (product.category if product else None),
                quantity=item.quantity,
                unit_price=item.unit_price,
            )
        )


def _customer(session: Session, ref: CustomerRef, *, default_region: str, now: datetime) -> Contact:
    if ref.contact_id is not None:
        contact = session.get(Contact, ref.contact_id)
        if contact is None or contact.deleted_at is not None:
            raise InvalidInput(
                f"customer.contact_id: contact {ref.contact_id} does not exist.",
                details={"field": "customer.contact_id"},
            )
        return contact
    who = Who(external_id=ref.external_id, email=ref.email, phone=ref.phone)
    contact = resolve(session, who, default_region=default_region, now=now)
    contact.first_name = contact.first_name or ref.first_name
    contact.last_name = contact.last_name or ref.last_name
    return contact
