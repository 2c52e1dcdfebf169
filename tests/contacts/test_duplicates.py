"""Likely duplicates: mailbox keys, loose name keys, and the query that uses them."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.contacts.duplicates import Reason, canonical_email, likely_duplicates, name_key
from retentio.contacts.models import Contact
from retentio.settings import Settings
from tests.conftest import UserFactory
from tests.page_factories import Shop


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("Anna@Example.RU", "anna@example.ru"),
        ("anna+shop@example.ru", "anna@example.ru"),
        ("a.n.na@example.ru", "a.n.na@example.ru"),
        ("A.Nna+promo@gmail.com", "anna@gmail.com"),
        ("anna@googlemail.com", "anna@gmail.com"),
        ("ivan-petrov@ya.ru", "ivan.petrov@yandex.ru"),
        ("ivan.petrov+x@yandex.kz", "ivan.petrov@yandex.ru"),
        ("ivan@yandex.com", "ivan@yandex.ru"),
        ("ivan@yandex.by", "ivan@yandex.ru"),
        ("ivan@yandex.ua", "ivan@yandex.ru"),
        ("not an address", "not an address"),
    ],
)
def test_canonical_email_folds_aliases_of_one_mailbox(address: str, key: str) -> None:
    assert canonical_email(address) == key


def test_name_key_ignores_case_yo_spacing_and_order() -> None:
    assert name_key("Пётр", "Семёнов") == name_key("ПЕТР", "семенов") == "петр семенов"
    assert name_key("Семёнов", "  Пётр ") == "петр семенов"
    assert name_key("Anna Maria", "Smith") == "anna maria smith"


@pytest.mark.parametrize(("first", "last"), [("Анна", None), (None, "Иванова"), ("  ", "Иванова")])
def test_name_key_needs_both_parts(first: str | None, last: str | None) -> None:
    assert name_key(first, last) is None


@pytest.fixture
def shop(settings: Settings) -> Shop:
    return Shop(settings.database_url)


def test_finds_mailbox_aliases_names_at_one_company_and_names_with_a_birthday(
    shop: Shop, make_user: UserFactory, db: Session
) -> None:
    # given
    admin = make_user(Role.ADMIN)
    company = shop.company("ООО «Ромашка»")
    me = shop.contact(
        first_name="Пётр",
        last_name="Семёнов",
        email="pyotr.semenov@gmail.com",
        company_id=company,
        birthday=date(1990, 5, 1),
    )
    alias = shop.contact(first_name="P", email="pyotrsemenov+shop@googlemail.com")
    colleague = shop.contact(first_name="ПЕТР", last_name="семенов", company_id=company)
    namesake = shop.contact(first_name="Семенов", last_name="Петр", birthday=date(1990, 5, 1))
    everything = shop.contact(
        first_name="Петр",
        last_name="Семенов",
        company_id=company,
        birthday=date(1990, 5, 1),
        email="pyotr.semenov+2@gmail.com",
    )
    shop.contact(first_name="Петр", last_name="Семенов")  # no company, no birthday: not enough
    shop.contact(first_name="Пётр", email="pyotr.semenov.x@gmail.com")  # another mailbox
    shop.contact(first_name="Anna", email="pyotr_semenov@gmail.com")  # "_" is not a wildcard
    contact = db.get(Contact, me)
    assert contact is not None
    # when
    found = likely_duplicates(db, admin, contact, emails=[contact.email or ""])
    # then
    assert [(d.contact.id, d.reasons) for d in found] == [
        (everything, (Reason.EMAIL, Reason.NAME_COMPANY, Reason.NAME_BIRTHDAY)),
        (alias, (Reason.EMAIL,)),
        (colleague, (Reason.NAME_COMPANY,)),
        (namesake, (Reason.NAME_BIRTHDAY,)),
    ]


def test_a_sales_user_is_not_shown_contacts_they_cannot_see(
    shop: Shop, make_user: UserFactory, db: Session
) -> None:
    # given
    seller = make_user(Role.SALES)
    mine = shop.contact(first_name="A", email="anna@yandex.ru", owner_id=seller.id)
    shop.contact(first_name="B", email="anna@ya.ru")
    shared = shop.contact(first_name="C", email="anna+1@yandex.com", available_to_all=True)
    contact = db.get(Contact, mine)
    assert contact is not None
    # when
    found = likely_duplicates(db, seller, contact, emails=["anna@yandex.ru"])
    # then
    assert [d.contact.id for d in found] == [shared]
