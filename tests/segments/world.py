"""A small shop generated from a fixed seed, written to the database under test, and read back
as plain Python for the brute-force evaluator: contacts with fields, custom fields, tags and
companies, profiles, orders with items, events with JSON properties, consents, suppressions,
and the contacts a segment must never contain (deleted, merged away, anonymous)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.commerce.models import Order, OrderChannel, OrderItem, OrderStatus, Product
from retentio.companies.models import Company
from retentio.consent.models import (
    Channel,
    ConsentEvent,
    ConsentState,
    Purpose,
    Suppression,
    SuppressionReason,
)
from retentio.contacts.models import Contact, ContactTag, Tag
from retentio.events.models import Event
from retentio.fields.models import CustomFieldDefinition, FieldEntity, FieldType
from retentio.profiles.models import Profile

NOW = datetime(2025, 12, 30, 12, 0, tzinfo=UTC)
CITIES = ["Moscow", "Kazan", "Perm", "moscow", "Omsk_1", "50% Off", "", None]
TAGS = ["vip", "b2b", "newsletter", "wholesale"]
EVENT_TYPES = ["page_view", "email_click", "cart_add", "purchase_intent"]
CATEGORIES = ["shoes", "bags", "hats"]
RFM = ["champions", "loyal", "at_risk", "lost", "new"]
BANDS = ["low", "medium", "high", "lost"]
STAGES = ["purchase", "loyalty", "churned", "interest"]
INTERESTS = ["running", "yoga", "tennis"]
CUSTOM_FIELDS = [
    (FieldEntity.CONTACT, "level", FieldType.STRING, []),
    (FieldEntity.CONTACT, "score", FieldType.NUMBER, []),
    (FieldEntity.CONTACT, "anniversary", FieldType.DATE, []),
    (FieldEntity.CONTACT, "vip", FieldType.BOOLEAN, []),
    (FieldEntity.CONTACT, "plan", FieldType.CHOICE, ["free", "pro", "team"]),
    (FieldEntity.CONTACT, "interests", FieldType.MULTI_CHOICE, INTERESTS),
    (FieldEntity.COMPANY, "tier", FieldType.CHOICE, ["a", "b"]),
]


@dataclass
class World:
    """What the brute-force evaluator reads: everything as Python values."""

    contacts: list[Contact]
    companies: dict[int, Company]
    profiles: dict[int, Profile]
    tags: dict[int, set[str]]
    events: dict[int, list[Event]]
    orders: dict[int, list[tuple[Order, list[OrderItem]]]]
    consents: dict[tuple[int, str, str], bool]
    suppressed: set[tuple[str, str]]
    static_members: dict[int, set[int]] = field(default_factory=dict)


def _maybe(rng: random.Random, value: Any, share: float = 0.8) -> Any:
    return value if rng.random() < share else None


def _custom(rng: random.Random, now: datetime) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    if rng.random() < 0.7:
        custom["level"] = rng.choice(["gold", "Silver", "bronze", "", "gold-plus"])
    if rng.random() < 0.7:
        # Some numbers stored as text by a sloppy integration: not numbers for a rule.
        custom["score"] = rng.choice([1, 2.5, 7, 10, -3, "7", 0])
    if rng.random() < 0.7:
        custom["anniversary"] = (now.date() - timedelta(days=rng.randint(-40, 400))).isoformat()
    if rng.random() < 0.7:
        custom["vip"] = rng.choice([True, False])
    if rng.random() < 0.7:
        custom["plan"] = rng.choice(["free", "pro", "team"])
    if rng.random() < 0.7:
        custom["interests"] = rng.sample(INTERESTS, rng.randint(0, 3))
    return custom


def _birthday(rng: random.Random) -> date | None:
    special = [date(1992, 2, 29), date(1990, 12, 31), date(1985, 1, 2), date(1999, 12, 30)]
    if rng.random() < 0.2:
        return rng.choice(special)
    return _maybe(rng, date(1970, 1, 1) + timedelta(days=rng.randint(0, 15000)), 0.75)


def build(
    session: Session, *, seed: int = 20251230, contacts: int = 140, now: datetime = NOW
) -> None:
    rng = random.Random(seed)
    for entity, key, type_, choices in CUSTOM_FIELDS:
        session.add(
            CustomFieldDefinition(
                entity=entity, key=key, label=key.title(), type=type_, choices=choices
            )
        )
    companies = [
        Company(
            name=f"Company {i}",
            industry=["retail", "it", None, "retail", "it"][i],
            city=CITIES[i],
            custom={"tier": "ab"[i % 2]} if i else {},
            deleted_at=now if i == 3 else None,
        )
        for i in range(5)
    ]
    session.add_all(companies)
    tags = [Tag(name=name) for name in TAGS]
    session.add_all(tags)
    products = [
        Product(
            sku=f"SKU-{i}", name=f"Product {i}", category=CATEGORIES[i % 3], price=Decimal(10 + i)
        )
        for i in range(6)
    ]
    session.add_all(products)
    session.flush()
    people: list[Contact] = []
    for i in range(contacts):
        created = now - timedelta(
            days=rng.choice([0, 1, 5, 29, 31, 60, 400]), hours=rng.randint(0, 23)
        )
        person = Contact(
            first_name=rng.choice(["Anna", "Boris", "anna-maria", "Oleg", None]),
            last_name=_maybe(rng, f"Last{i}"),
            email=_maybe(rng, f"user{i}@example.com"),
            phone=_maybe(rng, f"+7912{i:07d}", 0.6),
            telegram=_maybe(rng, f"tg{i}", 0.3),
            gender=rng.choice(["f", "m", None]),
            birthday=_birthday(rng),
            city=rng.choice(CITIES),
            company_id=rng.choice([None, *(c.id for c in companies)]),
            owner_id=None,
            custom=_custom(rng, now),
            created_at=created,
            is_anonymous=i % 37 == 5,
            deleted_at=now if i % 29 == 7 else None,
            erased_at=now if i % 41 == 9 else None,
        )
        people.append(person)
    session.add_all(people)
    session.flush()
    people[11].merged_into_id = people[12].id
    people[11].deleted_at = now
    for person in people:
        _about(session, rng, person, tags, products, now)
    session.add(
        Suppression(
            channel=Channel.EMAIL, address="user3@example.com", reason=SuppressionReason.MANUAL
        )
    )
    session.add(
        Suppression(
            channel=Channel.SMS,
            address=people[4].phone or "+70000000000",
            reason=SuppressionReason.MANUAL,
        )
    )
    session.flush()


def _about(
    session: Session,
    rng: random.Random,
    person: Contact,
    tags: list[Tag],
    products: list[Product],
    now: datetime,
) -> None:
    for tag in rng.sample(tags, rng.randint(0, 3)):
        session.add(ContactTag(contact_id=person.id, tag_id=tag.id))
    if rng.random() < 0.85:
        session.add(
            Profile(
                contact_id=person.id,
                orders=rng.randint(0, 9),
                revenue=Decimal(rng.randint(0, 4000)) / 4,
                r_score=_maybe(rng, rng.randint(1, 5)),
                f_score=_maybe(rng, rng.randint(1, 5)),
                m_score=_maybe(rng, rng.randint(1, 5)),
                rfm_segment=_maybe(rng, rng.choice(RFM)),
                p_alive=_maybe(rng, rng.choice([0.05, 0.25, 0.5, 0.75, 0.99])),
                clv_12m=_maybe(rng, Decimal(rng.randint(0, 200)) * 5),
                churn_band=_maybe(rng, rng.choice(BANDS)),
                lifecycle_stage=rng.choice(STAGES),
                last_order_at=_maybe(rng, now - timedelta(days=rng.randint(0, 300), hours=3)),
                computed_at=now,
            )
        )
    for _ in range(rng.randint(0, 6)):
        properties: dict[str, Any] = {}
        if rng.random() < 0.7:
            properties["url"] = rng.choice(["/shoes", "/bags/red", "/SHOES/sale", "/"])
        if rng.random() < 0.6:
            properties["price"] = rng.choice([10, 25.5, 99, "25.5", 0])
        if rng.random() < 0.4:
            properties["new"] = rng.choice([True, False, None])
        session.add(
            Event(
                contact_id=person.id,
                type=rng.choice(EVENT_TYPES),
                occurred_at=now - timedelta(days=rng.randint(0, 90), minutes=rng.randint(0, 600)),
                properties=properties,
            )
        )
    for number in range(rng.randint(0, 4)):
        order = Order(
            external_id=f"o-{person.id}-{number}",
            contact_id=person.id,
            status=rng.choice(list(OrderStatus)),
            channel=OrderChannel.ONLINE,
            total=Decimal(rng.randint(5, 400)),
            refunded_total=Decimal(rng.choice([0, 0, 0, 5])),
            placed_at=now - timedelta(days=rng.randint(0, 500)),
        )
        session.add(order)
        session.flush()
        for product in rng.sample(products, rng.randint(1, 2)):
            session.add(
                OrderItem(
                    order_id=order.id,
                    product_id=product.id,
                    sku=product.sku,
                    name=product.name,
                    category=product.category,
                    quantity=1,
                    unit_price=product.price,
                )
            )
    for channel in (Channel.EMAIL, Channel.SMS, Channel.MESSENGER):
        for purpose in (Purpose.MARKETING, Purpose.TRANSACTIONAL):
            if rng.random() < 0.5:
                continue
            granted = rng.random() < 0.7
            consent = ConsentEvent(
                contact_id=person.id,
                channel=channel,
                purpose=purpose,
                granted=granted,
                source="test",
                occurred_at=now,
            )
            session.add(consent)
            session.flush()
            session.add(
                ConsentState(
                    contact_id=person.id,
                    channel=channel,
                    purpose=purpose,
                    granted=granted,
                    updated_at=now,
                    event_id=consent.id,
                )
            )


def snapshot(session: Session) -> World:
    """Everything read back from the database, as the evaluator needs it."""
    contacts = list(session.scalars(select(Contact).order_by(Contact.id)))
    world = World(
        contacts=contacts,
        companies={c.id: c for c in session.scalars(select(Company))},
        profiles={p.contact_id: p for p in session.scalars(select(Profile))},
        tags={},
        events={},
        orders={},
        consents={},
        suppressed={(s.channel.value, s.address) for s in session.scalars(select(Suppression))},
    )
    for contact_id, name in session.execute(
        select(ContactTag.contact_id, Tag.name).join(Tag, Tag.id == ContactTag.tag_id)
    ):
        world.tags.setdefault(contact_id, set()).add(name)
    for event in session.scalars(select(Event)):
        world.events.setdefault(event.contact_id, []).append(event)
    items: dict[int, list[OrderItem]] = {}
    for item in session.scalars(select(OrderItem)):
        items.setdefault(item.order_id, []).append(item)
    for order in session.scalars(select(Order)):
        world.orders.setdefault(order.contact_id, []).append((order, items.get(order.id, [])))
    for state in session.scalars(select(ConsentState)):
        world.consents[(state.contact_id, state.channel.value, state.purpose.value)] = state.granted
    return world
