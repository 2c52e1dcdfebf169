"""Segment rules on loyalty: points and tier, compiled to SQL, on hand-made accounts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from retentio.db import session_scope
from retentio.errors import InvalidInput
from retentio.loyalty.models import Account
from retentio.segments import queries
from tests.loyalty.conftest import T0, Club


def _matching(club: Club, rule: dict[str, Any]) -> set[int]:
    with session_scope(club.url) as session:
        node = queries.checked_rule(session, rule)
        return set(session.scalars(queries.compiled(session, node, now=T0).ids()))


def test_points_and_tier_select_contacts(club: Club) -> None:
    # given Gold and Silver tiers, contacts with 0 (no account), 150 and 500 points
    silver = club.tier("Серебро", "10000")
    gold = club.tier("Золото", "40000")
    nobody, some, many = club.contact(), club.contact(), club.contact()
    with session_scope(club.url) as session:
        session.add_all(
            [
                Account(contact_id=some, balance=150, tier_id=silver, updated_at=T0),
                Account(contact_id=many, balance=500, tier_id=gold, updated_at=T0),
            ]
        )
    # when rules on points and tier are evaluated
    at_least_150 = _matching(club, {"field": "loyalty.balance", "op": "ge", "value": 150})
    under_200 = _matching(club, {"field": "loyalty.balance", "op": "lt", "value": 200})
    gold_only = _matching(club, {"field": "loyalty.tier", "op": "eq", "value": "Золото"})
    no_tier = _matching(club, {"field": "loyalty.tier", "op": "is_empty"})
    # then contacts outside the programme count as zero points and no tier
    assert at_least_150 == {some, many}
    assert under_200 == {nobody, some}
    assert gold_only == {many}
    assert no_tier == {nobody}
    with session_scope(club.url) as session:  # a tier change shows at the next evaluation
        session.execute(update(Account).where(Account.contact_id == some).values(tier_id=gold))
    assert _matching(club, {"field": "loyalty.tier", "op": "eq", "value": "Золото"}) == {some, many}


def test_an_unknown_tier_is_refused_naming_the_node(club: Club) -> None:
    club.tier("Серебро", "10000")
    with pytest.raises(InvalidInput) as refused:
        _matching(club, {"field": "loyalty.tier", "op": "eq", "value": "Платина"})
    assert "rule" in str(refused.value.details)
