"""Event ingestion at the service level: de-duplication, identity and merge of visitors."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.events.models import Event
from retentio.events.schemas import EventIn
from retentio.events.service import ingest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _ingest(db: Session, *events: dict[str, object]) -> tuple[int, int]:
    """Ingest in a unit of work of its own, as a request does (`db` reads in autocommit)."""
    url = db.get_bind().url.render_as_string(hide_password=False)
    with session_scope(url) as session:
        result = ingest(
            session,
            [EventIn.model_validate(e) for e in events],
            source_id=None,
            default_region="RU",
            now=NOW,
        )
    return result.accepted, result.duplicates


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_the_same_batch_twice_stores_each_event_once(db: Session) -> None:
    batch = [{"message_id": f"m{i}", "type": "page_view", "anonymous_id": "a1"} for i in range(5)]
    first = _ingest(db, *batch, batch[0])
    second = _ingest(db, *batch)
    assert (first, second) == ((5, 1), (0, 5))
    assert _count(db, Event) == 5
    assert _count(db, Contact) == 1


def test_anonymous_visitor_who_identifies_is_merged_with_history(db: Session) -> None:
    # given: a known customer and an anonymous visitor with two page views
    _ingest(db, {"message_id": "k1", "type": "order_placed", "email": "Anna@Example.ru"})
    _ingest(
        db,
        {"message_id": "v1", "type": "page_view", "anonymous_id": "cookie-1"},
        {"message_id": "v2", "type": "cart_add", "anonymous_id": "cookie-1"},
    )
    assert _count(db, Contact) == 2
    # when: the visitor identifies with the customer's e-mail
    _ingest(
        db,
        {
            "message_id": "i1",
            "type": "identify",
            "anonymous_id": "cookie-1",
            "email": "anna@example.ru",
            "traits": {"firstName": "Анна"},
        },
    )
    # then
    alive = db.scalars(select(Contact).where(Contact.deleted_at.is_(None))).all()
    assert len(alive) == 1
    assert alive[0].first_name == "Анна"
    assert alive[0].is_anonymous is False
    types = sorted(db.scalars(select(Event.type).where(Event.contact_id == alive[0].id)))
    assert types == ["cart_add", "identify", "order_placed", "page_view"]


def test_first_touch_utm_is_kept(db: Session) -> None:
    _ingest(
        db,
        {
            "message_id": "u1",
            "type": "page_view",
            "anonymous_id": "c9",
            "context": {"campaign": {"source": "yandex", "medium": "cpc", "name": "spring"}},
        },
        {
            "message_id": "u2",
            "type": "page_view",
            "anonymous_id": "c9",
            "context": {"campaign": {"source": "vk", "medium": "social"}},
        },
    )
    contact = db.scalars(select(Contact)).one()
    assert (contact.utm_source, contact.utm_medium, contact.utm_campaign, contact.source) == (
        "yandex",
        "cpc",
        "spring",
        "yandex",
    )


def test_a_visitor_merged_within_one_batch_keeps_all_events_on_the_customer(db: Session) -> None:
    # given: a known customer
    _ingest(db, {"message_id": "k1", "type": "order_placed", "email": "olga@example.ru"})
    # when: one batch brings a new visitor's views and then their identify as that customer
    _ingest(
        db,
        {"message_id": "v1", "type": "page_view", "anonymous_id": "cookie-7"},
        {"message_id": "v2", "type": "product_view", "anonymous_id": "cookie-7"},
        {
            "message_id": "i1",
            "type": "identify",
            "anonymous_id": "cookie-7",
            "email": "olga@example.ru",
        },
        {"message_id": "v3", "type": "cart_add", "anonymous_id": "cookie-7"},
    )
    # then: every event is on the surviving customer, none on the merged-away visitor
    alive = db.scalars(select(Contact).where(Contact.deleted_at.is_(None))).one()
    types = sorted(db.scalars(select(Event.type).where(Event.contact_id == alive.id)))
    assert types == ["cart_add", "identify", "order_placed", "page_view", "product_view"]


def test_new_people_of_one_batch_are_created_once_with_all_their_keys(db: Session) -> None:
    # given: a batch where one new person shows up under three keys and another under one
    _ingest(
        db,
        {"message_id": "a1", "type": "page_view", "anonymous_id": "c1"},
        {"message_id": "a2", "type": "identify", "anonymous_id": "c1", "user_id": "42"},
        {"message_id": "a3", "type": "signed_up", "user_id": "42", "email": "Ivan@Example.ru"},
        {"message_id": "b1", "type": "page_view", "anonymous_id": "c2"},
        {"message_id": "b2", "type": "page_view", "anonymous_id": "c2"},
    )
    # then: two contacts; the first is identified and holds every event of its keys
    contacts = db.scalars(select(Contact).order_by(Contact.id)).all()
    assert [(c.email, c.is_anonymous) for c in contacts] == [
        ("ivan@example.ru", False),
        (None, True),
    ]
    per_contact = [
        sorted(db.scalars(select(Event.message_id).where(Event.contact_id == c.id)))
        for c in contacts
    ]
    assert per_contact == [["a1", "a2", "a3"], ["b1", "b2"]]


def test_a_visitor_seen_again_after_a_merge_lands_on_the_customer(db: Session) -> None:
    # given: a visitor merged into a customer by an earlier identify
    _ingest(db, {"message_id": "k1", "type": "order_placed", "user_id": "7"})
    _ingest(db, {"message_id": "v1", "type": "page_view", "anonymous_id": "cookie-3"})
    _ingest(
        db, {"message_id": "i1", "type": "identify", "anonymous_id": "cookie-3", "user_id": "7"}
    )
    # when: the same cookie is tracked again, alone and next to a new visitor
    accepted = _ingest(
        db,
        {"message_id": "v2", "type": "cart_add", "anonymous_id": "cookie-3"},
        {"message_id": "n1", "type": "page_view", "anonymous_id": "cookie-new"},
    )
    # then: the cart add is the customer's; the newcomer is a contact of their own
    assert accepted == (2, 0)
    alive = db.scalars(select(Contact).where(Contact.deleted_at.is_(None))).all()
    assert len(alive) == 2
    cart = db.scalars(select(Event).where(Event.message_id == "v2")).one()
    first = db.scalars(select(Event).where(Event.message_id == "k1")).one()
    assert cart.contact_id == first.contact_id


def test_properties_and_context_read_back_as_sent(db: Session) -> None:
    properties = {"name": "Кроссовки «Бег»", "sizes": [41, 42.5], "big": 2**70, "none": None}
    context = {"page": {"url": "https://shop.example/p/1?q=ё"}, "campaign": "not-a-dict"}
    _ingest(
        db,
        {
            "message_id": "p1",
            "type": "product_view",
            "anonymous_id": "c1",
            "occurred_at": "2026-02-28T23:30:00+03:00",
            "properties": properties,
            "context": context,
        },
    )
    db.expire_all()
    stored = db.scalars(select(Event)).one()
    assert (stored.properties, stored.context) == (properties, context)
    assert stored.occurred_at == datetime(2026, 2, 28, 20, 30, tzinfo=UTC)
    assert stored.received_at == NOW
