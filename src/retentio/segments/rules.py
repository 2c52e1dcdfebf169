"""The rule model: a JSON tree of `all` / `any` / `not` over conditions, parsed and checked into
typed nodes, with every error naming the JSON path of the bad node.

    {"all": [
      {"field": "profile.rfm_segment", "op": "in", "value": ["at_risk", "cant_lose"]},
      {"event": "email_click", "within_days": 30, "count": {"op": "ge", "value": 1}},
      {"bought": {"category": "shoes"}, "within_days": 365},
      {"reachable": "email"}
    ]}

A node's kind is told by its key (`all`, `any`, `not`, `field`, `tags`, `event`, `bought`,
`segment`, `consent`, `reachable`); every condition also takes `"negate": true`. `parse_rule`
is structural and needs no database; `check_rule` adds what does (fields and segments that
exist, operators that fit the field's type). Both raise `InvalidRule` (422) listing
`{field: "rule.all[2].any[0].field", message}` for every problem found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retentio.errors import InvalidInput
from retentio.segments.catalog import NO_VALUE, OPERATORS, Catalog, FieldSpec

MAX_DAYS = 3650
MAX_DEPTH = 12
CHANNELS = ("email", "sms", "telegram")
PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
COMPARISON_ALIASES = {"=": "eq", "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt"}
COMPARISON_ALIASES |= {">=": "ge"}
CountOp = Literal["eq", "ne", "lt", "le", "gt", "ge"]
PROPERTY_OPS = frozenset(
    {"eq", "ne", "in", "not_in", "contains", "starts_with", "lt", "le", "gt", "ge", "between"}
    | {"exists", "not_exists"}
)


class InvalidRule(InvalidInput):
    code = "invalid_rule"


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Leaf(_Node):
    negate: bool = False


class Comparison(_Node):
    """`count` and `total` of events or orders: `{"op": "ge", "value": 3}`."""

    op: CountOp
    value: float = Field(ge=0)

    @field_validator("op", mode="before")
    @classmethod
    def _symbols(cls, raw: Any) -> Any:
        return COMPARISON_ALIASES.get(raw, raw) if isinstance(raw, str) else raw


AT_LEAST_ONE = Comparison(op="ge", value=1)


class _Windowed(_Leaf):
    """A time window: the last N days, or whole days between two dates (both included)."""

    within_days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    between: tuple[date, date] | None = None

    @field_validator("between")
    @classmethod
    def _ordered(cls, value: tuple[date, date] | None) -> tuple[date, date] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError("the first date must not be after the second")
        return value


class FieldCondition(_Leaf):
    field: str = Field(min_length=1, max_length=120)
    op: str
    value: Any = None


class TagCondition(_Leaf):
    tags: list[str] = Field(min_length=1, max_length=100)
    match: Literal["any", "all"] = "any"


class PropertyFilter(_Node):
    """One property of the same event: its JSON type follows the value (text, number, bool)."""

    property: str
    op: str
    value: Any = None

    @field_validator("property")
    @classmethod
    def _key(cls, value: str) -> str:
        if not PROPERTY_KEY.match(value):
            raise ValueError("letters, digits, '_' and '-' only, up to 64")
        return value


class EventCondition(_Windowed):
    event: str = Field(min_length=1, max_length=64)
    where: list[PropertyFilter] = Field(default_factory=list, max_length=20)
    count: Comparison = AT_LEAST_ONE


class Bought(_Node):
    product: str | None = Field(default=None, max_length=100)  # a SKU
    category: str | None = Field(default=None, max_length=120)


class OrderCondition(_Windowed):
    """Orders (not cancelled) in the window containing the product or category if given."""

    bought: Bought
    amount: Comparison | None = None  # each counted order's revenue
    count: Comparison = AT_LEAST_ONE  # how many such orders
    total: Comparison | None = None  # their summed revenue


class SegmentCondition(_Leaf):
    segment: int


class ConsentCondition(_Leaf):
    consent: Literal["email", "sms", "telegram"]
    purpose: Literal["marketing", "transactional"] = "marketing"
    status: Literal["granted", "withdrawn", "unknown"] = "granted"


class ReachableCondition(_Leaf):
    """An address for the channel, marketing consent, not suppressed, not erased."""

    reachable: Literal["email", "sms", "telegram"]


class AllOf(_Node):
    all: list[Node]


class AnyOf(_Node):
    any: list[Node]


class NotOf(_Node):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    not_: Node = Field(alias="not")


Leaf = Union[  # noqa: UP007 - a runtime alias pydantic can resolve
    FieldCondition,
    TagCondition,
    EventCondition,
    OrderCondition,
    SegmentCondition,
    ConsentCondition,
    ReachableCondition,
]
Node = Union[AllOf, AnyOf, NotOf, Leaf]  # noqa: UP007
AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()

LEAF_KINDS: dict[str, type[_Leaf]] = {
    "field": FieldCondition,
    "tags": TagCondition,
    "event": EventCondition,
    "bought": OrderCondition,
    "segment": SegmentCondition,
    "consent": ConsentCondition,
    "reachable": ReachableCondition,
}


def dump_rule(node: Node) -> dict[str, Any]:
    """The canonical JSON of a parsed rule (defaults left out), as stored on a segment."""
    return node.model_dump(mode="json", by_alias=True, exclude_defaults=True)


# --- parsing -----------------------------------------------------------------------------


@dataclass
class _Errors:
    items: list[dict[str, str]]

    def add(self, path: str, message: str) -> None:
        self.items.append({"field": path, "message": message})

    def raise_if_any(self) -> None:
        if self.items:
            first = self.items[0]
            raise InvalidRule(f"{first['field']}: {first['message']}", details=self.items)


def parse_rule(raw: Any, *, path: str = "rule") -> Node:
    """The typed tree of a JSON rule; InvalidRule naming each bad node's path."""
    errors = _Errors([])
    node = _parse(raw, path, errors, depth=0)
    errors.raise_if_any()
    assert node is not None
    return node


def _parse(raw: Any, path: str, errors: _Errors, *, depth: int) -> Node | None:
    if depth > MAX_DEPTH:
        errors.add(path, f"rules nest at most {MAX_DEPTH} levels deep")
        return None
    if not isinstance(raw, dict):
        errors.add(path, "a condition must be a JSON object")
        return None
    for combinator in ("all", "any"):
        if combinator in raw:
            return _parse_group(raw, combinator, path, errors, depth=depth)
    if "not" in raw:
        if len(raw) != 1:
            errors.add(path, '"not" takes one condition and nothing beside it')
            return None
        inner = _parse(raw["not"], f"{path}.not", errors, depth=depth + 1)
        return NotOf.model_construct(not_=inner) if inner is not None else None
    kind = next((k for k in LEAF_KINDS if k in raw), None)
    if kind is None:
        keys = ", ".join(["all", "any", "not", *LEAF_KINDS])
        errors.add(path, f"unknown condition; it needs one of the keys {keys}")
        return None
    try:
        return LEAF_KINDS[kind].model_validate(raw)  # type: ignore[return-value]
    except ValidationError as error:
        for problem in error.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem["loc"])
            errors.add(path + where, problem["msg"])
        return None


def _parse_group(
    raw: dict[str, Any], combinator: str, path: str, errors: _Errors, *, depth: int
) -> Node | None:
    if len(raw) != 1:
        errors.add(path, f'"{combinator}" takes a list of conditions and nothing beside it')
        return None
    items = raw[combinator]
    if not isinstance(items, list):
        errors.add(f"{path}.{combinator}", "must be a list of conditions")
        return None
    children = [
        _parse(item, f"{path}.{combinator}[{i}]", errors, depth=depth + 1)
        for i, item in enumerate(items)
    ]
    parsed = [child for child in children if child is not None]
    if len(parsed) < len(children):
        return None
    if combinator == "all":
        return AllOf.model_construct(all=parsed)
    return AnyOf.model_construct(any=parsed)


# --- checking against the catalog and the segments --------------------------------------------


@dataclass(frozen=True)
class SegmentRef:
    """What a rule needs to know of a segment it refers to."""

    id: int
    dynamic: bool
    rule: dict[str, Any] | None


SegmentLookup = Callable[[int], SegmentRef | None]


def check_rule(
    node: Node,
    catalog: Catalog,
    segments: SegmentLookup,
    *,
    path: str = "rule",
    self_id: int | None = None,
) -> None:
    """Fields, operators and values against the catalog; segment references that exist and do
    not lead back to `self_id` (directly or through other segments)."""
    errors = _Errors([])
    _check(node, path, catalog, segments, errors, seen=(self_id,) if self_id else ())
    errors.raise_if_any()


def _check(
    node: Node,
    path: str,
    catalog: Catalog,
    segments: SegmentLookup,
    errors: _Errors,
    *,
    seen: tuple[int, ...],
) -> None:
    match node:
        case AllOf():
            for i, child in enumerate(node.all):
                _check(child, f"{path}.all[{i}]", catalog, segments, errors, seen=seen)
        case AnyOf():
            for i, child in enumerate(node.any):
                _check(child, f"{path}.any[{i}]", catalog, segments, errors, seen=seen)
        case NotOf():
            _check(node.not_, f"{path}.not", catalog, segments, errors, seen=seen)
        case FieldCondition():
            _check_field(node, path, catalog, errors)
        case EventCondition():
            for i, item in enumerate(node.where):
                problem = property_problem(item)
                if problem:
                    errors.add(f"{path}.where[{i}]", problem)
            if node.within_days and node.between:
                errors.add(f"{path}.within_days", "give within_days or between, not both")
        case OrderCondition():
            if node.within_days and node.between:
                errors.add(f"{path}.within_days", "give within_days or between, not both")
        case SegmentCondition():
            _check_segment(node, path, catalog, segments, errors, seen=seen)
        case _:
            pass


def _check_segment(
    node: SegmentCondition,
    path: str,
    catalog: Catalog,
    segments: SegmentLookup,
    errors: _Errors,
    *,
    seen: tuple[int, ...],
) -> None:
    where = f"{path}.segment"
    if node.segment in seen:
        errors.add(where, f"segment {node.segment} would include itself (a cycle)")
        return
    ref = segments(node.segment)
    if ref is None:
        errors.add(where, f"unknown segment {node.segment}")
        return
    if ref.dynamic and ref.rule is not None:
        try:
            inner = parse_rule(ref.rule)
        except InvalidRule:
            errors.add(where, f"segment {node.segment} has an invalid rule")
            return
        before = len(errors.items)
        _check(inner, "", catalog, segments, errors, seen=(*seen, node.segment))
        if len(errors.items) > before:
            # Problems inside another segment are reported on the node that refers to it.
            del errors.items[before:]
            errors.add(where, f"segment {node.segment} cannot be used here (a cycle)")


def _check_field(node: FieldCondition, path: str, catalog: Catalog, errors: _Errors) -> None:
    spec = catalog.get(node.field)
    if spec is None:
        errors.add(f"{path}.field", f'unknown field "{node.field}"')
        return
    if node.op not in OPERATORS[spec.type]:
        allowed = ", ".join(sorted(OPERATORS[spec.type]))
        errors.add(
            f"{path}.op",
            f'operator "{node.op}" does not apply to {spec.type} field "{node.field}"; '
            f"use one of {allowed}",
        )
        return
    problem = value_problem(spec, node.op, node.value)
    if problem:
        errors.add(f"{path}.value", problem)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_iso_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def value_problem(spec: FieldSpec, op: str, value: Any) -> str | None:
    """Why `value` does not suit `op` on a field of this type; None when it does."""
    if op in NO_VALUE:
        return None if value is None else f'"{op}" takes no value'
    if op == "between":
        scalar = _is_number if spec.type == "number" else _is_iso_date
        if not (isinstance(value, list) and len(value) == 2 and all(scalar(v) for v in value)):
            kind = "numbers" if spec.type == "number" else "dates (YYYY-MM-DD)"
            return f"between needs a list of two {kind}"
        return None if value[0] <= value[1] else "the first bound must not exceed the second"
    if op in ("within_last", "within_next", "more_than_days_ago", "anniversary_within_next"):
        top = 365 if op == "anniversary_within_next" else MAX_DAYS
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top
        return None if ok else f"a whole number of days from 0 to {top}"
    if op == "top_percent":
        if not spec.name.startswith("profile."):
            return "top_percent applies to profile traits only"
        ok = _is_number(value) and 0 < value <= 100
        return None if ok else "a percentage above 0, up to 100"
    if op == "in_current":
        return None if value in ("day", "week", "month", "year") else "day, week, month or year"
    if op in ("on", "before", "after"):
        return None if _is_iso_date(value) else "a date written YYYY-MM-DD"
    if spec.type == "number":
        return None if _is_number(value) else "a number"
    if spec.type == "boolean":
        return None if isinstance(value, bool) else "true or false"
    if op in ("in", "not_in", "has_any", "has_all", "has_none"):
        if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
            return "a non-empty list of texts"
        return _choice_problem(spec, value)
    if not isinstance(value, str) or (not value and op != "eq" and op != "ne"):
        return "a text"
    return _choice_problem(spec, [value])


def _choice_problem(spec: FieldSpec, values: list[str]) -> str | None:
    if spec.type not in ("choice", "multi_choice") or not spec.choices:
        return None
    unknown = [v for v in values if v not in spec.choices]
    if unknown:
        return f'"{unknown[0]}" is not one of {", ".join(spec.choices)}'
    return None


def property_problem(item: PropertyFilter) -> str | None:
    if item.op not in PROPERTY_OPS:
        return f'unknown operator "{item.op}"; use one of {", ".join(sorted(PROPERTY_OPS))}'
    value = item.value
    if item.op in ("exists", "not_exists"):
        return None if value is None else f'"{item.op}" takes no value'
    if item.op in ("lt", "le", "gt", "ge"):
        return None if _is_number(value) else "a number"
    if item.op == "between":
        ok = isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
        return None if ok and value[0] <= value[1] else "a list of two numbers, low to high"
    if item.op in ("in", "not_in"):
        ok = bool(
            isinstance(value, list)
            and value
            and all(isinstance(v, str | int | float) for v in value)
        )
        return None if ok else "a non-empty list of texts or numbers"
    if item.op in ("contains", "starts_with"):
        return None if isinstance(value, str) and value else "a text"
    return None if isinstance(value, str | int | float | bool) else "a text, number or boolean"
