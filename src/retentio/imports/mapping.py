"""Which column goes to which field: the targets of each kind of import and the automatic
mapping of column names in English and Russian ("Имя", "Телефон", "Дата заказа" …)."""

from __future__ import annotations

import enum
import re

from retentio.kit.text import N_


class ImportEntity(enum.StrEnum):
    CONTACTS = "contacts"
    COMPANIES = "companies"
    PRODUCTS = "products"
    ORDERS = "orders"
    EVENTS = "events"
    CONSENTS = "consents"


# target field → (label, aliases). Aliases are compared after folding case, ё, spaces and
# punctuation, so "E-mail", "e_mail" and "Эл. почта" all find `email`.
CONTACT_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "external_id": (
        N_("External id"),
        (
            "id",
            "customer id",
            "client id",
            "код",
            "код клиента",
            "id клиента",
            "внешний id",
            "ид",
            "идентификатор",
        ),
    ),
    "first_name": (N_("First name"), ("first name", "firstname", "name", "имя")),
    "last_name": (N_("Last name"), ("last name", "lastname", "surname", "фамилия")),
    "middle_name": (N_("Middle name"), ("middle name", "patronymic", "отчество")),
    "full_name": (N_("Full name"), ("full name", "fio", "фио", "клиент", "покупатель", "контакт")),
    "email": (N_("E-mail"), ("email", "e mail", "mail", "почта", "эл почта", "электронная почта")),
    "phone": (
        N_("Phone"),
        (
            "phone",
            "mobile",
            "tel",
            "telephone",
            "телефон",
            "мобильный",
            "моб телефон",
            "номер телефона",
        ),
    ),
    "telegram": (N_("Telegram"), ("telegram", "tg", "телеграм", "телеграмм")),
    "gender": (N_("Gender"), ("gender", "sex", "пол")),
    "birthday": (
        N_("Birthday"),
        ("birthday", "birth date", "date of birth", "dob", "дата рождения", "день рождения", "др"),
    ),
    "city": (N_("City"), ("city", "town", "город")),
    "region": (N_("Region"), ("region", "state", "регион", "область")),
    "country": (N_("Country"), ("country", "страна")),
    "timezone": (N_("Time zone"), ("timezone", "time zone", "tz", "часовой пояс")),
    "language": (N_("Language"), ("language", "lang", "язык")),
    "source": (N_("Source"), ("source", "источник", "канал привлечения")),
    "utm_source": ("utm_source", ("utm source",)),
    "utm_medium": ("utm_medium", ("utm medium",)),
    "utm_campaign": ("utm_campaign", ("utm campaign",)),
    "utm_content": ("utm_content", ("utm content",)),
    "utm_term": ("utm_term", ("utm term",)),
    "tags": (N_("Tags"), ("tags", "tag", "теги", "тег", "метки")),
    "company": (N_("Company"), ("company", "organization", "компания", "организация")),
    "owner_email": (N_("Owner e-mail"), ("owner", "manager", "ответственный", "менеджер")),
}

COMPANY_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": (N_("Name"), ("name", "company", "название", "наименование", "компания")),
    "inn": (N_("INN"), ("inn", "tax id", "инн")),
    "industry": (N_("Industry"), ("industry", "отрасль")),
    "size": (N_("Size"), ("size", "employees", "размер", "сотрудников")),
    "city": (N_("City"), ("city", "город")),
    "website": (N_("Website"), ("website", "site", "url", "сайт")),
}

PRODUCT_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sku": (N_("SKU"), ("sku", "article", "артикул", "код товара", "код")),
    "name": (N_("Name"), ("name", "product", "title", "товар", "наименование", "название")),
    "category": (N_("Category"), ("category", "категория", "группа")),
    "price": (N_("Price"), ("price", "цена", "стоимость")),
    "currency": (N_("Currency"), ("currency", "валюта")),
}

ORDER_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "external_id": (
        N_("Order number"),
        (
            "order",
            "order id",
            "order number",
            "номер заказа",
            "заказ",
            "номер документа",
            "документ",
        ),
    ),
    "placed_at": (
        N_("Order date"),
        ("date", "order date", "дата", "дата заказа", "дата документа"),
    ),
    "status": (N_("Status"), ("status", "статус")),
    "channel": (N_("Channel"), ("channel", "канал")),
    "total": (N_("Order total"), ("total", "amount", "sum", "сумма", "сумма заказа", "итого")),
    "currency": (N_("Currency"), ("currency", "валюта")),
    "customer_id": (N_("Customer id"), ("customer id", "client id", "код клиента", "id клиента")),
    "customer_email": (N_("Customer e-mail"), ("email", "e mail", "почта", "email клиента")),
    "customer_phone": (N_("Customer phone"), ("phone", "телефон", "телефон клиента")),
    "customer_name": (N_("Customer name"), ("customer", "client", "клиент", "покупатель", "фио")),
    "sku": (N_("SKU"), ("sku", "article", "артикул", "код товара")),
    "product_name": (N_("Product"), ("product", "item", "товар", "номенклатура")),
    "category": (N_("Category"), ("category", "категория")),
    "quantity": (N_("Quantity"), ("quantity", "qty", "количество", "кол во")),
    "unit_price": (N_("Unit price"), ("price", "unit price", "цена")),
}

EVENT_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "message_id": (N_("Event id"), ("message id", "event id", "id события")),
    "type": (N_("Event type"), ("type", "event", "тип", "событие")),
    "occurred_at": (N_("Time"), ("time", "timestamp", "date", "время", "дата")),
    "user_id": (N_("Customer id"), ("user id", "customer id", "код клиента")),
    "email": (N_("E-mail"), ("email", "e mail", "почта")),
    "phone": (N_("Phone"), ("phone", "телефон")),
}

CONSENT_TARGETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "external_id": (N_("Customer id"), ("id", "customer id", "код клиента")),
    "email": (N_("E-mail"), ("email", "e mail", "почта")),
    "phone": (N_("Phone"), ("phone", "телефон")),
    "channel": (N_("Channel"), ("channel", "канал")),
    "purpose": (N_("Purpose"), ("purpose", "цель")),
    "granted": (N_("Granted"), ("granted", "consent", "subscribed", "согласие", "подписан")),
    "occurred_at": (N_("Date"), ("date", "time", "дата", "дата согласия")),
    "source": (N_("Source"), ("source", "источник")),
    "text_version": (N_("Text version"), ("version", "text version", "версия текста")),
}

TARGETS: dict[ImportEntity, dict[str, tuple[str, tuple[str, ...]]]] = {
    ImportEntity.CONTACTS: CONTACT_TARGETS,
    ImportEntity.COMPANIES: COMPANY_TARGETS,
    ImportEntity.PRODUCTS: PRODUCT_TARGETS,
    ImportEntity.ORDERS: ORDER_TARGETS,
    ImportEntity.EVENTS: EVENT_TARGETS,
    ImportEntity.CONSENTS: CONSENT_TARGETS,
}
CUSTOM_PREFIX = "custom."
IGNORE = ""
_FOLD = re.compile(r"[\s_\-.:/№#()]+")


def fold(name: str) -> str:
    return _FOLD.sub(" ", name.lower().replace("ё", "е")).strip()


def auto_map(entity: ImportEntity, header: list[str], custom_keys: list[str]) -> dict[str, str]:
    """Column name → target field ("" to ignore); each target is used at most once."""
    targets = TARGETS[entity]
    lookup: dict[str, str] = {}
    for target, (label, aliases) in targets.items():
        for alias in (target, label, *aliases):
            lookup.setdefault(fold(alias), target)
    for key in custom_keys:
        lookup.setdefault(fold(key), CUSTOM_PREFIX + key)
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column in header:
        target = lookup.get(fold(column), IGNORE)
        if target in used:
            target = IGNORE
        mapping[column] = target
        used.add(target)
    return mapping
