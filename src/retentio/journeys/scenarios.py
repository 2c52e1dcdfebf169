"""Ready-made journeys: one click creates a draft from a scenario, the user edits and
activates it. Each is plain data (a `JourneyIn` with the account and segments filled in at
creation), so what a scenario does is readable here in one place.

Message texts come in English and Russian; the language of the page that creates the journey
picks one. Scenarios that need what later issues bring (loyalty points, product
recommendations) listen for events those features will send and use fixed intervals now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.consent.models import Channel
from retentio.errors import InvalidInput, NotFound
from retentio.journeys import service
from retentio.journeys.models import Journey
from retentio.journeys.schemas import JourneyIn
from retentio.kit.text import N_
from retentio.messaging.models import SendingAccount
from retentio.segments.models import Segment
from retentio.segments.prebuilt import ensure_prebuilt

Texts = dict[str, tuple[str, str]]  # language → (subject, text)


@dataclass(frozen=True)
class Scenario:
    key: str
    name: str
    description: str
    build: Callable[[Callable[[Texts], dict[str, Any]], Callable[[str], int]], dict[str, Any]]


def _wait(key: str, amount: float, unit: str, next_: str | None) -> dict[str, Any]:
    return {
        "key": key,
        "kind": "wait",
        "mode": "duration",
        "duration": {"amount": amount, "unit": unit},
        "next": next_,
    }


def _no_order_since_entry(days: int) -> dict[str, Any]:
    return {"bought": {}, "within_days": days, "negate": True}


def _welcome(send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]) -> dict[str, Any]:
    return {
        "trigger": {"kind": "segment_entered", "segment_id": _seg("new_this_month")},
        "goal": {"kind": "order", "attribution_days": 14},
        "steps": [
            {
                **send(
                    {
                        "en": ("Welcome!", "Glad to see you, {{ contact.first_name }}."),
                        "ru": ("Добро пожаловать!", "{{ contact.first_name }}, рады знакомству!"),
                    }
                ),
                "key": "hello",
                "next": "pause",
            },
            _wait("pause", 3, "days", "tips"),
            {
                **send(
                    {
                        "en": ("How to choose", "Three tips for your first order."),
                        "ru": ("Как выбрать", "Три совета для первого заказа."),
                    }
                ),
                "key": "tips",
            },
        ],
    }


def _abandoned_cart(
    send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]
) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event_type": "cart_add"},
        "goal": {"kind": "order", "attribution_days": 3},
        "policy": {"reentry": "cooldown", "cooldown_days": 1},
        "steps": [
            _wait("wait_2h", 2, "hours", "reminder"),
            {
                **send(
                    {
                        "en": (
                            "You left something in your cart",
                            "Your cart is waiting: {{ trigger.name }}.",
                        ),
                        "ru": (
                            "Вы кое-что забыли в корзине",
                            "Корзина ждёт вас: {{ trigger.name }}.",
                        ),
                    }
                ),
                "key": "reminder",
                "next": "wait_24h",
            },
            _wait("wait_24h", 22, "hours", "second"),
            {
                **send(
                    {
                        "en": ("Still thinking?", "The items in your cart may sell out soon."),
                        "ru": ("Ещё думаете?", "Товары из корзины скоро могут закончиться."),
                    }
                ),
                "key": "second",
            },
        ],
    }


def _abandoned_browse(
    send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]
) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event_type": "product_view"},
        "goal": {"kind": "event", "event_type": "cart_add", "attribution_days": 3},
        "policy": {"reentry": "cooldown", "cooldown_days": 7},
        "steps": [
            {
                "key": "wait_cart",
                "kind": "wait_event",
                "event_type": "cart_add",
                "timeout": {"amount": 4, "unit": "hours"},
                "next": None,
                "timeout_next": "nudge",
            },
            {
                **send(
                    {
                        "en": ("Take another look", "{{ trigger.name }} caught your eye."),
                        "ru": ("Посмотрите ещё раз", "Вам понравился {{ trigger.name }}."),
                    }
                ),
                "key": "nudge",
            },
        ],
    }


def _cross_sell(
    send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]
) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event_type": "order_placed"},
        "goal": {"kind": "order", "attribution_days": 30},
        "steps": [
            _wait("after", 7, "days", "offer"),
            {
                **send(
                    {
                        "en": (
                            "Goes well with your purchase",
                            "Customers who bought this also chose…",
                        ),
                        "ru": ("К вашей покупке подойдёт", "Вместе с этим товаром часто берут…"),
                    }
                ),
                "key": "offer",
            },
        ],
    }


def _replenishment(
    send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]
) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event_type": "order_placed"},
        "goal": {"kind": "order", "attribution_days": 14},
        "steps": [
            _wait("interval", 30, "days", "still_none"),
            {
                "key": "still_none",
                "kind": "condition",
                "rule": _no_order_since_entry(29),
                "yes": "remind",
                "no": None,
            },
            {
                **send(
                    {
                        "en": ("Time to restock?", "It has been a month since your last order."),
                        "ru": ("Пора пополнить запасы?", "С прошлого заказа прошёл месяц."),
                    }
                ),
                "key": "remind",
            },
        ],
    }


def _birthday(
    send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]
) -> dict[str, Any]:
    return {
        "trigger": {
            "kind": "date_attribute",
            "attribute": "birthday",
            "offset_days": -3,
            "at": "10:00",
        },
        "goal": {"kind": "order", "attribution_days": 10},
        "steps": [
            {
                **send(
                    {
                        "en": (
                            "A birthday gift for you",
                            "{{ contact.first_name }}, a gift is waiting for you.",
                        ),
                        "ru": (
                            "Подарок ко дню рождения",
                            "{{ contact.first_name }}, для вас подарок ко дню рождения.",
                        ),
                    }
                ),
                "key": "gift",
            },
        ],
    }


def _reactivation(
    send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]
) -> dict[str, Any]:
    return {
        "trigger": {"kind": "inactivity", "days": 90},
        "goal": {"kind": "order", "attribution_days": 30},
        "policy": {"holdout_share": 0.1},
        "steps": [
            {
                **send(
                    {
                        "en": ("We miss you", "Come back: here is what is new."),
                        "ru": ("Мы скучаем", "Возвращайтесь — у нас много нового."),
                    }
                ),
                "key": "miss_you",
                "next": "wait",
            },
            _wait("wait", 14, "days", "offer"),
            {
                **send(
                    {
                        "en": ("A discount to come back", "10 % off your next order."),
                        "ru": ("Скидка на возвращение", "Скидка 10 % на следующий заказ."),
                    }
                ),
                "key": "offer",
            },
        ],
    }


def _win_back(send: Callable[[Texts], dict[str, Any]], seg: Callable[[str], int]) -> dict[str, Any]:
    return {
        "trigger": {"kind": "segment_entered", "segment_id": seg("rfm.cant_lose")},
        "goal": {"kind": "order", "attribution_days": 30},
        "policy": {"holdout_share": 0.1},
        "steps": [
            {
                **send(
                    {
                        "en": (
                            "You are one of our best customers",
                            "A personal offer, just for you.",
                        ),
                        "ru": (
                            "Вы — один из лучших наших клиентов",
                            "Персональное предложение только для вас.",
                        ),
                    }
                ),
                "key": "personal",
                "next": "call",
            },
            {
                "key": "call",
                "kind": "task",
                "title": "Call a valuable customer who stopped buying",
                "due_in": {"amount": 2, "unit": "days"},
            },
        ],
    }


def _nps(send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event_type": "order_delivered"},
        "steps": [
            _wait("after", 2, "days", "ask"),
            {
                **send(
                    {
                        "en": ("How likely are you to recommend us?", "Rate us from 0 to 10."),
                        "ru": ("Порекомендуете ли вы нас?", "Оцените нас от 0 до 10."),
                    }
                ),
                "key": "ask",
            },
        ],
    }


def _vip(send: Callable[[Texts], dict[str, Any]], seg: Callable[[str], int]) -> dict[str, Any]:
    return {
        "trigger": {"kind": "segment_entered", "segment_id": seg("vip_clv_top10")},
        "policy": {"reentry": "once"},
        "steps": [
            {
                "key": "tag",
                "kind": "set_attribute",
                "action": "add_tag",
                "tag": "VIP",
                "next": "thanks",
            },
            {
                **send(
                    {
                        "en": ("Welcome to VIP", "Thank you: from now on you have VIP service."),
                        "ru": (
                            "Добро пожаловать в VIP",
                            "Спасибо! Теперь для вас VIP-обслуживание.",
                        ),
                    }
                ),
                "key": "thanks",
            },
        ],
    }


def _points_expiring(
    send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]
) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event_type": "points_expiring"},
        "goal": {"kind": "order", "attribution_days": 14},
        "steps": [
            {
                **send(
                    {
                        "en": (
                            "Your points expire soon",
                            "{{ trigger.points }} points expire on {{ trigger.date }}.",
                        ),
                        "ru": (
                            "Баллы скоро сгорят",
                            "{{ trigger.points }} баллов сгорят {{ trigger.date }}.",
                        ),
                    }
                ),
                "key": "warn",
            },
        ],
    }


def _complaint(
    _send: Callable[[Texts], dict[str, Any]], _seg: Callable[[str], int]
) -> dict[str, Any]:
    return {
        "trigger": {"kind": "event", "event_type": "complaint"},
        "steps": [
            {
                "key": "follow_up",
                "kind": "task",
                "title": "Follow up on the customer's complaint",
                "due_in": {"amount": 4, "unit": "hours"},
            },
        ],
    }


SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in (
        Scenario(
            "welcome",
            N_("Welcome series"),
            N_("Two letters to new contacts: hello, then tips."),
            _welcome,
        ),
        Scenario(
            "abandoned_cart",
            N_("Abandoned cart"),
            N_("Reminders 2 h and 24 h after a cart, unless an order comes."),
            _abandoned_cart,
        ),
        Scenario(
            "abandoned_browse",
            N_("Abandoned browse"),
            N_("A nudge 4 h after viewing a product without adding it to the cart."),
            _abandoned_browse,
        ),
        Scenario(
            "cross_sell",
            N_("Post-purchase cross-sell"),
            N_("A week after an order, what goes well with it."),
            _cross_sell,
        ),
        Scenario(
            "replenishment",
            N_("Replenishment reminder"),
            N_("A month after an order, if no new order came."),
            _replenishment,
        ),
        Scenario(
            "birthday",
            N_("Birthday"),
            N_("A gift three days before the birthday, at 10:00 local time."),
            _birthday,
        ),
        Scenario(
            "reactivation",
            N_("Reactivate sleeping customers"),
            N_("No order for 90 days: we miss you, then an offer."),
            _reactivation,
        ),
        Scenario(
            "win_back",
            N_('Win back "Can\'t Lose"'),
            N_("A personal offer and a call from the owner."),
            _win_back,
        ),
        Scenario(
            "nps",
            N_("NPS after delivery"),
            N_("Two days after delivery, ask how likely they are to recommend you."),
            _nps,
        ),
        Scenario(
            "vip",
            N_("VIP tier reached"),
            N_("Tag and thank customers entering the top 10 % by CLV."),
            _vip,
        ),
        Scenario(
            "points_expiring",
            N_("Points expiring"),
            N_("Warn before loyalty points expire."),
            _points_expiring,
        ),
        Scenario(
            "complaint",
            N_("Complaint follow-up"),
            N_("A task for the owner when a complaint arrives."),
            _complaint,
        ),
    )
}


def _default_account(session: Session) -> SendingAccount:
    account = session.scalars(
        select(SendingAccount)
        .where(SendingAccount.channel == Channel.EMAIL, SendingAccount.archived_at.is_(None))
        .order_by(SendingAccount.id)
    ).first()
    if account is None:
        raise InvalidInput(
            "account_id: add an e-mail sending account in Settings first.",
            details={"field": "account_id"},
        )
    return account


def create_from_scenario(
    session: Session,
    key: str,
    *,
    account_id: int | None,
    language: str,
    user: User | None,
    now: datetime,
) -> Journey:
    scenario = SCENARIOS.get(key)
    if scenario is None:
        raise NotFound(f"There is no ready-made journey {key!r}.")
    account = session.get(SendingAccount, account_id) if account_id else _default_account(session)
    if account is None:
        raise NotFound(f"Sending account {account_id} does not exist.")
    ensure_prebuilt(session)
    lang = "ru" if language.startswith("ru") else "en"

    def send(texts: Texts) -> dict[str, Any]:
        subject, text = texts[lang]
        return {
            "kind": "send",
            "channel": account.channel.value,
            "account_id": account.id,
            "subject": subject,
            "text": text,
            "html": f"<p>{text}</p>",
        }

    def segment(segment_key: str) -> int:
        found = session.scalar(select(Segment.id).where(Segment.key == segment_key))
        assert found is not None  # ensure_prebuilt made it
        return found

    body = scenario.build(send, segment)
    data = JourneyIn(name=scenario.name, description=scenario.description, **body)
    return service.create_journey(session, data, user=user, now=now, template=key)
