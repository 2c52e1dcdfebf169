"""The contact pages: list, bulk actions, card and timeline, forms, merge, export and erasure,
and who may do what with whose contacts."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from retentio.commerce.models import OrderStatus
from retentio.consent.models import Channel
from retentio.contacts.merge import count_history
from retentio.contacts.models import Contact, ContactNote, ContactTag, Tag
from retentio.db import get_engine
from retentio.fields.models import FieldType
from retentio.profiles.service import recompute
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.page_factories import T0, Shop

ROW = re.compile(r'<tr data-contact-id="(\d+)"')
KIND = re.compile(r'data-kind="(\w+)"')


@pytest.fixture
def shop(settings: Settings) -> Shop:
    return Shop(settings.database_url)


@pytest.fixture
def admin(make_user: UserFactory) -> User:
    return make_user(Role.ADMIN)


def _login(client: TestClient, user: User) -> str:
    token = log_in(client, user.email)
    client.headers["X-CSRF-Token"] = token
    return token


def _ids(page: str) -> list[int]:
    return [int(i) for i in ROW.findall(page)]


def _field_error(page: str, name: str) -> str:
    match = re.search(rf'data-field-error="{re.escape(name)}">([^<]*)<', page)
    assert match, f"no error shown next to {name}"
    return html.unescape(match.group(1))


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


# --- the list ------------------------------------------------------------------------------


def test_search_finds_by_name_any_case_email_and_phone(
    client: TestClient, admin: User, shop: Shop
) -> None:
    # given
    anna = shop.contact(
        first_name="Анна", last_name="Ёлкина", email="anna@example.ru", phone="+7 912 345-67-89"
    )
    boris = shop.contact(first_name="Борис", email="boris@example.com", phone="8 903 111 22 33")
    _login(client, admin)
    # when / then
    assert _ids(client.get("/contacts", params={"q": "анна"}).text) == [anna]
    assert _ids(client.get("/contacts", params={"q": "ЁЛКИНА"}).text) == [anna]
    assert _ids(client.get("/contacts", params={"q": "boris@"}).text) == [boris]
    assert _ids(client.get("/contacts", params={"q": "912 345"}).text) == [anna]
    assert _ids(client.get("/contacts", params={"q": "nobody"}).text) == []


def test_filters_by_tag_owner_city_source_and_custom_field(
    client: TestClient, admin: User, make_user: UserFactory, shop: Shop
) -> None:
    # given
    seller = make_user(Role.SALES)
    shop.field("tier", FieldType.CHOICE, choices=["gold", "silver"])
    gold = shop.contact(
        first_name="A", tags=["vip"], city="Казань", source="shop", custom={"tier": "gold"}
    )
    owned = shop.contact(first_name="B", owner_id=seller.id, city="Казань", source="ads")
    shop.contact(first_name="C", city="Тула", custom={"tier": "silver"})
    _login(client, admin)

    def found(**params: Any) -> list[int]:
        return sorted(_ids(client.get("/contacts", params=params).text))

    # then
    assert found(tag="vip") == [gold]
    assert found(owner=seller.id) == [owned]
    assert found(city="Казань") == sorted([gold, owned])
    assert found(source="ads") == [owned]
    assert found(field="tier", value="gold") == [gold]
    assert found(city="Казань", tag="vip") == [gold]


def test_sorts_by_name_both_ways(client: TestClient, admin: User, shop: Shop) -> None:
    # given
    b = shop.contact(first_name="Борис", last_name="Белов")
    a = shop.contact(first_name="Анна", last_name="Авдеева")
    c = shop.contact(first_name="Вера", last_name="Волкова")
    _login(client, admin)
    # when
    ascending = client.get("/contacts", params={"sort": "name"}).text
    descending = client.get("/contacts", params={"sort": "-name"}).text
    newest_first = client.get("/contacts").text
    # then
    assert _ids(ascending) == [a, b, c]
    assert _ids(descending) == [c, b, a]
    assert _ids(newest_first) == [c, a, b]
    assert 'aria-sort="ascending"' in ascending
    assert 'href="/contacts?sort=-name"' in ascending


def test_pages_hold_fifty_rows_and_show_the_total(
    client: TestClient, admin: User, shop: Shop
) -> None:
    # given
    ids = shop.contacts(55)
    _login(client, admin)
    # when
    first = client.get("/contacts", params={"sort": "name"}).text
    second = client.get("/contacts", params={"sort": "name", "page": "2"}).text
    # then
    assert _ids(first) == ids[:50]
    assert _ids(second) == ids[50:]
    assert "1–50 of 55" in first
    assert "51–55 of 55" in second
    assert 'href="/contacts?sort=name&amp;page=2"' in first
    assert 'rel="prev"' in second


def test_anonymous_visitors_are_hidden_unless_asked_for(
    client: TestClient, admin: User, shop: Shop, db: Session
) -> None:
    # given
    known = shop.contact(first_name="Known")
    visitor = shop.contact(first_name="Visitor")
    contact = db.get(Contact, visitor)
    assert contact is not None
    contact.is_anonymous = True
    db.commit()
    _login(client, admin)
    # then
    assert _ids(client.get("/contacts").text) == [known]
    assert sorted(_ids(client.get("/contacts", params={"anonymous": "1"}).text)) == [known, visitor]


@contextmanager
def _counting(url: str) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = get_engine(url)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_list_query_count_does_not_grow_with_rows(
    client: TestClient, admin: User, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    # given: rows with tags, a company and an owner each, so every column is filled
    owner = make_user(Role.SALES)
    company = shop.company("ООО «Ромашка»")
    common = {"tags": ["vip", "b2b"], "company_id": company, "owner_id": owner.id}
    shop.contacts(5, **common)
    _login(client, admin)
    client.get("/contacts")  # warm-up: first-use caches
    # when
    with _counting(settings.database_url) as few:
        page_of_five = client.get("/contacts")
    shop.contacts(45, city="Тула", **common)
    with _counting(settings.database_url) as many:
        page_of_fifty = client.get("/contacts")
    # then
    assert len(_ids(page_of_five.text)) == 5
    assert len(_ids(page_of_fifty.text)) == 50
    assert len(many) == len(few)


def test_card_query_count_does_not_grow_with_history(
    client: TestClient, admin: User, shop: Shop, settings: Settings
) -> None:
    # given: a contact with one of everything
    contact = shop.contact(first_name="Анна", email="anna@example.ru", tags=["vip"])
    shop.order(contact, "10.00")
    shop.note(contact, "one", author_id=admin.id)
    shop.event(contact, "page_view")
    shop.consent(contact, Channel.EMAIL, granted=True)
    _login(client, admin)
    client.get(f"/contacts/{contact}")  # warm-up
    with _counting(settings.database_url) as few:
        client.get(f"/contacts/{contact}")
    # when: its history grows twentyfold
    for n in range(20):
        shop.order(contact, "10.00", placed_at=T0 + timedelta(hours=n))
        shop.note(contact, f"note {n}", author_id=admin.id)
        shop.event(contact, "page_view", at=T0 + timedelta(hours=n))
    with _counting(settings.database_url) as many:
        page = client.get(f"/contacts/{contact}").text
    # then
    assert len(KIND.findall(page)) == 1 + 21 * 3 + 1  # creation, orders/notes/events, consent
    assert len(many) == len(few)


# --- bulk actions -----------------------------------------------------------------------------


def test_bulk_actions_tag_assign_and_delete_the_selected(
    client: TestClient, admin: User, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given
    seller = make_user(Role.SALES)
    one, two, three = shop.contacts(3)
    token = _login(client, admin)

    def bulk(**data: Any) -> None:
        response = client.post(
            "/contacts/bulk",
            data={"csrf_token": token, "next": "/contacts?sort=name", **data},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/contacts?sort=name"

    # when
    bulk(action="tag", tag="call back", ids=[one, two])
    bulk(action="owner", owner_id=str(seller.id), ids=[two, three])
    bulk(action="delete", ids=[three])
    # then
    tagged = db.scalars(
        select(ContactTag.contact_id)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(Tag.name == "call back")
        .order_by(ContactTag.contact_id)
    ).all()
    assert tagged == [one, two]
    owners = dict(db.execute(select(Contact.id, Contact.owner_id).order_by(Contact.id)).all())
    assert owners == {one: None, two: seller.id, three: seller.id}
    page = html.unescape(client.get("/contacts", params={"sort": "name"}).text)
    assert _ids(page) == [one, two]
    assert "Tag “call back” added to contacts: 2." in page
    assert "Owner changed for contacts: 2." in page
    assert "Contacts deleted: 1." in page


def test_bulk_action_without_the_csrf_token_is_refused(
    client: TestClient, admin: User, shop: Shop
) -> None:
    # given
    contact = shop.contact(first_name="Kept")
    _login(client, admin)
    del client.headers["X-CSRF-Token"]
    # when
    response = client.post("/contacts/bulk", data={"action": "delete", "ids": [contact]})
    # then
    assert response.status_code == 403
    assert _ids(client.get("/contacts").text) == [contact]


# --- the card -------------------------------------------------------------------------------


def test_card_timeline_merges_every_kind_newest_first(
    client: TestClient, admin: User, shop: Shop
) -> None:
    # given
    contact = shop.contact(first_name="Анна", city="Тула", actor_id=admin.id)
    shop.event(
        contact,
        "product_view",
        at=T0,
        properties={"sku": "TEA-1", "price": 350},
        context={
            "page": {"url": "https://shop.example/tea"},
            "campaign": {"source": "yandex", "medium": "cpc", "name": "spring"},
        },
    )
    shop.order(contact, "700.00", placed_at=T0 + timedelta(hours=1), external_id="SO-77")
    shop.consent(contact, Channel.EMAIL, granted=True, at=T0 + timedelta(hours=2))
    token = _login(client, admin)
    client.post(
        f"/contacts/{contact}/edit",
        data={"csrf_token": token, "first_name": "Анна", "city": "Казань", "owner_id": admin.id},
    )
    client.post(f"/contacts/{contact}/notes", data={"csrf_token": token, "body": "Called her"})
    # when
    page = client.get(f"/contacts/{contact}").text
    # then
    assert KIND.findall(page) == ["note", "change", "change", "consent", "order", "event"]
    timeline = html.unescape(page[page.index('data-testid="timeline"') :])
    assert "Called her" in timeline
    assert "<del>Тула</del> → <ins>Казань</ins>" in timeline
    assert timeline.count(admin.name) == 3  # the note, the change and the creation
    assert "SO-77" in timeline
    assert "https://shop.example/tea" in timeline
    assert "yandex / cpc / spring" in timeline
    assert "TEA-1" in timeline


def test_card_shows_consent_and_reachable_by_channel(
    client: TestClient, admin: User, shop: Shop
) -> None:
    # given: an e-mail with consent, a phone whose SMS consent was withdrawn
    contact = shop.contact(first_name="A", email="a@example.ru", phone="+79123456789")
    shop.consent(contact, Channel.EMAIL, granted=True)
    shop.consent(contact, Channel.SMS, granted=False)
    _login(client, admin)
    # when
    page = client.get(f"/contacts/{contact}").text
    # then
    reachable = dict(re.findall(r'data-channel="(\w+)".*?data-reachable="(\w+)"', page, re.S))
    assert reachable == {"email": "yes", "sms": "no", "messenger": "no", "phone": "no"}


def test_card_lists_orders_with_revenue_after_refunds(
    client: TestClient, admin: User, shop: Shop
) -> None:
    # given
    contact = shop.contact(first_name="A")
    shop.order(contact, "1000.00")
    shop.order(contact, "500.00", status=OrderStatus.REFUNDED, refunded="200.00")
    shop.order(contact, "300.00", status=OrderStatus.CANCELLED)
    _login(client, admin)
    # when
    page = client.get(f"/contacts/{contact}").text
    # then
    assert re.search(r'data-testid="revenue">([^<]+)<', page).group(1) == "RUB1,300.00"  # type: ignore[union-attr]


# --- forms ----------------------------------------------------------------------------------


def test_create_through_the_form(client: TestClient, admin: User, shop: Shop, db: Session) -> None:
    # given
    shop.field("loyalty_card", FieldType.NUMBER, label="Loyalty card")
    company = shop.company("ООО «Ромашка»")
    token = _login(client, admin)
    # when
    response = client.post(
        "/contacts/new",
        data={
            "csrf_token": token,
            "first_name": "Анна",
            "last_name": "Иванова",
            "email": "Anna@Example.RU",
            "phone": "8 (912) 345-67-89",
            "extra_emails": "anna.work@example.com\nanna.home@example.com",
            "external_ids": "shop: 1042",
            "tags": "vip, newsletter",
            "company_id": str(company),
            "owner_id": str(admin.id),
            "custom.loyalty_card": "1 234",
        },
        follow_redirects=False,
    )
    # then
    assert response.status_code == 303
    contact = db.scalars(select(Contact)).one()
    assert response.headers["location"] == f"/contacts/{contact.id}"
    assert (contact.email, contact.phone, contact.company_id) == (
        "anna@example.ru",
        "+79123456789",
        company,
    )
    assert contact.custom == {"loyalty_card": 1234}
    card = client.get(f"/contacts/{contact.id}").text
    assert "anna.home@example.com" in card
    assert "<code>1042</code>" in card
    assert '<span class="tag">newsletter</span><span class="tag">vip</span>' in card


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("email", "anna@@example", "email"),
        ("phone", "12", "phone"),
        ("birthday", "1990-02-31", "birthday"),
        ("custom.visits", "many", "custom.visits"),
        ("extra_emails", "ok@example.ru\nnot-an-address", "extra_emails"),
    ],
)
def test_invalid_input_is_shown_next_to_its_field_and_nothing_is_stored(
    client: TestClient,
    admin: User,
    shop: Shop,
    db: Session,
    field: str,
    value: str,
    named: str,
) -> None:
    # given
    shop.field("visits", FieldType.NUMBER)
    token = _login(client, admin)
    # when
    response = client.post(
        "/contacts/new",
        data={"csrf_token": token, "first_name": "Анна", field: value},
        follow_redirects=False,
    )
    # then
    assert response.status_code == 422
    assert named in _field_error(response.text, field)
    assert 'value="Анна"' in response.text
    assert html.escape(value.split("\n")[-1]) in response.text
    assert _count(db, Contact) == 0


def test_a_taken_e_mail_is_an_error_on_the_field(
    client: TestClient, admin: User, shop: Shop, db: Session
) -> None:
    # given
    shop.contact(first_name="First", email="anna@example.ru")
    token = _login(client, admin)
    # when
    response = client.post(
        "/contacts/new",
        data={"csrf_token": token, "first_name": "Second", "email": "anna@example.ru"},
    )
    # then
    assert response.status_code == 409
    assert "already belongs to contact" in _field_error(response.text, "email")
    assert _count(db, Contact) == 1


def test_edit_form_shows_current_values_and_rejects_a_bad_phone(
    client: TestClient, admin: User, shop: Shop, db: Session
) -> None:
    # given
    contact = shop.contact(first_name="Анна", phone="+79123456789", tags=["vip"])
    token = _login(client, admin)
    # when
    form = client.get(f"/contacts/{contact}/edit").text
    response = client.post(
        f"/contacts/{contact}/edit",
        data={"csrf_token": token, "first_name": "Анна", "phone": "call me", "tags": "vip"},
    )
    # then
    assert 'value="+79123456789"' in form
    assert 'name="tags" value="vip"' in form
    assert response.status_code == 422
    assert "phone" in _field_error(response.text, "phone")
    stored = db.get(Contact, contact)
    assert stored is not None
    assert stored.phone == "+79123456789"


def test_edit_clears_a_field_left_empty(
    client: TestClient, admin: User, shop: Shop, db: Session
) -> None:
    contact = shop.contact(first_name="Анна", city="Тула")
    token = _login(client, admin)
    client.post(f"/contacts/{contact}/edit", data={"csrf_token": token, "first_name": "Анна"})
    stored = db.get(Contact, contact)
    assert stored is not None
    assert (stored.first_name, stored.city) == ("Анна", None)


# --- merge, export, erase -------------------------------------------------------------------


def test_merge_from_the_card_keeps_the_union_of_both_histories(
    client: TestClient, admin: User, shop: Shop, db: Session
) -> None:
    # given
    keep = shop.contact(first_name="Анна", email="anna@gmail.com", tags=["vip"])
    other = shop.contact(first_name="Анна", email="an.na+shop@googlemail.com", tags=["vip", "b2b"])
    shop.order(keep, "100.00")
    shop.order(other, "200.00")
    shop.note(keep, "one")
    shop.note(other, "two")
    shop.event(other, "page_view")
    token = _login(client, admin)
    card = client.get(f"/contacts/{keep}").text
    # when: review, then confirm
    review = client.get(f"/contacts/{keep}/merge", params={"other": other}).text
    response = client.post(
        f"/contacts/{keep}/merge",
        data={"csrf_token": token, "other_id": str(other)},
        follow_redirects=False,
    )
    # then
    assert f'data-duplicate-id="{other}"' in card
    assert re.search(r'data-table="orders"><td>Orders</td><td class="num">1</td>', review)
    assert response.status_code == 303
    history = count_history(db, keep)
    assert (history["orders"], history["contact_notes"], history["events"]) == (2, 2, 1)
    assert (history["contact_tags"], history["contact_identities"]) == (2, 2)
    loser = db.get(Contact, other)
    assert loser is not None
    assert (loser.merged_into_id, loser.deleted_at is not None) == (keep, True)
    after = client.get(f"/contacts/{keep}").text
    assert KIND.findall(after)[0] == "merge"
    assert f"Merged contact #{other} into this one" in after


def test_a_merged_away_contact_leads_to_the_survivor(
    client: TestClient, admin: User, shop: Shop
) -> None:
    keep = shop.contact(first_name="Keep")
    gone = shop.contact(first_name="Gone")
    token = _login(client, admin)
    client.post(f"/contacts/{keep}/merge", data={"csrf_token": token, "other_id": str(gone)})
    response = client.get(f"/contacts/{gone}", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, f"/contacts/{keep}")


def test_an_inactive_owner_stays_selected_in_the_edit_form(
    client: TestClient, admin: User, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given
    former = make_user(Role.SALES)
    contact = shop.contact(first_name="A", owner_id=former.id)
    user = db.get(User, former.id)
    assert user is not None
    user.is_active = False
    db.commit()
    _login(client, admin)
    # when
    form = client.get(f"/contacts/{contact}/edit").text
    # then
    assert f'<option value="{former.id}" selected>{former.name}</option>' in form


def test_export_downloads_everything_as_json(client: TestClient, admin: User, shop: Shop) -> None:
    contact = shop.contact(first_name="Анна", email="anna@example.ru")
    shop.order(contact, "100.00", external_id="SO-9")
    _login(client, admin)
    response = client.get(f"/contacts/{contact}/export")
    assert response.status_code == 200
    assert (
        response.headers["content-disposition"] == f'attachment; filename="contact-{contact}.json"'
    )
    body = response.json()
    assert (body["contact"]["first_name"], body["orders"][0]["external_id"]) == ("Анна", "SO-9")


def test_admin_erases_personal_data_after_confirming(
    client: TestClient, admin: User, shop: Shop, db: Session
) -> None:
    # given
    contact = shop.contact(first_name="Анна", email="anna@example.ru")
    shop.note(contact, "private")
    shop.order(contact, "100.00")
    token = _login(client, admin)
    # when
    confirm = client.get(f"/contacts/{contact}/erase")
    response = client.post(
        f"/contacts/{contact}/erase", data={"csrf_token": token}, follow_redirects=False
    )
    # then
    assert confirm.status_code == 200
    assert response.status_code == 303
    stored = db.get(Contact, contact)
    assert stored is not None
    assert (stored.first_name, stored.email, stored.erased_at is not None) == (None, None, True)
    assert _count(db, ContactNote) == 0
    card = client.get(f"/contacts/{contact}").text
    assert 'data-testid="erased"' in card
    assert count_history(db, contact)["orders"] == 1


@pytest.mark.parametrize("role", [Role.MARKETER, Role.SALES, Role.ANALYST])
def test_only_admins_may_erase(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session, role: Role
) -> None:
    user = make_user(role)
    contact = shop.contact(first_name="Анна", owner_id=user.id)
    token = _login(client, user)
    assert client.get(f"/contacts/{contact}/erase").status_code == 403
    assert client.post(f"/contacts/{contact}/erase", data={"csrf_token": token}).status_code == 403
    assert "erase-contact" not in client.get(f"/contacts/{contact}").text
    stored = db.get(Contact, contact)
    assert stored is not None
    assert stored.first_name == "Анна"


# --- who sees what ---------------------------------------------------------------------------


@pytest.fixture
def sales_world(client: TestClient, make_user: UserFactory, shop: Shop) -> dict[str, Any]:
    """A sales user with their own contact, a watched one, a shared one, and a hidden one."""
    seller = make_user(Role.SALES)
    colleague = make_user(Role.SALES)
    ids = {
        "own": shop.contact(first_name="Own", owner_id=seller.id),
        "watched": shop.contact(
            first_name="Watched", owner_id=colleague.id, watcher_ids=[seller.id]
        ),
        "shared": shop.contact(first_name="Shared", owner_id=colleague.id, available_to_all=True),
        "hidden": shop.contact(first_name="Hidden", owner_id=colleague.id, email="h@example.ru"),
    }
    token = _login(client, seller)
    return {"ids": ids, "token": token}


def test_sales_list_shows_only_their_contacts(
    client: TestClient, sales_world: dict[str, Any]
) -> None:
    ids = sales_world["ids"]
    listed = sorted(_ids(client.get("/contacts").text))
    assert listed == sorted([ids["own"], ids["watched"], ids["shared"]])
    assert _ids(client.get("/contacts", params={"q": "h@example.ru"}).text) == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/contacts/{id}"),
        ("GET", "/contacts/{id}/edit"),
        ("POST", "/contacts/{id}/edit"),
        ("GET", "/contacts/{id}/export"),
        ("POST", "/contacts/{id}/notes"),
        ("GET", "/contacts/{own}/merge?other={id}"),
        ("POST", "/contacts/{own}/merge"),
        ("GET", "/contacts/{id}/merge?other={own}"),
    ],
)
def test_someone_elses_contact_is_not_found_for_a_sales_user(
    client: TestClient, sales_world: dict[str, Any], db: Session, method: str, path: str
) -> None:
    # given
    ids = sales_world["ids"]
    url = path.format(id=ids["hidden"], own=ids["own"])
    data = {
        "csrf_token": sales_world["token"],
        "first_name": "Changed",
        "body": "note",
        "other_id": str(ids["hidden"]),
    }
    # when
    response = client.request(method, url, data=data if method == "POST" else None)
    # then
    assert response.status_code == 404
    hidden = db.get(Contact, ids["hidden"])
    assert hidden is not None
    assert (hidden.first_name, hidden.deleted_at) == ("Hidden", None)
    assert _count(db, ContactNote) == 0


def test_bulk_actions_leave_contacts_the_sales_user_cannot_see(
    client: TestClient, sales_world: dict[str, Any], db: Session
) -> None:
    # given
    ids = sales_world["ids"]
    every = [ids["own"], ids["hidden"]]
    # when
    for data in ({"action": "tag", "tag": "x"}, {"action": "delete"}):
        client.post(
            "/contacts/bulk", data={"csrf_token": sales_world["token"], "ids": every, **data}
        )
    # then
    hidden = db.get(Contact, ids["hidden"])
    own = db.get(Contact, ids["own"])
    assert hidden is not None
    assert own is not None
    assert (hidden.deleted_at, own.deleted_at is not None) == (None, True)
    tagged = db.scalars(select(ContactTag.contact_id)).all()
    assert tagged == [ids["own"]]


def test_analyst_reads_but_cannot_change_anything(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given
    contact = shop.contact(first_name="Анна")
    token = _login(client, make_user(Role.ANALYST))
    # when
    listing = client.get("/contacts")
    card = client.get(f"/contacts/{contact}")
    posts = [
        client.post("/contacts/new", data={"csrf_token": token, "first_name": "X"}),
        client.post(f"/contacts/{contact}/edit", data={"csrf_token": token, "first_name": "X"}),
        client.post(f"/contacts/{contact}/notes", data={"csrf_token": token, "body": "x"}),
        client.post(
            "/contacts/bulk", data={"csrf_token": token, "action": "delete", "ids": contact}
        ),
        client.post(f"/contacts/{contact}/merge", data={"csrf_token": token, "other_id": contact}),
    ]
    # then
    assert (listing.status_code, card.status_code) == (200, 200)
    assert "new-contact" not in listing.text
    assert 'name="ids"' not in listing.text
    assert "edit-contact" not in card.text
    assert 'data-testid="note-form"' not in card.text
    assert client.get("/contacts/new").status_code == 403
    assert [r.status_code for r in posts] == [403] * 5
    stored = db.get(Contact, contact)
    assert stored is not None
    assert (stored.first_name, stored.deleted_at) == ("Анна", None)
    assert _count(db, Contact) == 1


# --- the card's customer value block ---------------------------------------------------------


def test_card_says_the_profile_is_not_computed_yet(
    client: TestClient, admin: User, shop: Shop
) -> None:
    # given: a contact, and no recompute has run
    contact = shop.contact(first_name="A")
    _login(client, admin)
    # when
    page = client.get(f"/contacts/{contact}").text
    # then
    assert 'data-testid="no-profile"' in page
    assert 'data-testid="customer-profile"' in page


def test_card_shows_the_computed_profile_with_its_stage_history(
    client: TestClient, admin: User, shop: Shop, db: Session
) -> None:
    # given: a customer computed after the first order, and again after the second
    contact = shop.contact(first_name="A")
    shop.order(contact, "1000.00", placed_at=T0 - timedelta(days=40))
    recompute(db, now=T0 - timedelta(days=30))
    shop.order(contact, "500.00", placed_at=T0 - timedelta(days=10))
    recompute(db, now=T0)
    _login(client, admin)
    # when
    page = client.get(f"/contacts/{contact}").text
    # then: the stage, the band and the numbers with their explanations
    stage = re.search(r'data-testid="lifecycle-stage" data-value="(\w+)"', page)
    assert stage
    assert stage.group(1) == "loyalty"
    assert re.search(r'data-testid="churn-band" data-value="(\w+)"', page)
    assert "Days since the last order." in page
    assert "RUB1,500.00" in page
    # and: the history, newest first
    history = re.search(r'data-testid="stage-history">(.*?)</ol>', page, re.S)
    assert history
    moves = [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r"</time>:\s*(.*?)</li>", history.group(1), re.S)
    ]
    assert moves == ["Purchase → Loyalty", "Purchase"]
