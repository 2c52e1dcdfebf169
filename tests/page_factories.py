"""Data for page tests, written through the real services in their own transactions.

Each call commits, so the app (another session) sees the rows at once, on either engine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from retentio.commerce.models import OrderChannel, OrderStatus, Product
from retentio.commerce.schemas import CustomerRef, OrderIn, OrderItemIn
from retentio.commerce.service import upsert_order
from retentio.companies.schemas import CompanyFields
from retentio.companies.service import create_company
from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from retentio.contacts import service
from retentio.contacts.models import Contact
from retentio.contacts.schemas import ContactFields
from retentio.db import session_scope
from retentio.events.models import Event
from retentio.fields.models import FieldEntity, FieldType
from retentio.fields.service import define_field

REGION = "RU"
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


class Shop:
    """Factories for contacts, companies, orders, notes, events, consent and custom fields."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.orders = 0

    def contact(self, *, actor_id: int | None = None, **fields: Any) -> int:
        with session_scope(self.url) as session:
            ctx = service.WriteContext(actor_id=actor_id, default_region=REGION)
            return service.create_contact(session, ContactFields(**fields), ctx).id

    def contacts(self, count: int, **fields: Any) -> list[int]:
        """Many contacts in one transaction: Person 001, Person 002, …"""
        ctx = service.WriteContext(actor_id=None, default_region=REGION)
        with session_scope(self.url) as session:
            return [
                service.create_contact(
                    session, ContactFields(first_name="Person", last_name=f"{n:03}", **fields), ctx
                ).id
                for n in range(1, count + 1)
            ]

    def company(self, name: str, **fields: Any) -> int:
        with session_scope(self.url) as session:
            return create_company(session, CompanyFields(name=name, **fields), actor_id=None).id

    def order(
        self,
        contact_id: int,
        total: str,
        *,
        status: OrderStatus = OrderStatus.PAID,
        channel: OrderChannel = OrderChannel.ONLINE,
        placed_at: datetime = T0,
        refunded: str | None = None,
        external_id: str | None = None,
    ) -> int:
        self.orders += 1
        data = OrderIn(
            external_id=external_id or f"SO-{self.orders}",
            customer=CustomerRef(contact_id=contact_id),
            status=status,
            channel=channel,
            placed_at=placed_at,
            items=[OrderItemIn(sku="TEA", name="Чай", quantity=1, unit_price=Decimal(total))],
            refunded_total=Decimal(refunded) if refunded else None,
        )
        with session_scope(self.url) as session:
            order, _created = upsert_order(session, data, default_region=REGION, now=placed_at)
            return order.id

    def product(self, sku: str, name: str, price: str, category: str | None = None) -> None:
        with session_scope(self.url) as session:
            session.add(Product(sku=sku, name=name, price=Decimal(price), category=category))

    def note(self, contact_id: int, body: str, *, author_id: int | None = None) -> None:
        with session_scope(self.url) as session:
            contact = session.get(Contact, contact_id)
            assert contact is not None
            service.add_note(session, contact, body, author_id=author_id)

    def event(
        self,
        contact_id: int,
        type: str,
        *,
        at: datetime = T0,
        properties: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        with session_scope(self.url) as session:
            session.add(
                Event(
                    contact_id=contact_id,
                    type=type,
                    occurred_at=at,
                    properties=properties or {},
                    context=context or {},
                )
            )

    def consent(
        self, contact_id: int, channel: Channel, *, granted: bool, at: datetime = T0
    ) -> None:
        with session_scope(self.url) as session:
            record_consent(
                session,
                contact_id,
                channel=channel,
                purpose=Purpose.MARKETING,
                granted=granted,
                source="test",
                occurred_at=at,
            )

    def field(
        self,
        key: str,
        type: FieldType,
        *,
        entity: FieldEntity = FieldEntity.CONTACT,
        label: str | None = None,
        choices: list[str] | None = None,
    ) -> int:
        with session_scope(self.url) as session:
            definition = define_field(
                session, entity=entity, key=key, label=label or key, type=type, choices=choices
            )
            return definition.id
