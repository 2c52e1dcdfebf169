"""Redemptions racing for one balance, each in its own session and connection: the atomic
`UPDATE … WHERE balance >= n` lets exactly as many through as the points cover. On SQLite the
single writer serialises them; on PostgreSQL they really wait on the row lock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from retentio.errors import RetentioError
from retentio.loyalty import service
from retentio.loyalty.service import InsufficientPoints
from tests.loyalty.conftest import T0, Club

REDEMPTIONS = 100


def _race(club: Club, contact_id: int, keys: list[str], points: int) -> list[str]:
    """Run one redemption per key at once; returns each one's outcome."""
    start = threading.Barrier(len(keys))

    def redeem(key: str) -> str:
        start.wait()
        try:
            with club.session() as session:
                service.redeem(
                    session, contact_id, points, reason="", key=key, actor_id=None, now=T0
                )
        except InsufficientPoints:
            return "refused"
        except RetentioError as error:
            return error.code
        return "ok"

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return list(pool.map(redeem, keys))


def test_100_concurrent_redemptions_never_overdraw(club: Club) -> None:
    # given: 1,000 points
    anna = club.contact()
    club.grant(anna, 1000)
    # when: 100 tills redeem 15 points each at the same moment
    outcomes = _race(club, anna, [f"till-{n}" for n in range(REDEMPTIONS)], 15)
    # then: 66 × 15 = 990 spent, 10 left, and the ledger agrees
    assert outcomes.count("ok") == 66
    assert outcomes.count("refused") == 34
    assert club.balance(anna) == 10
    assert club.ledger_sum(anna) == 10


def test_concurrent_retries_of_one_key_debit_once(club: Club) -> None:
    # given
    anna = club.contact()
    club.grant(anna, 1000)
    # when: the same request arrives 20 times at once
    outcomes = _race(club, anna, ["receipt-42"] * 20, 15)
    # then
    assert outcomes == ["ok"] * 20
    assert club.balance(anna) == 985
    assert club.ledger_sum(anna) == 985
