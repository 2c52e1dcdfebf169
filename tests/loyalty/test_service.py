"""The points ledger: earning by the programme's rates, reversals, redeeming, adjusting,
expiry and tiers at frozen times, idempotent keys, and the balance always equal to the
ledger's sum."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from retentio.commerce.models import OrderStatus
from retentio.events.models import Event
from retentio.loyalty import service
from retentio.loyalty.models import Account, Entry
from retentio.loyalty.service import InsufficientPoints, KeyReused
from tests.loyalty.conftest import T0, Club


def test_an_order_earns_by_category_and_tier_rates(club: Club) -> None:
    # given: 5 points per 100, coffee counts double, the contact is Gold (×1.5)
    club.programme(category_rates={"coffee": "2"})
    gold = club.tier("Gold", "0", multiplier="1.5")
    anna = club.contact()
    with club.session() as session:
        service.ensure_account(session, anna, now=T0)
        session.execute(
            Account.__table__.update().where(Account.contact_id == anna).values(tier_id=gold)
        )
    order = club.order(anna, [("coffee", "400.00"), ("tea", "600.00")])
    # when
    earned = club.earn(order)
    # then: floor(1000 × (800 + 600) / 1000 × 0.05 × 1.5) = 105
    assert earned == 105
    assert club.entries(anna) == [("earn", 105, f"order:{order}:earn")]
    assert club.balance(anna) == 105


def test_earning_twice_writes_one_entry_and_the_welcome_bonus_once(club: Club) -> None:
    # given
    club.programme(welcome_bonus=100)
    anna = club.contact()
    first = club.order(anna, [(None, "1000.00")])
    second = club.order(anna, [(None, "500.00")])
    # when: the worker runs each order's job twice
    results = [club.earn(first), club.earn(first), club.earn(second), club.earn(second)]
    # then
    assert results == [50, 0, 25, 0]
    assert club.entries(anna) == [
        ("earn", 100, f"welcome:{anna}"),
        ("earn", 50, f"order:{first}:earn"),
        ("earn", 25, f"order:{second}:earn"),
    ]
    assert club.balance(anna) == 175


def test_a_disabled_programme_or_an_unpaid_order_earns_nothing(club: Club) -> None:
    # given
    club.programme(enabled=False)
    anna = club.contact()
    paid = club.order(anna, [(None, "1000.00")])
    club.programme(enabled=True)
    placed = club.order(anna, [(None, "1000.00")], status=OrderStatus.PLACED)
    club.programme(enabled=False)
    # when
    results = [club.earn(paid), club.earn(placed)]
    # then
    assert results == [0, 0]
    assert club.entries(anna) == []


def test_refunds_are_reversed_by_compensating_entries_never_edits(club: Club) -> None:
    # given: 50 points earned on an order of 1000
    club.programme()
    anna = club.contact()
    order = club.order(anna, [(None, "1000.00")], external_id="SO-9")
    club.earn(order)
    # when: a partial refund of 250, then the whole order refunded, each job run twice
    club.order(anna, [(None, "1000.00")], external_id="SO-9", refunded="250.00")
    partial = [club.earn(order), club.earn(order)]
    club.order(anna, [(None, "1000.00")], external_id="SO-9", status=OrderStatus.REFUNDED)
    full = [club.earn(order), club.earn(order)]
    # then: 50 → 37 (floor of 50 × 750 / 1000) → 0
    assert partial == [-13, 0]
    assert full == [-37, 0]
    assert club.entries(anna) == [
        ("earn", 50, f"order:{order}:earn"),
        ("adjust", -13, f"order:{order}:reverse:37"),
        ("adjust", -37, f"order:{order}:reverse"),
    ]
    assert club.balance(anna) == 0


def test_a_cancelled_order_is_reversed_in_full(club: Club) -> None:
    # given
    club.programme()
    anna = club.contact()
    order = club.order(anna, [(None, "600.00")], external_id="SO-10")
    club.earn(order)
    # when
    club.order(anna, [(None, "600.00")], external_id="SO-10", status=OrderStatus.CANCELLED)
    taken = club.earn(order)
    # then
    assert taken == -30
    assert club.balance(anna) == 0


def test_redeeming_with_the_same_key_twice_debits_once(club: Club) -> None:
    # given
    club.programme()
    anna = club.contact()
    club.grant(anna, 500)
    # when
    with club.session() as session:
        first = service.redeem(
            session, anna, 120, reason="till", key="pos-1", actor_id=None, now=T0
        ).id
    with club.session() as session:
        again = service.redeem(
            session, anna, 120, reason="till", key="pos-1", actor_id=None, now=T0
        ).id
    # then
    assert again == first
    assert club.balance(anna) == 380
    assert [e[:2] for e in club.entries(anna)] == [("adjust", 500), ("redeem", -120)]


def test_a_key_used_for_another_redemption_is_refused(club: Club) -> None:
    # given
    anna, boris = club.contact(), club.contact()
    club.grant(anna, 500)
    club.grant(boris, 500)
    with club.session() as session:
        service.redeem(session, anna, 100, reason="", key="pos-2", actor_id=None, now=T0)
    # when / then
    with pytest.raises(KeyReused), club.session() as session:
        service.redeem(session, boris, 100, reason="", key="pos-2", actor_id=None, now=T0)
    assert club.balance(boris) == 500


def test_redeeming_more_than_the_balance_is_refused_naming_it(club: Club) -> None:
    # given
    anna = club.contact()
    club.grant(anna, 90)
    # when
    with pytest.raises(InsufficientPoints) as refused, club.session() as session:
        service.redeem(session, anna, 100, reason="", key="pos-3", actor_id=None, now=T0)
    # then: nothing written, and the same key may be used once points are there
    assert refused.value.status == 409
    assert refused.value.details == {"field": "points", "balance": 90}
    assert club.entries(anna) == [("adjust", 90, club.entries(anna)[0][2])]
    club.grant(anna, 10)
    with club.session() as session:
        service.redeem(session, anna, 100, reason="", key="pos-3", actor_id=None, now=T0)
    assert club.balance(anna) == 0


def test_expiry_takes_the_oldest_points_first_and_runs_twice_harmlessly(club: Club) -> None:
    # given: points live 30 days; 100 earned at T0, 30 spent on day 5, 50 earned on day 10
    club.programme(expiry_days=30)
    anna = club.contact()
    club.earn(club.order(anna, [(None, "2000.00")]), at=T0)
    with club.session() as session:
        service.redeem(
            session, anna, 30, reason="", key="d5", actor_id=None, now=T0 + timedelta(days=5)
        )
    club.earn(club.order(anna, [(None, "1000.00")]), at=T0 + timedelta(days=10))

    def expire(days: int) -> int:
        with club.session() as session:
            return service.expire(session, now=T0 + timedelta(days=days))

    # when
    runs = [expire(29), expire(30), expire(30), expire(39), expire(40), expire(41)]
    # then: day 30 expires what is left of the first 100 (70), day 40 the second 50
    assert runs == [0, 70, 0, 0, 50, 0]
    assert [e[:2] for e in club.entries(anna)] == [
        ("earn", 100),
        ("redeem", -30),
        ("earn", 50),
        ("expire", -70),
        ("expire", -50),
    ]
    assert club.balance(anna) == 0 == club.ledger_sum(anna)


def test_a_reversed_order_does_not_shield_older_points_from_expiry(club: Club) -> None:
    # given: 50 points (expire day 30), then 100 more on day 1 that a refund takes back
    club.programme(expiry_days=30)
    anna = club.contact()
    club.earn(club.order(anna, [(None, "1000.00")]), at=T0)
    later = club.order(anna, [(None, "2000.00")], external_id="SO-R")
    club.earn(later, at=T0 + timedelta(days=1))
    club.order(anna, [(None, "2000.00")], external_id="SO-R", status=OrderStatus.REFUNDED)
    club.earn(later, at=T0 + timedelta(days=2))
    # when
    with club.session() as session:
        expired = service.expire(session, now=T0 + timedelta(days=30))
    # then
    assert expired == 50
    assert club.balance(anna) == 0 == club.ledger_sum(anna)


def test_tiers_follow_revenue_over_the_rolling_window(club: Club) -> None:
    # given: Silver from 10,000, Gold from 50,000 over 365 days
    club.programme(tier_window_days=365)
    club.tier("Silver", "10000")
    gold = club.tier("Gold", "50000")
    anna, boris, vera = club.contact(), club.contact(), club.contact()
    for contact in (anna, boris, vera):
        club.grant(contact, 1)
    club.order(anna, [(None, "30000.00")], placed_at=T0 - timedelta(days=400))
    club.order(anna, [(None, "20000.00")], placed_at=T0 - timedelta(days=10))
    club.order(boris, [(None, "70000.00")], placed_at=T0 - timedelta(days=5), refunded="15000.00")
    club.order(vera, [(None, "90000.00")], placed_at=T0, status=OrderStatus.CANCELLED)

    def recalculate(days: int) -> list[int]:
        with club.session() as session:
            return service.recalculate_tiers(session, now=T0 + timedelta(days=days))

    # when: today, again today, and once Anna's order has left the window (Boris's has not)
    runs = [recalculate(0), recalculate(0), recalculate(356)]
    # then
    assert runs == [[anna, boris], [], [anna]]
    with club.session() as session:
        tiers = dict(session.execute(select(Account.contact_id, Account.tier_id)).all())
        events = session.execute(
            select(Event.contact_id, Event.properties, Event.occurred_at)
            .where(Event.type == "tier_changed")
            .order_by(Event.id)
        ).all()
    assert tiers == {anna: None, boris: gold, vera: None}
    assert [(c, p) for c, p, _at in events] == [
        (anna, {"from": None, "to": "Silver"}),
        (boris, {"from": None, "to": "Gold"}),
        (anna, {"from": "Silver", "to": None}),
    ]
    assert [at for _c, _p, at in events] == [T0, T0, T0 + timedelta(days=356)]


def test_birthday_bonus_once_a_year(club: Club) -> None:
    # given: T0 is 2 March; Anna is born on 2 March, Boris on 3 March
    club.programme(birthday_bonus=200)
    anna = club.contact(birthday=date(1990, 3, 2))
    boris = club.contact(birthday=date(1991, 3, 3))
    for contact in (anna, boris):
        club.grant(contact, 1)
    # when
    with club.session() as session:
        first = service.birthday_bonuses(session, now=T0)
    with club.session() as session:
        again = service.birthday_bonuses(session, now=T0 + timedelta(hours=3))
    # then
    assert (first, again) == (1, 0)
    assert club.entries(anna)[-1] == ("earn", 200, f"birthday:{anna}:2026")
    assert club.balance(boris) == 1


def test_the_balance_always_equals_the_ledger_sum(club: Club) -> None:
    # given: earn, redeem, a refund's reversal, expiry and an admin's adjustment
    club.programme(expiry_days=30, welcome_bonus=20)
    anna = club.contact()
    first = club.order(anna, [(None, "4000.00")], external_id="SO-A")
    second = club.order(anna, [(None, "2000.00")], external_id="SO-B")
    balances = []
    # when
    club.earn(first)
    balances.append((club.balance(anna), club.ledger_sum(anna)))
    club.earn(second, at=T0 + timedelta(days=20))
    balances.append((club.balance(anna), club.ledger_sum(anna)))
    with club.session() as session:
        service.redeem(
            session, anna, 150, reason="", key="r1", actor_id=None, now=T0 + timedelta(days=21)
        )
    balances.append((club.balance(anna), club.ledger_sum(anna)))
    club.order(anna, [(None, "2000.00")], external_id="SO-B", refunded="1000.00")
    club.earn(second, at=T0 + timedelta(days=22))
    balances.append((club.balance(anna), club.ledger_sum(anna)))
    with club.session() as session:
        service.expire(session, now=T0 + timedelta(days=31))
    balances.append((club.balance(anna), club.ledger_sum(anna)))
    with club.session() as session:
        service.adjust(session, anna, -5, reason="typo", actor_id=None, now=T0 + timedelta(days=32))
    balances.append((club.balance(anna), club.ledger_sum(anna)))
    # then: 20+200 → +100 → −150 → −50 → expire 70 (220 due − 150 spent) → −5
    assert balances == [(220, 220), (320, 320), (170, 170), (120, 120), (50, 50), (45, 45)]
    with club.session() as session:
        kinds = session.scalars(
            select(Entry.kind).where(Entry.contact_id == anna).order_by(Entry.id)
        ).all()
    assert [k.value for k in kinds] == [
        "earn",
        "earn",
        "earn",
        "redeem",
        "adjust",
        "expire",
        "adjust",
    ]
