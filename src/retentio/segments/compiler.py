"""Compiles a checked rule into one SQL statement over `contacts` (left-joined to `profiles` and
`companies` when the rule needs them), with sub-queries for tags, events, orders, consent and
other segments. No Python runs per contact.

Semantics, the same on both engines and in the brute-force evaluator of the tests:
- every condition is true or false, never unknown: a comparison on a missing value is false,
  and the negative operators (`ne`, `not_in`, `not_contains`, `has_none`) and `negate` are
  exactly NOT of the positive one, so a contact with no city matches `city ne "Moscow"`;
- only live contacts: not deleted, not merged away, not anonymous visitors;
- dates are whole UTC days; windows end at `now`; a 29 February birthday is celebrated on
  28 February in other years;
- orders count unless cancelled; an order's revenue is `total − refunded_total`.

Sub-queries test membership the way each engine plans best (DESIGN §8): `id IN (SELECT …)` on
SQLite, which builds the set once; a correlated `EXISTS` on PostgreSQL, which turns it into a
semi- or anti-join, where `NOT IN` over a large set would fall back to a nested loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import aliased

from retentio.auth.models import User
from retentio.commerce.models import Order, OrderItem, OrderStatus
from retentio.companies.models import Company
from retentio.consent.models import Channel, ConsentState, Purpose, Suppression
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact, ContactTag, Tag
from retentio.events.models import Event
from retentio.loyalty.models import Account, Tier
from retentio.profiles.models import Profile
from retentio.segments.catalog import NEGATIVE, Catalog, FieldSpec
from retentio.segments.models import SegmentMember
from retentio.segments.rules import (
    AllOf,
    AnyOf,
    Comparison,
    ConsentCondition,
    EventCondition,
    FieldCondition,
    InvalidRule,
    Node,
    NotOf,
    OrderCondition,
    PropertyFilter,
    ReachableCondition,
    SegmentCondition,
    SegmentLookup,
    TagCondition,
    parse_rule,
)

Condition = ColumnElement[bool]
CHANNELS: dict[str, tuple[Channel, Any]] = {
    "email": (Channel.EMAIL, Contact.email),
    "sms": (Channel.SMS, Contact.phone),
    "telegram": (Channel.MESSENGER, Contact.telegram),
}


@dataclass(frozen=True)
class Context:
    now: datetime
    dialect: str  # "sqlite" or "postgresql": sub-query shapes differ, results do not
    catalog: Catalog
    segments: SegmentLookup
    # Correlated EXISTS on SQLite too: right when the outer set is small (a refresh of
    # changed contacts probes their rows by index instead of building whole sets).
    correlate: bool = False
    # Segments being expanded, outermost first: a safety net behind check_rule's cycle test.
    stack: tuple[int, ...] = ()

    @property
    def shape(self) -> str:
        return "exists" if self.correlate or self.dialect == "postgresql" else "in"

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()


@dataclass
class Compiled:
    condition: Condition
    joins: set[str] = field(default_factory=set)

    def select(self, *columns: Any, user: User | None = None) -> Select[Any]:
        """`SELECT columns FROM contacts …` over the live contacts matching the rule (and
        visible to `user` when given)."""
        statement = select(*columns).select_from(Contact)
        if "profile" in self.joins:
            statement = statement.outerjoin(Profile, Profile.contact_id == Contact.id)
        if "company" in self.joins:
            statement = statement.outerjoin(
                Company, and_(Company.id == Contact.company_id, Company.deleted_at.is_(None))
            )
        conditions = [live_clause(), self.condition]
        if user is not None:
            conditions.append(visible_clause(user))
        return statement.where(*conditions)

    def ids(self, *, user: User | None = None) -> Select[Any]:
        return self.select(Contact.id, user=user)


def live_clause() -> Condition:
    return and_(
        Contact.deleted_at.is_(None),
        Contact.merged_into_id.is_(None),
        Contact.is_anonymous.is_(False),
    )


def compile_rule(node: Node, ctx: Context) -> Compiled:
    compiled = Compiled(true())
    compiled.condition = _node(node, ctx, compiled.joins)
    return compiled


def _node(node: Node, ctx: Context, joins: set[str]) -> Condition:
    match node:
        case AllOf():
            return and_(true(), *(_node(child, ctx, joins) for child in node.all))
        case AnyOf():
            return or_(false(), *(_node(child, ctx, joins) for child in node.any))
        case NotOf():
            return not_(_node(node.not_, ctx, joins))
    condition = _leaf(node, ctx, joins)
    return not_(condition) if node.negate else condition


def _leaf(node: Node, ctx: Context, joins: set[str]) -> Condition:
    match node:
        case FieldCondition():
            return _field(node, ctx, joins)
        case TagCondition():
            return _tags(node, ctx)
        case EventCondition():
            return _event(node, ctx)
        case OrderCondition():
            return _orders(node, ctx)
        case SegmentCondition():
            return _segment(node, ctx, joins)
        case ConsentCondition():
            return _consent(node, ctx)
        case ReachableCondition():
            return reachable_clause(node.reachable, ctx.shape)
    raise AssertionError(f"unknown node {node!r}")


# --- membership sub-queries --------------------------------------------------------------------


def _member(outer: Any, inner: Any, statement: Select[Any], shape: str) -> Condition:
    """`outer` is among the values of `inner` that `statement` selects."""
    if shape == "exists":
        return exists(statement.where(inner == outer))
    return outer.in_(statement)  # type: ignore[no-any-return]


def _contact_in(statement: Select[Any], inner: Any, shape: str) -> Condition:
    return _member(Contact.id, inner, statement, shape)


# --- fields ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    """Where a field's value comes from and how dates are written there."""

    expr: Any
    storage: str  # "column", "date_column", "datetime_column", "json"
    json_column: Any = None
    json_key: str = ""


def _source(spec: FieldSpec, ctx: Context, joins: set[str]) -> _Value:
    entity, _, attribute = spec.name.partition(".")
    if entity == "custom":
        return _json_value(Contact.custom, attribute, spec, ctx)
    if entity == "company" and attribute.startswith("custom."):
        joins.add("company")
        return _json_value(Company.custom, attribute.removeprefix("custom."), spec, ctx)
    if entity == "loyalty":
        return _Value(_loyalty(attribute), "column")
    model = {"contact": Contact, "company": Company, "profile": Profile}[entity]
    if entity != "contact":
        joins.add(entity)
    column = getattr(model, attribute)
    storage = {"date": "date_column", "datetime": "datetime_column"}.get(spec.type, "column")
    return _Value(column, storage)


def _loyalty(attribute: str) -> Any:
    """The contact's points (0 outside the programme) or tier name, by primary-key lookups."""
    if attribute == "balance":
        balance = select(Account.balance).where(Account.contact_id == Contact.id)
        return func.coalesce(balance.scalar_subquery(), 0)
    tier = (
        select(Tier.name)
        .join(Account, Account.tier_id == Tier.id)
        .where(Account.contact_id == Contact.id)
    )
    return tier.scalar_subquery()


def _json_value(column: Any, key: str, spec: FieldSpec, ctx: Context) -> _Value:
    kind = {"number": "number", "boolean": "boolean"}.get(spec.type, "string")
    if spec.type == "multi_choice":
        kind = "array"
    return _Value(json_scalar(column, key, kind, ctx.dialect), "json", column, key)


def json_type_of(column: Any, key: str, dialect: str) -> Any:
    """The JSON type name of an object's member, NULL when it is missing."""
    if dialect == "postgresql":
        return func.json_typeof(column.op("->")(literal(key, String)))
    return func.json_type(column, literal(_json_path(key), String))


def _json_path(key: str) -> str:
    # Keys are checked to be letters, digits, '_' and '-' (rules.PROPERTY_KEY, field keys).
    return '$."' + key + '"'


def json_scalar(column: Any, key: str, kind: str, dialect: str) -> Any:
    """A JSON object's member as SQL: text (`string`), a number, `'true'`/`'false'`
    (`boolean`) or the type name (`array`) — NULL when the member is missing or of another JSON
    type, so a text where a number is expected never breaks a cast."""
    json_type = json_type_of(column, key, dialect)
    if kind == "array":
        return case((json_type == "array", json_type))
    if dialect == "postgresql":
        text = column.op("->>", return_type=String)(literal(key, String))
        if kind == "number":
            return case((json_type == "number", cast(text, Numeric)))
        return case((json_type == ("boolean" if kind == "boolean" else "string"), text))
    if kind == "boolean":
        return case((json_type == "true", "true"), (json_type == "false", "false"))
    raw = func.json_extract(column, literal(_json_path(key), String))
    if kind == "number":
        return case((json_type.in_(("integer", "real")), type_coerce(raw, Numeric)))
    return case((json_type == "text", type_coerce(raw, String)))


def json_array_has(column: Any, key: str, item: str, dialect: str) -> Condition:
    """The JSON array under `key` holds the text `item` (false when it is no array)."""
    if dialect == "postgresql":
        member = column.op("->")(literal(key, String))
        elements = func.json_array_elements_text(member).table_valued("value")
        inner = exists(select(1).select_from(elements).where(elements.c.value == item))
        return and_(func.json_typeof(member) == "array", inner)
    path = literal(_json_path(key), String)
    elements = func.json_each(column, path).table_valued("value")
    inner = exists(select(1).select_from(elements).where(elements.c.value == item))
    return and_(func.json_type(column, path) == "array", inner)


def _json_array_length(value: _Value, dialect: str) -> Any:
    if dialect == "postgresql":
        member = value.json_column.op("->")(literal(value.json_key, String))
        return case((func.json_typeof(member) == "array", func.json_array_length(member)))
    path = literal(_json_path(value.json_key), String)
    return case(
        (
            func.json_type(value.json_column, path) == "array",
            func.json_array_length(value.json_column, path),
        )
    )


def _field(node: FieldCondition, ctx: Context, joins: set[str]) -> Condition:
    spec = ctx.catalog.get(node.field)
    if spec is None:
        raise InvalidRule(f'unknown field "{node.field}"', details={"field": "field"})
    op = node.op
    source = _source(spec, ctx, joins)
    if op == "top_percent":
        return _guard(source.expr, source.expr >= _top_threshold(spec, node.value))
    if op in NEGATIVE:
        return not_(_positive(spec, source, NEGATIVE[op], node.value, ctx))
    return _positive(spec, source, op, node.value, ctx)


def _top_threshold(spec: FieldSpec, percent: float) -> Any:
    """The lowest value in the top `percent` of all known values, where a value is in the top
    when fewer than `percent` % of the other known values are higher (percent_rank() below
    percent / 100; ties share a rank), exactly, the percentage read as the decimal it is
    written as.

    With n known values the top holds the first ceil(percent × (n − 1) / 100) of them in
    descending order (at least one): the threshold is the value at that position, found by one
    bounded sort, once per statement — not a rank of every profile for each evaluation.
    """
    # An alias: the contact's own joined profile row must not correlate into these.
    ranked = getattr(aliased(Profile), spec.name.removeprefix("profile."))
    # Millionths of a percent at most: the products below stay within 64-bit integers.
    share = Fraction(str(percent)).limit_denominator(1_000_000)
    numerator, denominator = share.numerator, share.denominator * 100
    others = select(func.count(ranked) - 1).scalar_subquery()
    # ceil(a / b) in integers, the same on both engines (their integer division truncates).
    within = (others * numerator + (denominator - 1)) // denominator
    top_size = case((within < 1, 1), else_=within)
    return (
        select(ranked)
        .where(ranked.is_not(None))
        .order_by(ranked.desc())
        .limit(1)
        .offset(top_size - 1)
        .scalar_subquery()
    )


def _guard(expr: Any, condition: Condition) -> Condition:
    """Never NULL: false when the value is missing, so NOT of it is true."""
    return and_(expr.is_not(None), condition)


def _positive(spec: FieldSpec, source: _Value, op: str, value: Any, ctx: Context) -> Condition:
    expr = source.expr
    if spec.type == "multi_choice":
        return _multi_choice(source, op, value, ctx)
    if op == "is_empty":
        return _empty(expr, spec)
    if op == "is_not_empty":
        return not_(_empty(expr, spec))
    if spec.type in ("date", "datetime"):
        return _guard(expr, _date_condition(source, op, value, ctx))
    if spec.type == "boolean":
        return _guard(expr, expr == ("true" if value else "false"))
    if spec.type == "number":
        return _guard(expr, _number_condition(expr, op, value))
    return _guard(expr, _text_condition(expr, op, value))


def _empty(expr: Any, spec: FieldSpec) -> Condition:
    if spec.type in ("string", "choice"):
        return or_(expr.is_(None), expr == "")
    return expr.is_(None)  # type: ignore[no-any-return]


def _text_condition(expr: Any, op: str, value: Any) -> Condition:
    match op:
        case "eq":
            return expr == value  # type: ignore[no-any-return]
        case "in":
            return expr.in_(value)  # type: ignore[no-any-return]
        case "contains":
            return func.lower(expr).contains(value.lower(), autoescape=True)
        case "starts_with":
            return func.lower(expr).startswith(value.lower(), autoescape=True)
        case "ends_with":
            return func.lower(expr).endswith(value.lower(), autoescape=True)
    raise AssertionError(op)


def _number_condition(expr: Any, op: str, value: Any) -> Condition:
    if op == "between":
        return and_(expr >= _num(value[0]), expr <= _num(value[1]))
    return compare(expr, op, _num(value))


def _num(value: float) -> Decimal:
    # Decimal, not float: money columns are NUMERIC and 0.1 must mean exactly 0.1.
    return Decimal(str(value))


def compare(expr: Any, op: str, value: Any) -> Condition:
    operators = {
        "eq": expr.__eq__,
        "ne": expr.__ne__,
        "lt": expr.__lt__,
        "le": expr.__le__,
        "gt": expr.__gt__,
        "ge": expr.__ge__,
    }
    return operators[op](value)  # type: ignore[no-any-return]


def _multi_choice(source: _Value, op: str, value: Any, ctx: Context) -> Condition:
    if op in ("is_empty", "is_not_empty"):
        length = _json_array_length(source, ctx.dialect)
        has_items = _guard(length, length > 0)
        return has_items if op == "is_not_empty" else not_(has_items)
    tests = [json_array_has(source.json_column, source.json_key, v, ctx.dialect) for v in value]
    return and_(*tests) if op == "has_all" else or_(*tests)


# --- dates ---------------------------------------------------------------------------------------


def _date_condition(source: _Value, op: str, value: Any, ctx: Context) -> Condition:
    expr = source.expr

    def at(day: date) -> Any:
        if source.storage == "datetime_column":
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        return day.isoformat() if source.storage == "json" else day

    today = ctx.today
    timed = source.storage == "datetime_column"
    match op:
        case "on":
            day = date.fromisoformat(value)
            return and_(expr >= at(day), expr < at(day + timedelta(days=1)))
        case "before":
            return expr < at(date.fromisoformat(value))  # type: ignore[no-any-return]
        case "after":
            return expr >= at(date.fromisoformat(value) + timedelta(days=1))  # type: ignore[no-any-return]
        case "between":
            low, high = (date.fromisoformat(v) for v in value)
            return and_(expr >= at(low), expr < at(high + timedelta(days=1)))
        case "within_last":
            if timed:
                return and_(expr >= ctx.now - timedelta(days=value), expr <= ctx.now)
            return and_(
                expr >= at(today - timedelta(days=value)), expr < at(today + timedelta(days=1))
            )
        case "within_next":
            if timed:
                return and_(expr >= ctx.now, expr <= ctx.now + timedelta(days=value))
            return and_(expr >= at(today), expr < at(today + timedelta(days=value + 1)))
        case "more_than_days_ago":
            if timed:
                return expr < ctx.now - timedelta(days=value)  # type: ignore[no-any-return]
            return expr < at(today - timedelta(days=value))  # type: ignore[no-any-return]
        case "in_current":
            start, end = current_period(today, value)
            return and_(expr >= at(start), expr < at(end))
        case "anniversary_within_next":
            days: Condition = _month_day(source, ctx).in_(anniversary_days(today, value))
            return days
    raise AssertionError(op)


def current_period(today: date, unit: str) -> tuple[date, date]:
    """[first day, first day of the next period) of the day, ISO week, month or year."""
    if unit == "day":
        return today, today + timedelta(days=1)
    if unit == "week":
        start = today - timedelta(days=today.weekday())
        return start, start + timedelta(days=7)
    if unit == "month":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return start, end
    return today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1)


def anniversary_days(today: date, days: int) -> list[str]:
    """`MM-DD` of every day from today to today + days; `02-29` where 28 February of a
    non-leap year is in the window (that is when those birthdays are celebrated)."""
    found: list[str] = []
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        found.append(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            found.append("02-29")
    return sorted(set(found))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _month_day(source: _Value, ctx: Context) -> Any:
    if source.storage == "json":
        return func.substr(source.expr, 6, 5)
    if ctx.dialect == "postgresql":
        return func.to_char(source.expr, "MM-DD")
    return func.strftime("%m-%d", source.expr)


# --- tags, events, orders -------------------------------------------------------------------------


def _tags(node: TagCondition, ctx: Context) -> Condition:
    names = sorted(set(node.tags))
    statement = (
        select(ContactTag.contact_id)
        .join(Tag, Tag.id == ContactTag.tag_id)
        .where(Tag.name.in_(names))
    )
    if node.match == "all" and len(names) > 1:
        statement = statement.group_by(ContactTag.contact_id).having(
            func.count(ContactTag.tag_id) == len(names)
        )
    return _contact_in(statement, ContactTag.contact_id, ctx.shape)


def _window(column: Any, node: EventCondition | OrderCondition, ctx: Context) -> list[Condition]:
    if node.within_days is not None:
        return [column >= ctx.now - timedelta(days=node.within_days)]
    if node.between is not None:
        low, high = node.between
        return [
            column >= datetime(low.year, low.month, low.day, tzinfo=UTC),
            column < datetime(high.year, high.month, high.day, tzinfo=UTC) + timedelta(days=1),
        ]
    return []


def holds(op: str, left: float, right: float) -> bool:
    return {
        "eq": left == right,
        "ne": left != right,
        "lt": left < right,
        "le": left <= right,
        "gt": left > right,
        "ge": left >= right,
    }[op]


def _counted(
    statement: Select[Any],
    inner: Any,
    having: Sequence[tuple[Any, Comparison]],
    ctx: Context,
) -> Condition:
    """Contacts whose matching rows satisfy every aggregate comparison. A contact with no row
    has count 0 and total 0: when that satisfies them all, the answer is "not among those
    whose rows fail them", so absence is found without listing every contact."""
    if all(_means_at_least_one(aggregate, c) for aggregate, c in having):
        return _contact_in(statement, inner, ctx.shape)
    zero_ok = all(holds(c.op, 0, c.value) for _aggregate, c in having)
    if zero_ok and all(_means_none(aggregate, c) for aggregate, c in having):
        return not_(_contact_in(statement, inner, ctx.shape))
    condition = and_(*(compare(aggregate, c.op, _num(c.value)) for aggregate, c in having))
    grouped = statement.group_by(inner)
    if zero_ok:
        return not_(_contact_in(grouped.having(not_(condition)), inner, ctx.shape))
    return _contact_in(grouped.having(condition), inner, ctx.shape)


def _is_count(aggregate: Any) -> bool:
    return getattr(aggregate, "name", "") == "count"


def _means_at_least_one(aggregate: Any, c: Comparison) -> bool:
    """A count comparison that every count ≥ 1 satisfies and 0 does not."""
    if not _is_count(aggregate):
        return False
    return (
        (c.op == "ge" and 0 < c.value <= 1)
        or (c.op == "gt" and c.value < 1)
        or (c.op == "ne" and c.value == 0)
    )


def _means_none(aggregate: Any, c: Comparison) -> bool:
    """A count comparison that only 0 satisfies."""
    if not _is_count(aggregate):
        return False
    return (
        (c.op == "eq" and c.value == 0)
        or (c.op == "lt" and 0 < c.value <= 1)
        or (c.op == "le" and c.value < 1)
    )


def _event(node: EventCondition, ctx: Context) -> Condition:
    statement = select(Event.contact_id).where(
        Event.type == node.event,
        *_window(Event.occurred_at, node, ctx),
        *(property_clause(Event.properties, f, ctx.dialect) for f in node.where),
    )
    return _counted(statement, Event.contact_id, [(func.count(), node.count)], ctx)


def property_clause(column: Any, item: PropertyFilter, dialect: str) -> Condition:
    op, value = item.op, item.value
    if op in ("ne", "not_in", "not_exists"):
        positive = {"ne": "eq", "not_in": "in", "not_exists": "exists"}[op]
        return not_(
            property_clause(
                column, PropertyFilter(property=item.property, op=positive, value=value), dialect
            )
        )
    key = item.property
    if op == "exists":
        kind = json_type_of(column, key, dialect)
        return _guard(kind, kind != "null")
    if op == "in":
        return or_(*(_property_eq(column, key, v, dialect) for v in value))
    if op == "eq":
        return _property_eq(column, key, value, dialect)
    if op in ("contains", "starts_with"):
        text = json_scalar(column, key, "string", dialect)
        return _guard(text, _text_condition(text, op, value))
    number = json_scalar(column, key, "number", dialect)
    return _guard(number, _number_condition(number, op, value))


def _property_eq(column: Any, key: str, value: Any, dialect: str) -> Condition:
    if isinstance(value, bool):
        flag = json_scalar(column, key, "boolean", dialect)
        return _guard(flag, flag == ("true" if value else "false"))
    if isinstance(value, int | float):
        number = json_scalar(column, key, "number", dialect)
        return _guard(number, number == _num(value))
    text = json_scalar(column, key, "string", dialect)
    return _guard(text, text == value)


def _orders(node: OrderCondition, ctx: Context) -> Condition:
    revenue = Order.total - Order.refunded_total
    conditions = [Order.status != OrderStatus.CANCELLED, *_window(Order.placed_at, node, ctx)]
    if node.amount is not None:
        conditions.append(compare(revenue, node.amount.op, _num(node.amount.value)))
    item_filters = []
    if node.bought.product:
        item_filters.append(OrderItem.sku == node.bought.product)
    if node.bought.category:
        item_filters.append(OrderItem.category == node.bought.category)
    if item_filters:
        items = select(OrderItem.order_id).where(*item_filters)
        conditions.append(_member(Order.id, OrderItem.order_id, items, ctx.shape))
    statement = select(Order.contact_id).where(*conditions)
    having: list[tuple[Any, Comparison]] = [(func.count(), node.count)]
    if node.total is not None:
        having.append((func.coalesce(func.sum(revenue), 0), node.total))
    return _counted(statement, Order.contact_id, having, ctx)


# --- segments, consent, reachability --------------------------------------------------------------


def _segment(node: SegmentCondition, ctx: Context, joins: set[str]) -> Condition:
    if node.segment in ctx.stack:
        raise InvalidRule(f"segment {node.segment} includes itself", details={"field": "segment"})
    ref = ctx.segments(node.segment)
    if ref is None:
        raise InvalidRule(f"unknown segment {node.segment}", details={"field": "segment"})
    if ref.dynamic and ref.rule is not None:
        # Inlined, not read from stored members: a preview sees the other rule as it is now.
        inner = replace(ctx, stack=(*ctx.stack, node.segment))
        return _node(parse_rule(ref.rule), inner, joins)
    members = select(SegmentMember.contact_id).where(SegmentMember.segment_id == node.segment)
    return _contact_in(members, SegmentMember.contact_id, ctx.shape)


def _consent(node: ConsentCondition, ctx: Context) -> Condition:
    channel, _address = CHANNELS[node.consent]
    states = select(ConsentState.contact_id).where(
        ConsentState.channel == channel, ConsentState.purpose == Purpose(node.purpose)
    )
    if node.status == "unknown":
        return not_(_contact_in(states, ConsentState.contact_id, ctx.shape))
    granted = states.where(ConsentState.granted.is_(node.status == "granted"))
    return _contact_in(granted, ConsentState.contact_id, ctx.shape)


def reachable_clause(channel_name: str, shape: str) -> Condition:
    """The SQL twin of `consent.service.reachable` for marketing: an address, consent granted,
    the address not suppressed, the contact not erased."""
    channel, address = CHANNELS[channel_name]
    granted = select(ConsentState.contact_id).where(
        ConsentState.channel == channel,
        ConsentState.purpose == Purpose.MARKETING,
        ConsentState.granted.is_(True),
    )
    suppressed = select(Suppression.address).where(Suppression.channel == channel)
    return and_(
        address.is_not(None),
        address != "",
        Contact.erased_at.is_(None),
        _contact_in(granted, ConsentState.contact_id, shape),
        not_(_member(address, Suppression.address, suppressed, shape)),
    )
