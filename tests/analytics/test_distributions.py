"""The RFM grid, CLV deciles, the P(alive) histogram and the lifecycle flow, on both engines."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from retentio.analytics.distributions import (
    clv_deciles,
    lifecycle_flow,
    p_alive_histogram,
    rfm_grid,
)
from retentio.predict.rfm import Segment
from tests.analytics.helpers import change, contact, day, profile


def test_rfm_grid_counts_every_cell(db: Session) -> None:
    # given: two champions (R5 F5), one lost (R1 F1), a deleted contact's and a non-buyer's
    for revenue in ("100.00", "200.00"):
        profile(db, contact(db), r_score=5, f_score=5, revenue=Decimal(revenue))
    profile(db, contact(db), r_score=1, f_score=1, revenue=Decimal("10.00"))
    profile(db, contact(db, deleted_at=day("2026-01-01")), r_score=5, f_score=5)
    profile(db, contact(db))
    # when
    cells = rfm_grid(db)
    # then: 25 cells, R from 5 down, F from 1 up
    assert len(cells) == 25
    assert [(c.recency, c.frequency) for c in cells[:6]] == [
        (5, 1), (5, 2), (5, 3), (5, 4), (5, 5), (4, 1),
    ]  # fmt: skip
    by_cell = {(c.recency, c.frequency): c for c in cells}
    champions = by_cell[(5, 5)]
    assert (champions.segment, champions.customers, champions.revenue) == (
        Segment.CHAMPIONS, 2, Decimal("300.00"),
    )  # fmt: skip
    lost = by_cell[(1, 1)]
    assert (lost.segment, lost.customers, lost.revenue) == (Segment.LOST, 1, Decimal("10.00"))
    assert sum(c.customers for c in cells) == 3


def test_clv_deciles_of_23_customers(db: Session) -> None:
    # given: CLV 1 … 23 and revenue twice that; a contact without CLV and a deleted one
    for clv in range(1, 24):
        profile(db, contact(db), clv_12m=Decimal(clv), revenue=Decimal(2 * clv))
    profile(db, contact(db), revenue=Decimal("5000.00"))
    profile(db, contact(db, deleted_at=day("2026-01-01")), clv_12m=Decimal("999.00"))
    # when
    deciles = clv_deciles(db)
    # then: NTILE(10) over 23 gives 3, 3, 3 and then 2 each, the highest CLV first
    got = [(d.decile, d.customers, d.clv_min, d.clv_max) for d in deciles]
    assert got == [
        (1, 3, 21, 23), (2, 3, 18, 20), (3, 3, 15, 17), (4, 2, 13, 14), (5, 2, 11, 12),
        (6, 2, 9, 10), (7, 2, 7, 8), (8, 2, 5, 6), (9, 2, 3, 4), (10, 2, 1, 2),
    ]  # fmt: skip
    first, last = deciles[0], deciles[-1]
    assert (first.clv_mean, first.revenue_mean, first.revenue_total) == (
        Decimal("22.00"), Decimal("44.00"), Decimal("132.00"),
    )  # fmt: skip
    assert (last.clv_mean, last.revenue_mean) == (Decimal("1.50"), Decimal("3.00"))


def test_clv_ties_are_broken_by_contact_id(db: Session) -> None:
    # given: eleven customers with the same CLV: the first decile takes two, by contact id
    ids = [contact(db) for _ in range(11)]
    for n, contact_id in enumerate(ids):
        profile(db, contact_id, clv_12m=Decimal("10.00"), revenue=Decimal(n))
    # when
    deciles = clv_deciles(db)
    # then: the lowest ids (revenue 0 and 1) are decile 1
    assert [d.customers for d in deciles] == [2] + [1] * 9
    assert deciles[0].revenue_total == Decimal("1.00")
    assert deciles[-1].revenue_total == Decimal("10.00")


def test_p_alive_in_20_bins(db: Session) -> None:
    # given: values on and near the edges; a contact without P(alive)
    for p in (0.0, 0.049, 0.05, 0.5, 0.999, 1.0):
        profile(db, contact(db), p_alive=p)
    profile(db, contact(db))
    # when
    bins = p_alive_histogram(db)
    # then: each bin is [low, high), the last one holds 1.0
    assert len(bins) == 20
    assert (bins[0].low, bins[0].high, bins[-1].low, bins[-1].high) == (0.0, 0.05, 0.95, 1.0)
    counts = {k: b.customers for k, b in enumerate(bins) if b.customers}
    assert counts == {0: 2, 1: 1, 10: 1, 19: 2}


def test_lifecycle_flow_per_month(db: Session) -> None:
    # given: now 2026-03-15, three months: January, February, March
    a, b, c = contact(db, "A"), contact(db, "B"), contact(db, "C")
    gone = contact(db, "D", deleted_at=day("2026-03-01"))
    change(db, a, None, "attraction", "2026-01-03")
    change(db, a, "attraction", "purchase", "2026-02-10")
    change(db, a, "purchase", "loyalty", "2026-03-01")
    change(db, b, None, "purchase", "2026-01-31T23:59:59")
    change(db, b, "purchase", "churned", "2026-03-14")
    change(db, c, None, "attraction", "2025-12-31T23:59:59")  # before the window
    change(db, c, "attraction", "purchase", "2026-01-01T00:00:00")
    change(db, gone, None, "purchase", "2026-02-01")  # a deleted contact's
    # when
    flow = lifecycle_flow(db, day("2026-03-15"), months=3)
    # then
    assert [m.isoformat() for m in flow.months] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    got = [(t.from_stage, t.to_stage, t.per_month) for t in flow.transitions]
    assert got == [
        ("attraction", "purchase", (1, 1, 0)),
        (None, "attraction", (1, 0, 0)),
        (None, "purchase", (1, 0, 0)),
        ("purchase", "churned", (0, 0, 1)),
        ("purchase", "loyalty", (0, 0, 1)),
    ]
    assert flow.month_totals() == [3, 1, 2]
    assert flow.total == 6


def test_no_profiles_and_no_changes(db: Session) -> None:
    assert all(cell.customers == 0 for cell in rfm_grid(db))
    assert clv_deciles(db) == []
    assert sum(b.customers for b in p_alive_histogram(db)) == 0
    flow = lifecycle_flow(db, day("2026-03-15"))
    assert (len(flow.months), flow.transitions, flow.month_totals()) == (12, (), [0] * 12)
