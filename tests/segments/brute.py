"""A deliberately naive evaluator of segment rules: one contact at a time, in plain Python,
written from the semantics in `retentio.segments.compiler`'s docstring and sharing none of
its code. The compiled SQL must select exactly the contacts this says yes to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from retentio.commerce.models import OrderStatus
from retentio.contacts.models import Contact
from retentio.segments.catalog import Catalog
from retentio.segments.rules import (
    AllOf,
    AnyOf,
    Comparison,
    ConsentCondition,
    EventCondition,
    FieldCondition,
    Node,
    NotOf,
    OrderCondition,
    PropertyFilter,
    ReachableCondition,
    SegmentCondition,
    TagCondition,
    parse_rule,
)
from tests.segments.world import World

CHANNEL_OF = {"email": "email", "sms": "sms", "telegram": "messenger"}
ADDRESS_OF = {"email": "email", "sms": "phone", "telegram": "telegram"}


def is_live(contact: Contact) -> bool:
    return (
        contact.deleted_at is None and contact.merged_into_id is None and not contact.is_anonymous
    )


def members(
    node: Node,
    world: World,
    catalog: Catalog,
    *,
    now: datetime,
    rules: Callable[[int], dict[str, Any] | None] = lambda _id: None,
) -> set[int]:
    return {
        c.id for c in world.contacts if is_live(c) and evaluate(node, c, world, catalog, now, rules)
    }


def evaluate(
    node: Node,
    c: Contact,
    world: World,
    catalog: Catalog,
    now: datetime,
    rules: Callable[[int], dict[str, Any] | None],
) -> bool:
    def again(n: Node) -> bool:
        return evaluate(n, c, world, catalog, now, rules)

    if isinstance(node, AllOf):
        return all(again(n) for n in node.all)
    if isinstance(node, AnyOf):
        return any(again(n) for n in node.any)
    if isinstance(node, NotOf):
        return not again(node.not_)
    result = _leaf(node, c, world, catalog, now, rules)
    return not result if node.negate else result


def _leaf(
    node: Node,
    c: Contact,
    world: World,
    catalog: Catalog,
    now: datetime,
    rules: Callable[[int], dict[str, Any] | None],
) -> bool:
    if isinstance(node, FieldCondition):
        return _field(node, c, world, catalog, now)
    if isinstance(node, TagCondition):
        mine = world.tags.get(c.id, set())
        wanted = set(node.tags)
        return wanted <= mine if node.match == "all" else bool(wanted & mine)
    if isinstance(node, EventCondition):
        found = [
            e
            for e in world.events.get(c.id, [])
            if e.type == node.event
            and _in_window(e.occurred_at, node.within_days, node.between, now)
            and all(_property(e.properties, f) for f in node.where)
        ]
        return _cmp(node.count, len(found))
    if isinstance(node, OrderCondition):
        return _orders(node, c, world, now)
    if isinstance(node, SegmentCondition):
        rule = rules(node.segment)
        if rule is None:
            return c.id in world.static_members.get(node.segment, set())
        return evaluate(parse_rule(rule), c, world, catalog, now, rules)
    if isinstance(node, ConsentCondition):
        state = world.consents.get((c.id, CHANNEL_OF[node.consent], node.purpose))
        return {"granted": state is True, "withdrawn": state is False, "unknown": state is None}[
            node.status
        ]
    if isinstance(node, ReachableCondition):
        address = getattr(c, ADDRESS_OF[node.reachable])
        channel = CHANNEL_OF[node.reachable]
        return bool(
            address
            and c.erased_at is None
            and world.consents.get((c.id, channel, "marketing")) is True
            and (channel, address) not in world.suppressed
        )
    raise AssertionError(node)


def _cmp(c: Comparison, value: float | Decimal) -> bool:
    right = Decimal(str(c.value))
    left = Decimal(str(value))
    return {
        "eq": left == right,
        "ne": left != right,
        "lt": left < right,
        "le": left <= right,
        "gt": left > right,
        "ge": left >= right,
    }[c.op]


def _in_window(
    moment: datetime, within: int | None, between: tuple[date, date] | None, now: datetime
) -> bool:
    if within is not None:
        return moment >= now - timedelta(days=within)
    if between is not None:
        low = datetime.combine(between[0], datetime.min.time(), UTC)
        high = datetime.combine(between[1], datetime.min.time(), UTC) + timedelta(days=1)
        return low <= moment < high
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _property_equals(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool):
        return isinstance(value, bool) and value == wanted
    if _is_number(wanted):
        return _is_number(value) and Decimal(str(value)) == Decimal(str(wanted))
    return isinstance(value, str) and value == wanted


def _property(properties: dict[str, Any], f: PropertyFilter) -> bool:
    value = properties.get(f.property)
    op = f.op
    if op in ("ne", "not_in", "not_exists"):
        positive = {"ne": "eq", "not_in": "in", "not_exists": "exists"}[op]
        return not _property(
            properties, PropertyFilter(property=f.property, op=positive, value=f.value)
        )
    if op == "exists":
        return value is not None
    if op == "eq":
        return _property_equals(value, f.value)
    if op == "in":
        return any(_property_equals(value, w) for w in f.value)
    if op == "contains":
        return isinstance(value, str) and f.value.lower() in value.lower()
    if op == "starts_with":
        return isinstance(value, str) and value.lower().startswith(f.value.lower())
    if not _is_number(value):
        return False
    number = Decimal(str(value))
    if op == "between":
        return Decimal(str(f.value[0])) <= number <= Decimal(str(f.value[1]))
    return _signed(op, number, f.value)


def _signed(op: str, left: Decimal, right: float) -> bool:
    r = Decimal(str(right))
    return {"lt": left < r, "le": left <= r, "gt": left > r, "ge": left >= r}[op]


def _orders(node: OrderCondition, c: Contact, world: World, now: datetime) -> bool:
    found = []
    for order, items in world.orders.get(c.id, []):
        if order.status == OrderStatus.CANCELLED:
            continue
        if not _in_window(order.placed_at, node.within_days, node.between, now):
            continue
        revenue = order.total - order.refunded_total
        if node.amount is not None and not _cmp(node.amount, revenue):
            continue
        wanted = node.bought
        if (wanted.product or wanted.category) and not any(
            (wanted.product is None or i.sku == wanted.product)
            and (wanted.category is None or i.category == wanted.category)
            for i in items
        ):
            continue
        found.append(revenue)
    if not _cmp(node.count, len(found)):
        return False
    return node.total is None or _cmp(node.total, sum(found, Decimal(0)))


# --- fields -------------------------------------------------------------------------------


def _value(name: str, type_: str, c: Contact, world: World) -> Any:
    entity, _, attribute = name.partition(".")
    if entity == "custom":
        return _json(c.custom.get(attribute), type_)
    if entity == "company":
        company = world.companies.get(c.company_id) if c.company_id else None
        if company is None or company.deleted_at is not None:
            return None
        if attribute.startswith("custom."):
            return _json(company.custom.get(attribute.removeprefix("custom.")), type_)
        return getattr(company, attribute)
    if entity == "profile":
        profile = world.profiles.get(c.id)
        return getattr(profile, attribute) if profile else None
    return getattr(c, attribute)


def _json(raw: Any, type_: str) -> Any:
    if type_ == "number":
        return Decimal(str(raw)) if _is_number(raw) else None
    if type_ == "boolean":
        return raw if isinstance(raw, bool) else None
    if type_ == "multi_choice":
        return raw if isinstance(raw, list) else None
    if type_ == "date":
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    return raw if isinstance(raw, str) else None


NEGATIVE = {"ne": "eq", "not_in": "in", "not_contains": "contains", "has_none": "has_any"}


def _field(node: FieldCondition, c: Contact, world: World, catalog: Catalog, now: datetime) -> bool:
    spec = catalog.get(node.field)
    assert spec is not None
    if node.op in NEGATIVE:
        positive = FieldCondition(field=node.field, op=NEGATIVE[node.op], value=node.value)
        return not _field(positive, c, world, catalog, now)
    if node.op == "top_percent":
        return _top_percent(node, c, world)
    x = _value(node.field, spec.type, c, world)
    op, v = node.op, node.value
    if op == "is_empty":
        if spec.type == "multi_choice":
            return not x
        return x is None or x == ""
    if op == "is_not_empty":
        if spec.type == "multi_choice":
            return bool(x)
        return not (x is None or x == "")
    if x is None:
        return False
    if spec.type == "multi_choice":
        return all(i in x for i in v) if op == "has_all" else any(i in x for i in v)
    if spec.type in ("date", "datetime"):
        return _date(x, op, v, now, timed=spec.type == "datetime")
    if spec.type == "boolean":
        return bool(x == v)
    if spec.type == "number":
        x = Decimal(str(x))
        if op == "between":
            return Decimal(str(v[0])) <= x <= Decimal(str(v[1]))
        return _signed(op, x, v) if op != "eq" else x == Decimal(str(v))
    return {
        "eq": lambda: x == v,
        "in": lambda: x in v,
        "contains": lambda: v.lower() in x.lower(),
        "starts_with": lambda: x.lower().startswith(v.lower()),
        "ends_with": lambda: x.lower().endswith(v.lower()),
    }[op]()


def _top_percent(node: FieldCondition, c: Contact, world: World) -> bool:
    attribute = node.field.removeprefix("profile.")
    values = [getattr(p, attribute) for p in world.profiles.values()]
    known = [Decimal(str(x)) for x in values if x is not None]
    profile = world.profiles.get(c.id)
    mine = getattr(profile, attribute) if profile else None
    if mine is None:
        return False
    rank = 1 + sum(1 for x in known if x > Decimal(str(mine)))
    share = (rank - 1) / (len(known) - 1) if len(known) > 1 else 0.0
    return share < node.value / 100


def _date(x: Any, op: str, v: Any, now: datetime, *, timed: bool) -> bool:
    today = now.date()
    day = x.date() if timed else x
    if op == "on":
        return day == date.fromisoformat(v)
    if op == "before":
        return day < date.fromisoformat(v)
    if op == "after":
        return day > date.fromisoformat(v)
    if op == "between":
        return date.fromisoformat(v[0]) <= day <= date.fromisoformat(v[1])
    if op == "within_last":
        if timed:
            return now - timedelta(days=v) <= x <= now
        return today - timedelta(days=v) <= day <= today
    if op == "within_next":
        if timed:
            return now <= x <= now + timedelta(days=v)
        return today <= day <= today + timedelta(days=v)
    if op == "more_than_days_ago":
        return x < now - timedelta(days=v) if timed else day < today - timedelta(days=v)
    if op == "in_current":
        if v == "day":
            return day == today
        if v == "week":
            return day.isocalendar()[:2] == today.isocalendar()[:2]
        if v == "month":
            return (day.year, day.month) == (today.year, today.month)
        return day.year == today.year
    if op == "anniversary_within_next":
        return any(_celebrated(day, today + timedelta(days=n)) for n in range(v + 1))
    raise AssertionError(op)


def _celebrated(born: date, on: date) -> bool:
    if (born.month, born.day) == (on.month, on.day):
        return True
    leap = on.year % 4 == 0 and (on.year % 100 != 0 or on.year % 400 == 0)
    return (born.month, born.day) == (2, 29) and (on.month, on.day) == (2, 28) and not leap
