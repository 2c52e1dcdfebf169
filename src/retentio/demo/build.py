"""Fills a database with the demo shop: accounts to log in with, then a realistic customer base.

The customers and orders come from `synthetic.generate` (known model parameters); around them
this module adds what a live shop would have: companies, consents, site events, a tracking
source and a sign-up form. Rows are written in bulk, so a large demo builds in seconds.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from retentio.auth import queries as auth_queries
from retentio.auth import service as auth_service
from retentio.auth.models import Role, User
from retentio.commerce.models import Order, OrderChannel, OrderItem, OrderStatus, Product
from retentio.companies.models import Company
from retentio.consent.models import Channel, ConsentEvent, ConsentState, Purpose
from retentio.contacts.models import Contact, ContactIdentity, ContactTag, IdentityKind, Tag
from retentio.demo import synthetic
from retentio.events.models import Event, Source
from retentio.forms.models import WebForm
from retentio.journeys import service as journeys_service
from retentio.journeys.scenarios import create_from_scenario
from retentio.loyalty import service as loyalty_service
from retentio.loyalty.schemas import ProgrammeIn, TierIn
from retentio.messaging import service as messaging_service
from retentio.messaging.models import AccountKind
from retentio.profiles import service as profiles_service
from retentio.recommend import service as recommend_service
from retentio.segments import service as segments_service
from retentio.segments.prebuilt import ensure_prebuilt
from retentio.settings import get_settings

DEMO_DOMAIN = "demo.example.com"
DEMO_ACCOUNTS = (
    (Role.ADMIN, "admin", "Анна Смирнова"),
    (Role.MARKETER, "marketer", "Мария Кузнецова"),
    (Role.SALES, "sales", "Дмитрий Волков"),
    (Role.ANALYST, "analyst", "Олег Морозов"),
)
CITY_TIMEZONES = {
    "Москва": "Europe/Moscow",
    "Санкт-Петербург": "Europe/Moscow",
    "Казань": "Europe/Moscow",
    "Нижний Новгород": "Europe/Moscow",
    "Ростов-на-Дону": "Europe/Moscow",
    "Воронеж": "Europe/Moscow",
    "Краснодар": "Europe/Moscow",
    "Самара": "Europe/Samara",
    "Уфа": "Asia/Yekaterinburg",
    "Екатеринбург": "Asia/Yekaterinburg",
    "Пермь": "Asia/Yekaterinburg",
    "Челябинск": "Asia/Yekaterinburg",
    "Омск": "Asia/Omsk",
    "Новосибирск": "Asia/Novosibirsk",
    "Красноярск": "Asia/Krasnoyarsk",
}
UTM_SOURCES = (  # (source, medium, campaign, share of customers)
    ("yandex", "cpc", "brand", 0.25),
    ("google", "organic", None, 0.15),
    ("vk", "social", "spring_sale", 0.12),
    ("telegram", "social", None, 0.08),
    ("email", "newsletter", "welcome", 0.05),
    (None, None, None, 0.35),
)
COMPANY_NAMES = (
    "Ромашка",
    "Вектор",
    "Северный ветер",
    "ТехноСнаб",
    "Альфа-Трейд",
    "Гранит",
    "Байкал",
    "Меридиан",
    "Светоч",
    "Прогресс",
    "Орион",
    "Листок",
)
BATCH = 5_000
Progress = Callable[[str, float], None]


def build_demo(
    session: Session,
    *,
    customers: int,
    seed: int,
    admin_password: str,
    today: date | None = None,
    progress: Progress | None = None,
) -> str:
    """Create the accounts (all sharing `admin_password`) and the shop; returns the admin login."""
    report = progress or (lambda _step, _share: None)
    users = _accounts(session, admin_password)
    if session.scalar(select(Contact.id).limit(1)) is not None:
        report("the shop exists already: accounts reset", 1.0)
        return f"admin@{DEMO_DOMAIN}"
    # Up to yesterday: orders generated for "today" could fall after the current time.
    end = today or datetime.now(UTC).date() - timedelta(days=1)
    shop = synthetic.generate(customers, seed=seed, start=end - timedelta(days=3 * 365), end=end)
    rng = np.random.default_rng(seed + 1)
    report("products", 0.05)
    _products(session, shop)
    report("companies", 0.1)
    company_ids = _companies(session, rng)
    report("contacts", 0.2)
    contact_ids = _contacts(session, shop, rng, company_ids, users)
    report("consents", 0.35)
    _consents(session, shop, rng, contact_ids)
    report("orders", 0.5)
    _orders(session, shop, rng, contact_ids)
    report("site events", 0.7)
    source_id = _source_and_form(session)
    _events(session, shop, rng, contact_ids, source_id)
    # What the nightly job and the worker would do: the shop opens with its profiles computed
    # and its prebuilt segments filled.
    report("customer profiles", 0.8)
    _refresh_statistics(session)
    now = datetime.now(UTC)
    profiles_service.recompute(session, now=now)
    report("segments", 0.9)
    ensure_prebuilt(session)
    segments_service.refresh_all(session, now=now)
    report("loyalty and recommendations", 0.93)
    _loyalty(session, now)
    recommend_service.recompute(session, now=now)
    report("journeys", 0.97)
    _journeys(session, users[Role.MARKETER], now)
    report("done", 1.0)
    return f"admin@{DEMO_DOMAIN}"


def _refresh_statistics(session: Session) -> None:
    """PostgreSQL plans the profile and segment queries from table statistics, and tables
    filled moments ago in this same transaction have none: without this, it guesses a handful
    of rows and picks nested loops that run for hours at 100,000 contacts."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE"))


# (name, revenue over the last year, points multiplier, discount %)
DEMO_TIERS = (("Серебро", 15_000, "1.25", 3), ("Золото", 40_000, "1.5", 5))


def _loyalty(session: Session, now: datetime) -> None:
    """The programme on (5 points per 100 ₽, a year to spend them), two tiers, and everyone's
    tier computed from their orders."""
    loyalty_service.update_programme(
        session,
        ProgrammeIn(
            enabled=True,
            points_per_unit=Decimal("0.05"),
            welcome_bonus=100,
            birthday_bonus=300,
            expiry_days=365,
        ),
        actor_id=None,
    )
    for name, threshold, multiplier, discount in DEMO_TIERS:
        loyalty_service.create_tier(
            session,
            TierIn(
                name=name,
                threshold=Decimal(threshold),
                multiplier=Decimal(multiplier),
                discount_percent=Decimal(discount),
            ),
            actor_id=None,
        )
    loyalty_service.recalculate_tiers(session, now=now)


# Ready-made journeys the demo opens with: the first ones run, the others wait as drafts.
DEMO_JOURNEYS = (("abandoned_cart", True), ("birthday", True), ("reactivation", False))


def _journeys(session: Session, marketer_id: int, now: datetime) -> None:
    """A file-sink e-mail account (messages land as .eml files in the data directory, nothing
    leaves the machine) and a few ready-made journeys on it."""
    account = messaging_service.create_account(
        session,
        name="Demo outbox",
        kind=AccountKind.FILE,
        channel=Channel.EMAIL,
        from_address=f"shop@{DEMO_DOMAIN}",
        from_name="Демо-магазин",
        settings={"directory": str(Path(get_settings().data_dir) / "demo-outbox")},
    )
    marketer = session.get(User, marketer_id)
    for key, active in DEMO_JOURNEYS:
        journey = create_from_scenario(
            session, key, account_id=account.id, language="ru", user=marketer, now=now
        )
        if active:
            journeys_service.activate(session, journey.id, now=now)


def _accounts(session: Session, password: str) -> dict[Role, int]:
    ids = {}
    for role, local_part, name in DEMO_ACCOUNTS:
        email = f"{local_part}@{DEMO_DOMAIN}"
        user = auth_queries.user_by_email(session, email)
        if user is None:
            user = auth_service.create_user(
                session, email=email, name=name, role=role, password=password
            )
        else:
            auth_service.set_password(session, user, password)
        ids[role] = user.id
    return ids


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def _products(session: Session, shop: synthetic.DemoShop) -> None:
    _bulk(
        session,
        Product,
        [
            {
                "sku": p.sku,
                "name": p.name,
                "category": p.category,
                "price": p.price,
                "currency": "RUB",
            }
            for p in shop.products
        ],
    )


def _companies(session: Session, rng: np.random.Generator) -> list[int]:
    rows = [
        {
            "name": f"ООО «{name}»",
            "inn": _inn(rng),
            "industry": str(rng.choice(["retail", "it", "manufacturing", "logistics", "horeca"])),
            "size": str(rng.choice(["1-10", "11-50", "51-200"])),
            "city": "Москва",
            "available_to_all": True,
            "custom": {},
        }
        for name in COMPANY_NAMES
    ]
    _bulk(session, Company, rows)
    return list(session.scalars(select(Company.id).order_by(Company.id)))


def _inn(rng: np.random.Generator) -> str:
    """A random 10-digit INN with a correct check digit."""
    digits = [int(d) for d in rng.integers(0, 10, size=9)]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return "".join(map(str, digits)) + str(
        sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    )


def _contacts(
    session: Session,
    shop: synthetic.DemoShop,
    rng: np.random.Generator,
    company_ids: list[int],
    users: dict[Role, int],
) -> dict[str, int]:
    shares = np.array([u[3] for u in UTM_SOURCES])
    utm_picks = rng.choice(len(UTM_SOURCES), size=len(shop.customers), p=shares / shares.sum())
    rows = []
    for customer, pick in zip(shop.customers, utm_picks, strict=True):
        source, medium, campaign, _share = UTM_SOURCES[pick]
        rows.append(
            {
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "email": customer.email,
                "phone": customer.phone,
                "gender": customer.gender,
                "birthday": customer.birthday,
                "city": customer.city,
                "country": "RU",
                "timezone": CITY_TIMEZONES.get(customer.city, "Europe/Moscow"),
                "language": "ru",
                "source": source or "direct",
                "utm_source": source,
                "utm_medium": medium,
                "utm_campaign": campaign,
                "custom": {},
                "company_id": int(rng.choice(company_ids)) if rng.random() < 0.05 else None,
                "owner_id": users[Role.SALES] if rng.random() < 0.1 else None,
                "available_to_all": bool(rng.random() < 0.3),
                "created_at": customer.first_purchase_at - timedelta(days=int(rng.integers(0, 30))),
                "updated_at": customer.first_purchase_at,
            }
        )
    _bulk(session, Contact, rows)
    ids = list(session.scalars(select(Contact.id).order_by(Contact.id)))
    mapping = {c.key: cid for c, cid in zip(shop.customers, ids, strict=True)}
    _identities(session, shop, mapping)
    _tags(session, shop, rng, mapping)
    return mapping


def _identities(session: Session, shop: synthetic.DemoShop, ids: dict[str, int]) -> None:
    rows = []
    for c in shop.customers:
        cid = ids[c.key]
        rows += [
            {"contact_id": cid, "kind": IdentityKind.EMAIL, "value": c.email},
            {"contact_id": cid, "kind": IdentityKind.PHONE, "value": c.phone},
            {"contact_id": cid, "kind": IdentityKind.EXTERNAL, "value": f"shop:{c.key}"},
        ]
    _bulk(session, ContactIdentity, rows)


def _tags(
    session: Session, shop: synthetic.DemoShop, rng: np.random.Generator, ids: dict[str, int]
) -> None:
    names = ("vip", "опт", "подписчик", "жалоба")
    _bulk(session, Tag, [{"name": n} for n in names])
    tag_ids = dict(session.execute(select(Tag.name, Tag.id)).all())
    rows = []
    for c in shop.customers:
        if c.mean_spend > 6_000:
            rows.append({"contact_id": ids[c.key], "tag_id": tag_ids["vip"]})
        if rng.random() < 0.2:
            rows.append({"contact_id": ids[c.key], "tag_id": tag_ids["подписчик"]})
    _bulk(session, ContactTag, rows)


def _consents(
    session: Session, shop: synthetic.DemoShop, rng: np.random.Generator, ids: dict[str, int]
) -> None:
    grants = ((Channel.EMAIL, 0.7), (Channel.SMS, 0.5), (Channel.MESSENGER, 0.05))
    events, states = [], []
    for c in shop.customers:
        for channel, share in grants:
            if rng.random() >= share:
                continue
            at = c.first_purchase_at
            withdrawn = rng.random() < 0.08
            events.append(_consent_row(ids[c.key], channel, True, at))
            if withdrawn:
                events.append(_consent_row(ids[c.key], channel, False, at + timedelta(days=90)))
            states.append(
                (ids[c.key], channel, not withdrawn, at + timedelta(days=90 if withdrawn else 0))
            )
    _bulk(session, ConsentEvent, events)
    latest = {(r[0], r[1]): r for r in states}
    event_ids = {
        (cid, ch): eid
        for eid, cid, ch in session.execute(
            select(ConsentEvent.id, ConsentEvent.contact_id, ConsentEvent.channel).order_by(
                ConsentEvent.id
            )
        )
    }
    _bulk(
        session,
        ConsentState,
        [
            {
                "contact_id": cid,
                "channel": ch,
                "purpose": Purpose.MARKETING,
                "granted": granted,
                "updated_at": at,
                "event_id": event_ids[(cid, ch)],
            }
            for (cid, ch), (_c, _h, granted, at) in latest.items()
        ],
    )


def _consent_row(contact_id: int, channel: Channel, granted: bool, at: datetime) -> dict[str, Any]:
    return {
        "contact_id": contact_id,
        "channel": channel,
        "purpose": Purpose.MARKETING,
        "granted": granted,
        "source": "demo:checkout",
        "text_version": "2024-01",
        "occurred_at": at,
    }


def _orders(
    session: Session, shop: synthetic.DemoShop, rng: np.random.Generator, ids: dict[str, int]
) -> None:
    statuses = rng.choice(4, size=len(shop.orders), p=[0.90, 0.03, 0.04, 0.03])
    channels = rng.choice(3, size=len(shop.orders), p=[0.75, 0.2, 0.05])
    status_by_pick = (
        OrderStatus.FULFILLED,
        OrderStatus.PAID,
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
    )
    channel_by_pick = (OrderChannel.ONLINE, OrderChannel.OFFLINE, OrderChannel.PHONE)
    rows = []
    for order, s, ch in zip(shop.orders, statuses, channels, strict=True):
        status = status_by_pick[s]
        rows.append(
            {
                "external_id": order.external_id,
                "contact_id": ids[order.customer_key],
                "status": status,
                "channel": channel_by_pick[ch],
                "currency": "RUB",
                "total": order.total,
                "placed_at": order.placed_at,
                "custom": {},
                "refunded_total": order.total if status == OrderStatus.REFUNDED else Decimal("0"),
                "created_at": order.placed_at,
                "updated_at": order.placed_at,
            }
        )
    _bulk(session, Order, rows)
    order_ids = dict(session.execute(select(Order.external_id, Order.id)).all())
    products = {p.sku: p for p in shop.products}
    product_ids = dict(session.execute(select(Product.sku, Product.id)).all())
    _bulk(
        session,
        OrderItem,
        [
            {
                "order_id": order_ids[o.external_id],
                "product_id": product_ids[i.sku],
                "sku": i.sku,
                "name": products[i.sku].name,
                "category": products[i.sku].category,
                "quantity": i.quantity,
                "unit_price": i.unit_price,
            }
            for o in shop.orders
            for i in o.items
        ],
    )


def _source_and_form(session: Session) -> int:
    source = Source(
        name="Demo shop site",
        write_key=secrets.token_urlsafe(24),
        allowed_origins=["http://127.0.0.1:8001"],
    )
    session.add(source)
    session.flush()
    session.add(
        WebForm(
            public_id=secrets.token_urlsafe(12),
            name="Подписка на новости",
            source_id=source.id,
            fields=[
                {
                    "name": "email",
                    "label": "E-mail",
                    "maps_to": "email",
                    "required": True,
                    "kind": "email",
                },
                {
                    "name": "first_name",
                    "label": "Имя",
                    "maps_to": "first_name",
                    "required": False,
                    "kind": "text",
                },
            ],
            consents=[
                {
                    "key": "news",
                    "channel": "email",
                    "purpose": "marketing",
                    "required": True,
                    "text": "Согласен получать новости и предложения магазина",
                    "version": "1",
                }
            ],
            success_message="Спасибо! Проверьте почту.",
            tag="подписчик",
            views=1840,
            submissions=212,
        )
    )
    session.flush()
    return source.id


def _events(
    session: Session,
    shop: synthetic.DemoShop,
    rng: np.random.Generator,
    ids: dict[str, int],
    source_id: int,
) -> None:
    """A browsing session before each order: page and product views, cart, checkout."""
    rows: list[dict[str, Any]] = []
    for order in shop.orders:
        rows.extend(_session_events(order, ids[order.customer_key], rng, source_id))
        if len(rows) >= BATCH:
            _bulk(session, Event, rows)
            rows = []
    _bulk(session, Event, rows)


def _session_events(
    order: synthetic.Order, contact_id: int, rng: np.random.Generator, source_id: int
) -> Iterator[dict[str, Any]]:
    start = order.placed_at - timedelta(minutes=int(rng.integers(5, 90)))
    steps: list[tuple[str, dict[str, Any]]] = [("page_view", {"path": "/"})]
    steps += [("product_view", {"sku": i.sku}) for i in order.items]
    steps += [("cart_add", {"sku": i.sku, "quantity": i.quantity}) for i in order.items]
    steps += [
        ("checkout_start", {}),
        ("order_placed", {"order_id": order.external_id, "total": str(order.total)}),
    ]
    for n, (kind, props) in enumerate(steps):
        at = start + (order.placed_at - start) * n / max(len(steps) - 1, 1)
        yield {
            "contact_id": contact_id,
            "type": kind,
            "occurred_at": at,
            "received_at": at,
            "message_id": None,
            "source_id": source_id,
            "properties": props,
            "context": {},
        }
