"""JSON API of products and orders: upserts keyed by SKU and by the shop's order number."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.deps import CurrentUser, require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.commerce import service
from retentio.commerce.models import Order, OrderItem, Product
from retentio.commerce.schemas import OrderIn, OrderItemRead, OrderRead, ProductIn, ProductRead
from retentio.contacts.access import visible_clause, visible_contact
from retentio.contacts.models import Contact
from retentio.db import utcnow
from retentio.errors import NotFound
from retentio.loyalty import tasks as loyalty_tasks
from retentio.profiles.tasks import enqueue_refresh
from retentio.web.deps import SessionDep, SettingsDep

router = APIRouter(tags=["commerce"])
Editor = Annotated[User, Depends(require(Permission.EDIT_CUSTOMERS))]


@router.get("/products", response_model=list[ProductRead])
def list_products(
    session: SessionDep,
    _user: CurrentUser,
    category: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Sequence[Product]:
    query = select(Product).order_by(Product.sku).limit(limit).offset(offset)
    if category:
        query = query.where(Product.category == category)
    return session.scalars(query).all()


@router.put("/products/{sku}", response_model=ProductRead)
def put_product(sku: str, body: ProductIn, session: SessionDep, _user: Editor) -> Product:
    """Create or update the product with this SKU (the SKU in the path wins)."""
    return service.upsert_product(session, body.model_copy(update={"sku": sku}))


@router.post(
    "/orders",
    response_model=OrderRead,
    # 200 when the external id is known (the order is updated), 201 when it is new.
    responses={201: {"model": OrderRead, "description": "Created"}},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {
                        "external_id": "SO-1042",
                        "status": "paid",
                        "channel": "online",
                        "placed_at": "2026-03-01T10:15:00+03:00",
                        "customer": {"external_id": "1042", "email": "anna@example.ru"},
                        "items": [{"sku": "SHOE-RUN-42", "quantity": 1, "unit_price": "5990.00"}],
                    }
                }
            }
        }
    },
)
def post_order(
    body: OrderIn,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    _user: Editor,
    background: BackgroundTasks,
) -> OrderRead:
    """Create the order, or update it when this external id was posted before."""
    order, created = service.upsert_order(
        session, body, default_region=settings.default_region, now=utcnow()
    )
    # Background tasks run after the request's session has committed: the worker sees the order.
    background.add_task(enqueue_refresh, [order.contact_id])
    background.add_task(loyalty_tasks.earn_for_order, order.id)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _read(session, order)


@router.get("/orders/{order_id}", response_model=OrderRead)
def get_order(order_id: int, session: SessionDep, user: CurrentUser) -> OrderRead:
    order = session.scalar(
        select(Order)
        .join(Contact, Contact.id == Order.contact_id)
        .where(Order.id == order_id, visible_clause(user))
    )
    if order is None:
        raise NotFound(f"Order {order_id} does not exist.")
    return _read(session, order)


@router.get("/contacts/{contact_id}/orders", response_model=list[OrderRead])
def contact_orders(contact_id: int, session: SessionDep, user: CurrentUser) -> list[OrderRead]:
    visible_contact(session, user, contact_id)
    orders = session.scalars(
        select(Order).where(Order.contact_id == contact_id).order_by(Order.placed_at.desc())
    ).all()
    return [_read(session, o) for o in orders]


def _read(session: Session, order: Order) -> OrderRead:
    items = session.scalars(
        select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)
    ).all()
    return OrderRead.model_validate(
        {
            **OrderRead.model_validate(order, from_attributes=True).model_dump(exclude={"items"}),
            "items": [OrderItemRead.model_validate(i) for i in items],
        }
    )
