"""Every leaf kind and combinator: the compiled SQL selects exactly the contacts a brute-force
Python evaluation of the same rule selects, over the same generated shop, on the engine under
test (SQLite, or PostgreSQL with RETENTIO_TEST_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.db import get_engine, session_scope
from retentio.segments import queries
from retentio.segments.catalog import load_catalog
from retentio.segments.compiler import anniversary_days, compile_rule
from retentio.segments.models import Segment, SegmentKind, SegmentMember
from retentio.segments.rules import parse_rule
from tests.conftest import _empty_all_tables
from tests.segments import brute
from tests.segments.world import NOW, World, build, snapshot


def F(field: str, op: str, value: Any = None) -> dict[str, Any]:  # noqa: N802 - reads like a rule
    return (
        {"field": field, "op": op, "value": value}
        if value is not None
        else {"field": field, "op": op}
    )


LEAVES: list[tuple[str, dict[str, Any]]] = [
    # contact fields: strings
    ("city eq", F("contact.city", "eq", "Moscow")),
    ("city ne", F("contact.city", "ne", "Moscow")),
    ("city in", F("contact.city", "in", ["Kazan", "Perm"])),
    ("city not_in", F("contact.city", "not_in", ["Kazan", "Perm"])),
    ("city contains, case-insensitive", F("contact.city", "contains", "MOS")),
    ("city contains a LIKE wildcard", F("contact.city", "contains", "%")),
    ("city contains an underscore", F("contact.city", "contains", "_")),
    ("city not_contains", F("contact.city", "not_contains", "mos")),
    ("first name starts_with", F("contact.first_name", "starts_with", "ann")),
    ("first name ends_with", F("contact.first_name", "ends_with", "RIA")),
    ("city is_empty", F("contact.city", "is_empty")),
    ("city is_not_empty", F("contact.city", "is_not_empty")),
    ("gender choice", F("contact.gender", "eq", "f")),
    ("telegram is_not_empty", F("contact.telegram", "is_not_empty")),
    # contact dates
    ("birthday before", F("contact.birthday", "before", "1980-01-01")),
    ("birthday after", F("contact.birthday", "after", "1990-06-01")),
    ("birthday between", F("contact.birthday", "between", ["1980-01-01", "1990-12-31"])),
    ("birthday on", F("contact.birthday", "on", "1992-02-29")),
    ("birthday in 7 days across the year end", F("contact.birthday", "anniversary_within_next", 7)),
    ("birthday today", F("contact.birthday", "anniversary_within_next", 0)),
    ("signed up this month", F("contact.created_at", "in_current", "month")),
    ("signed up this week", F("contact.created_at", "in_current", "week")),
    ("signed up today", F("contact.created_at", "in_current", "day")),
    ("signed up this year", F("contact.created_at", "in_current", "year")),
    ("signed up within 30 days", F("contact.created_at", "within_last", 30)),
    ("signed up over 30 days ago", F("contact.created_at", "more_than_days_ago", 30)),
    ("signed up on a day", F("contact.created_at", "on", "2025-12-25")),
    # custom fields, typed by their definitions
    ("custom string eq", F("custom.level", "eq", "gold")),
    ("custom string starts_with", F("custom.level", "starts_with", "GOLD")),
    ("custom string is_empty", F("custom.level", "is_empty")),
    ("custom number gt (text is no number)", F("custom.score", "gt", 2)),
    ("custom number eq", F("custom.score", "eq", 7)),
    ("custom number le negative", F("custom.score", "le", -1)),
    ("custom number between", F("custom.score", "between", [0, 2.5])),
    ("custom number ne", F("custom.score", "ne", 7)),
    ("custom number is_empty", F("custom.score", "is_empty")),
    ("custom date within_last", F("custom.anniversary", "within_last", 60)),
    ("custom date within_next", F("custom.anniversary", "within_next", 30)),
    ("custom date before", F("custom.anniversary", "before", "2025-06-01")),
    ("custom date anniversary", F("custom.anniversary", "anniversary_within_next", 20)),
    ("custom boolean true", F("custom.vip", "eq", True)),
    ("custom boolean false", F("custom.vip", "eq", False)),
    ("custom boolean is_empty", F("custom.vip", "is_empty")),
    ("custom choice in", F("custom.plan", "in", ["pro", "team"])),
    ("custom choice ne", F("custom.plan", "ne", "free")),
    ("custom multi has_any", F("custom.interests", "has_any", ["yoga", "tennis"])),
    ("custom multi has_all", F("custom.interests", "has_all", ["yoga", "running"])),
    ("custom multi has_none", F("custom.interests", "has_none", ["yoga"])),
    ("custom multi is_empty", F("custom.interests", "is_empty")),
    ("custom multi is_not_empty", F("custom.interests", "is_not_empty")),
    # company fields (a deleted company counts as none)
    ("company industry", F("company.industry", "eq", "retail")),
    ("company city ne", F("company.city", "ne", "Moscow")),
    ("company is_empty", F("company.name", "is_empty")),
    ("company custom choice", F("company.custom.tier", "eq", "a")),
    # profile traits
    ("rfm segment in", F("profile.rfm_segment", "in", ["at_risk", "lost"])),
    ("rfm segment ne", F("profile.rfm_segment", "ne", "champions")),
    ("r score ge", F("profile.r_score", "ge", 4)),
    ("p_alive lt", F("profile.p_alive", "lt", 0.5)),
    ("clv between", F("profile.clv_12m", "between", [100, 500])),
    ("clv top 10 %", F("profile.clv_12m", "top_percent", 10)),
    ("clv top 50 %", F("profile.clv_12m", "top_percent", 50)),
    ("clv top 2.5 %, a fraction", F("profile.clv_12m", "top_percent", 2.5)),
    ("clv top 33.3 %", F("profile.clv_12m", "top_percent", 33.3)),
    ("clv top 0.1 %: the highest value at least", F("profile.clv_12m", "top_percent", 0.1)),
    ("clv top 100 %: all but the lowest value", F("profile.clv_12m", "top_percent", 100)),
    ("revenue gt", F("profile.revenue", "gt", 500.25)),
    ("orders eq", F("profile.orders", "eq", 3)),
    ("churn band", F("profile.churn_band", "eq", "high")),
    ("lifecycle stage", F("profile.lifecycle_stage", "in", ["loyalty", "purchase"])),
    ("last order over 90 days ago", F("profile.last_order_at", "more_than_days_ago", 90)),
    ("last order within 30 days", F("profile.last_order_at", "within_last", 30)),
    ("no profile value", F("profile.rfm_segment", "is_empty")),
    # tags
    ("tag any", {"tags": ["vip", "b2b"]}),
    ("tag all", {"tags": ["vip", "b2b"], "match": "all"}),
    ("tag negated", {"tags": ["vip"], "negate": True}),
    # events
    ("event at all", {"event": "email_click"}),
    ("event within 30 days", {"event": "email_click", "within_days": 30}),
    ("event between dates", {"event": "page_view", "between": ["2025-11-01", "2025-11-30"]}),
    ("event count ge 2", {"event": "page_view", "count": {"op": ">=", "value": 2}}),
    ("event count eq 1", {"event": "page_view", "count": {"op": "eq", "value": 1}}),
    ("event count lt 2 includes none", {"event": "page_view", "count": {"op": "lt", "value": 2}}),
    (
        "event absent (count 0)",
        {"event": "cart_add", "within_days": 30, "count": {"op": "eq", "value": 0}},
    ),
    ("event absent (negate)", {"event": "cart_add", "within_days": 30, "negate": True}),
    ("event count ne 1", {"event": "page_view", "count": {"op": "ne", "value": 1}}),
    (
        "event property text eq",
        {"event": "page_view", "where": [{"property": "url", "op": "eq", "value": "/shoes"}]},
    ),
    (
        "event property contains",
        {"event": "page_view", "where": [{"property": "url", "op": "contains", "value": "shoes"}]},
    ),
    (
        "event property starts_with",
        {
            "event": "page_view",
            "where": [{"property": "url", "op": "starts_with", "value": "/bags"}],
        },
    ),
    (
        "event property number gt",
        {"event": "page_view", "where": [{"property": "price", "op": "gt", "value": 20}]},
    ),
    (
        "event property number eq",
        {"event": "cart_add", "where": [{"property": "price", "op": "eq", "value": 25.5}]},
    ),
    (
        "event property text-number eq",
        {"event": "cart_add", "where": [{"property": "price", "op": "eq", "value": "25.5"}]},
    ),
    (
        "event property between",
        {"event": "cart_add", "where": [{"property": "price", "op": "between", "value": [0, 30]}]},
    ),
    (
        "event property in",
        {
            "event": "page_view",
            "where": [{"property": "url", "op": "in", "value": ["/", "/shoes", 99]}],
        },
    ),
    (
        "event property boolean",
        {"event": "page_view", "where": [{"property": "new", "op": "eq", "value": True}]},
    ),
    (
        "event property exists",
        {"event": "email_click", "where": [{"property": "new", "op": "exists"}]},
    ),
    (
        "event property not_exists",
        {"event": "email_click", "where": [{"property": "new", "op": "not_exists"}]},
    ),
    (
        "event property ne",
        {"event": "page_view", "where": [{"property": "url", "op": "ne", "value": "/"}]},
    ),
    (
        "event two properties and a count",
        {
            "event": "page_view",
            "within_days": 60,
            "where": [
                {"property": "url", "op": "contains", "value": "s"},
                {"property": "price", "op": "ge", "value": 10},
            ],
            "count": {"op": "ge", "value": 1},
        },
    ),
    # orders
    ("bought anything", {"bought": {}}),
    ("bought a category within a year", {"bought": {"category": "shoes"}, "within_days": 365}),
    ("bought a product", {"bought": {"product": "SKU-1"}}),
    (
        "bought product and category on one item",
        {"bought": {"product": "SKU-1", "category": "bags"}},
    ),
    ("bought between dates", {"bought": {}, "between": ["2025-01-01", "2025-06-30"]}),
    ("order amount ge", {"bought": {}, "amount": {"op": "ge", "value": 200}}),
    ("order count ge 2", {"bought": {}, "count": {"op": "ge", "value": 2}}),
    ("order count le 1 includes none", {"bought": {}, "count": {"op": "le", "value": 1}}),
    ("never bought shoes", {"bought": {"category": "shoes"}, "count": {"op": "eq", "value": 0}}),
    ("order total gt", {"bought": {}, "total": {"op": "gt", "value": 300}}),
    (
        "order total lt includes none",
        {"bought": {}, "within_days": 180, "total": {"op": "lt", "value": 100}},
    ),
    # consent and reachability
    ("consent granted", {"consent": "email"}),
    ("consent withdrawn", {"consent": "sms", "status": "withdrawn"}),
    ("consent unknown", {"consent": "telegram", "status": "unknown"}),
    ("transactional consent", {"consent": "email", "purpose": "transactional"}),
    ("reachable by email", {"reachable": "email"}),
    ("reachable by sms", {"reachable": "sms"}),
    ("reachable by telegram", {"reachable": "telegram"}),
    ("not reachable by email", {"reachable": "email", "negate": True}),
]
COMBINED: list[tuple[str, dict[str, Any]]] = [
    ("all", {"all": [F("profile.rfm_segment", "in", ["at_risk", "lost"]), {"reachable": "email"}]}),
    ("any", {"any": [F("contact.city", "eq", "Kazan"), {"tags": ["vip"]}]}),
    ("not", {"not": F("contact.city", "eq", "Moscow")}),
    ("not over an any", {"not": {"any": [{"event": "email_click"}, {"consent": "email"}]}}),
    ("empty all is everyone", {"all": []}),
    ("empty any is no one", {"any": []}),
    (
        "typical four conditions",
        {
            "all": [
                F("profile.rfm_segment", "in", ["at_risk", "champions", "loyal", "new"]),
                {"event": "page_view", "within_days": 60},
                F("contact.city", "in", ["Moscow", "Kazan", "Perm"]),
                {"reachable": "email"},
            ]
        },
    ),
    (
        "nested",
        {
            "any": [
                {"all": [{"bought": {"category": "bags"}}, {"not": {"tags": ["b2b"]}}]},
                {
                    "all": [
                        F("custom.vip", "eq", True),
                        {"any": [F("custom.score", "ge", 5), F("custom.level", "is_empty")]},
                    ]
                },
            ]
        },
    ),
]


@pytest.fixture(scope="module")
def shop(database_url: str) -> Iterator[tuple[str, World]]:
    _empty_all_tables(database_url)
    with session_scope(database_url) as session:
        build(session)
    with session_scope(database_url) as session:
        world = snapshot(session)
        session.expunge_all()
    yield database_url, world
    _empty_all_tables(database_url)


def _sql_members(
    session: Session, rule: dict[str, Any], *, now: datetime, correlate: bool = False
) -> set[int]:
    node = queries.checked_rule(session, rule)
    ctx = queries.context(session, now=now, correlate=correlate)
    return set(session.scalars(compile_rule(node, ctx).ids()))


@pytest.mark.parametrize(("name", "rule"), LEAVES + COMBINED, ids=[n for n, _ in LEAVES + COMBINED])
def test_compiled_rule_selects_what_brute_force_selects(
    shop: tuple[str, World], name: str, rule: dict[str, Any]
) -> None:
    url, world = shop
    with session_scope(url, write=False) as session:
        # given the shop, when the rule is compiled and run (both sub-query shapes)
        found = _sql_members(session, rule, now=NOW)
        correlated = _sql_members(session, rule, now=NOW, correlate=True)
        catalog = load_catalog(session)
    # then it matches the naive evaluation exactly
    expected = brute.members(parse_rule(rule), world, catalog, now=NOW)
    assert found == expected, (
        f"{name}: extra {sorted(found - expected)}, missing {sorted(expected - found)}"
    )
    assert correlated == expected


def test_the_cases_are_not_trivial(shop: tuple[str, World]) -> None:
    """A rule that selects no one (or everyone) would agree with any evaluator."""
    _url, world = shop
    live = {c.id for c in world.contacts if brute.is_live(c)}
    with session_scope(shop[0], write=False) as session:
        catalog = load_catalog(session)
    trivial = [
        name
        for name, rule in LEAVES + COMBINED
        if not name.startswith("empty")
        and brute.members(parse_rule(rule), world, catalog, now=NOW) in (set(), live)
    ]
    assert not trivial, ", ".join(trivial)


def test_segment_membership_leaf_inlines_dynamic_rules_and_reads_static_members(
    shop: tuple[str, World],
) -> None:
    url, world = shop
    inner_rule = {"all": [F("contact.city", "eq", "Moscow"), {"reachable": "sms"}]}
    with session_scope(url) as session:
        dynamic = Segment(name="inner", kind=SegmentKind.DYNAMIC, rule=inner_rule)
        static = Segment(name="list", kind=SegmentKind.STATIC)
        session.add_all([dynamic, static])
        session.flush()
        picked = [c.id for c in world.contacts[:40:3]]
        session.add_all(SegmentMember(segment_id=static.id, contact_id=i) for i in picked)
        ids = dynamic.id, static.id
    world.static_members[ids[1]] = set(picked)
    rule = {"any": [{"segment": ids[0]}, {"segment": ids[1], "negate": True}]}
    try:
        with session_scope(url, write=False) as session:
            found = _sql_members(session, rule, now=NOW)
            catalog = load_catalog(session)
        expected = brute.members(
            parse_rule(rule),
            world,
            catalog,
            now=NOW,
            rules=lambda i: inner_rule if i == ids[0] else None,
        )
        assert found == expected
        assert 0 < len(found) < len(world.contacts)
    finally:
        with get_engine(url).begin() as connection:
            connection.execute(Segment.__table__.delete())
            del world.static_members[ids[1]]


@pytest.mark.parametrize(
    ("today", "days", "expected"),
    [
        # across the year end
        (date(2025, 12, 30), 4, ["01-01", "01-02", "01-03", "12-30", "12-31"]),
        # 28 February of a non-leap year celebrates 29 February too
        (date(2025, 2, 27), 1, ["02-27", "02-28", "02-29"]),
        (date(2025, 3, 1), 0, ["03-01"]),
        # in a leap year 29 February is its own day
        (date(2024, 2, 28), 0, ["02-28"]),
        (date(2024, 2, 28), 1, ["02-28", "02-29"]),
    ],
)
def test_anniversary_windows(today: date, days: int, expected: list[str]) -> None:
    assert anniversary_days(today, days) == expected


@pytest.mark.parametrize(
    ("now", "days", "born", "inside"),
    [
        (datetime(2025, 12, 30, 9, tzinfo=UTC), 4, date(1985, 1, 3), True),
        (datetime(2025, 12, 30, 9, tzinfo=UTC), 4, date(1985, 1, 4), False),
        (datetime(2025, 12, 30, 9, tzinfo=UTC), 4, date(1999, 12, 29), False),
        (datetime(2025, 2, 28, 9, tzinfo=UTC), 0, date(1992, 2, 29), True),
        (datetime(2024, 2, 28, 9, tzinfo=UTC), 0, date(1992, 2, 29), False),
        (datetime(2024, 2, 29, 9, tzinfo=UTC), 0, date(1992, 2, 29), True),
        (datetime(2025, 3, 1, 9, tzinfo=UTC), 0, date(1992, 2, 29), False),
    ],
)
def test_birthday_rule_with_a_fixed_now(
    settings: Any, now: datetime, days: int, born: date, inside: bool
) -> None:
    with session_scope(settings.database_url) as session:
        session.add(Contact(first_name="B", birthday=born, custom={}))
    with session_scope(settings.database_url, write=False) as session:
        found = _sql_members(
            session, F("contact.birthday", "anniversary_within_next", days), now=now
        )
    assert bool(found) is inside


def test_visible_clause_limits_a_sales_user(shop: tuple[str, World]) -> None:
    url, world = shop
    from retentio.auth.models import Role, User

    with session_scope(url, write=False) as session:
        sales = User(id=10_000, email="s@example.com", name="S", role=Role.SALES)
        node = queries.checked_rule(session, {"all": []})
        visible = set(session.scalars(queries.compiled(session, node, now=NOW).ids(user=sales)))
    expected = {c.id for c in world.contacts if brute.is_live(c) and c.available_to_all}
    assert visible == expected
