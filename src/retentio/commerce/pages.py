"""HTML pages of commerce: the order list with totals, one order, and the product catalogue.

A sales user sees only the orders of contacts they may see (`contacts.access`); an order of
someone else's contact is a 404, like the contact itself.
"""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from retentio.auth.deps import CurrentUser
from retentio.auth.models import User
from retentio.commerce import queries
from retentio.commerce.labels import CHANNEL_LABELS, STATUS_LABELS
from retentio.commerce.models import OrderChannel, OrderStatus
from retentio.contacts import access
from retentio.contacts.models import Contact
from retentio.errors import NotFound
from retentio.web.deps import SessionDep
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
E = TypeVar("E", OrderStatus, OrderChannel)


@router.get("/orders", response_class=HTMLResponse)
def order_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    listing = Listing.of(request, sorts=tuple(queries.ORDER_SORTS), default_sort="-placed")
    flt = queries.OrderFilter(
        search=listing.get("q"),
        status=_member(OrderStatus, listing.get("status")),
        channel=_member(OrderChannel, listing.get("channel")),
        placed_from=listing.get_date("from"),
        placed_to=listing.get_date("to"),
        contact_id=listing.get_int("contact"),
    )
    totals = queries.order_totals(session, user, flt)
    context = {
        "listing": listing,
        "pager": listing.pager(sum(t.orders for t in totals)),
        "rows": queries.orders_page(
            session,
            user,
            flt,
            sort=listing.sort,
            page_number=listing.page,
            per_page=listing.per_page,
        ),
        "totals": totals,
        "contact": _contact_or_none(session, user, flt.contact_id),
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
    }
    return render(request, "commerce/orders.html", context)


def _member(enum: type[E], raw: str | None) -> E | None:
    try:
        return enum(raw) if raw else None
    except ValueError:
        return None


def _contact_or_none(session: Session, user: User, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    try:
        return access.visible_contact(session, user, contact_id)
    except NotFound:
        return None


@router.get("/orders/{order_id:int}", response_class=HTMLResponse)
def order_card(request: Request, session: SessionDep, user: CurrentUser, order_id: int) -> Response:
    order, contact = queries.visible_order(session, user, order_id)
    context = {
        "order": order,
        "contact": contact,
        "items": queries.items_of(session, order.id),
        "status_labels": STATUS_LABELS,
        "channel_labels": CHANNEL_LABELS,
    }
    return render(request, "commerce/order.html", context)


@router.get("/products", response_class=HTMLResponse)
def product_list(request: Request, session: SessionDep, _user: CurrentUser) -> Response:
    listing = Listing.of(request, sorts=tuple(queries.PRODUCT_SORTS), default_sort="name")
    flt = queries.ProductFilter(search=listing.get("q"), category=listing.get("category"))
    products, total = queries.products_page(
        session, flt, sort=listing.sort, page_number=listing.page, per_page=listing.per_page
    )
    context = {
        "listing": listing,
        "pager": listing.pager(total),
        "products": products,
        "categories": queries.categories(session),
    }
    return render(request, "commerce/products.html", context)
