"""What a rule may filter on: every field with its type and, for choices, its values.

The catalog is the single list the validator, the compiler and the builder page read. A new
trait (NPS, loyalty tier) plugs in by adding a `FieldSpec` here and a column in
`compiler.FIELD_SOURCES`; nothing else changes. Custom fields come from their definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.fields.models import FieldEntity, FieldType
from retentio.fields.queries import definitions
from retentio.kit.text import N_
from retentio.loyalty.models import Tier
from retentio.predict.rfm import Segment as RfmSegment
from retentio.profiles.lifecycle import ChurnBand, LifecycleStage

ValueType = Literal["string", "number", "date", "datetime", "boolean", "choice", "multi_choice"]

# Operators each value type accepts; `ne`, `not_in`, `not_contains` are exactly NOT of their
# positive twin, so a contact with no value matches them (see compiler's module docstring).
OPERATORS: dict[ValueType, frozenset[str]] = {
    "string": frozenset(
        {"eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"}
        | {"is_empty", "is_not_empty"}
    ),
    "number": frozenset(
        {"eq", "ne", "lt", "le", "gt", "ge", "between", "is_empty", "is_not_empty"}
        | {"top_percent"}  # profile traits only: "top 10 % by CLV"
    ),
    "date": frozenset(
        {"on", "before", "after", "between", "within_last", "within_next", "more_than_days_ago"}
        | {"in_current", "anniversary_within_next", "is_empty", "is_not_empty"}
    ),
    "datetime": frozenset(
        {"on", "before", "after", "between", "within_last", "within_next", "more_than_days_ago"}
        | {"in_current", "is_empty", "is_not_empty"}
    ),
    "boolean": frozenset({"eq", "is_empty", "is_not_empty"}),
    "choice": frozenset({"eq", "ne", "in", "not_in", "is_empty", "is_not_empty"}),
    "multi_choice": frozenset({"has_any", "has_all", "has_none", "is_empty", "is_not_empty"}),
}
NO_VALUE = frozenset({"is_empty", "is_not_empty"})
NEGATIVE = {"ne": "eq", "not_in": "in", "not_contains": "contains", "has_none": "has_any"}


@dataclass(frozen=True)
class FieldSpec:
    name: str  # as written in a rule: `contact.city`, `profile.p_alive`, `custom.vip_level`
    type: ValueType
    label: str
    choices: tuple[str, ...] = ()


def _spec(name: str, type: ValueType, label: str, choices: tuple[str, ...] = ()) -> FieldSpec:
    return FieldSpec(name=name, type=type, label=label, choices=choices)


CONTACT_FIELDS: tuple[FieldSpec, ...] = (
    _spec("contact.first_name", "string", N_("First name")),
    _spec("contact.last_name", "string", N_("Last name")),
    _spec("contact.middle_name", "string", N_("Middle name")),
    _spec("contact.email", "string", N_("E-mail")),
    _spec("contact.phone", "string", N_("Phone")),
    _spec("contact.telegram", "string", N_("Telegram")),
    _spec("contact.gender", "choice", N_("Gender"), ("f", "m")),
    _spec("contact.birthday", "date", N_("Birthday")),
    _spec("contact.city", "string", N_("City")),
    _spec("contact.region", "string", N_("Region")),
    _spec("contact.country", "string", N_("Country")),
    _spec("contact.timezone", "string", N_("Time zone")),
    _spec("contact.language", "string", N_("Language")),
    _spec("contact.source", "string", N_("Source")),
    _spec("contact.utm_source", "string", "utm_source"),
    _spec("contact.utm_medium", "string", "utm_medium"),
    _spec("contact.utm_campaign", "string", "utm_campaign"),
    _spec("contact.utm_content", "string", "utm_content"),
    _spec("contact.utm_term", "string", "utm_term"),
    _spec("contact.owner_id", "number", N_("Owner")),
    _spec("contact.created_at", "datetime", N_("Signed up")),
)
COMPANY_FIELDS: tuple[FieldSpec, ...] = (
    _spec("company.name", "string", N_("Company")),
    _spec("company.industry", "string", N_("Industry")),
    _spec("company.size", "string", N_("Company size")),
    _spec("company.city", "string", N_("Company city")),
    _spec("company.inn", "string", N_("INN")),
)
PROFILE_FIELDS: tuple[FieldSpec, ...] = (
    _spec("profile.rfm_segment", "choice", N_("RFM segment"), tuple(s.value for s in RfmSegment)),
    _spec("profile.r_score", "number", N_("Recency score")),
    _spec("profile.f_score", "number", N_("Frequency score")),
    _spec("profile.m_score", "number", N_("Monetary score")),
    _spec("profile.p_alive", "number", N_("P(alive)")),
    _spec("profile.clv_12m", "number", N_("Predicted CLV, 12 months")),
    _spec("profile.churn_band", "choice", N_("Churn risk"), tuple(b.value for b in ChurnBand)),
    _spec(
        "profile.lifecycle_stage",
        "choice",
        N_("Lifecycle stage"),
        tuple(s.value for s in LifecycleStage),
    ),
    _spec("profile.revenue", "number", N_("Revenue")),
    _spec("profile.orders", "number", N_("Orders")),
    _spec("profile.average_check", "number", N_("Average check")),
    _spec("profile.recency_days", "number", N_("Days since last order")),
    _spec("profile.expected_purchases_90d", "number", N_("Expected purchases, 90 days")),
    _spec("profile.first_order_at", "datetime", N_("First order")),
    _spec("profile.last_order_at", "datetime", N_("Last order")),
)
BUILT_IN: dict[str, FieldSpec] = {
    s.name: s for s in (*CONTACT_FIELDS, *COMPANY_FIELDS, *PROFILE_FIELDS)
}
CUSTOM_PREFIXES = {FieldEntity.CONTACT: "custom.", FieldEntity.COMPANY: "company.custom."}
_CUSTOM_TYPES: dict[FieldType, ValueType] = {
    FieldType.STRING: "string",
    FieldType.NUMBER: "number",
    FieldType.DATE: "date",
    FieldType.BOOLEAN: "boolean",
    FieldType.CHOICE: "choice",
    FieldType.MULTI_CHOICE: "multi_choice",
}


@dataclass(frozen=True)
class Catalog:
    fields: dict[str, FieldSpec]

    def get(self, name: str) -> FieldSpec | None:
        return self.fields.get(name)


def load_catalog(session: Session) -> Catalog:
    """Built-in fields, the loyalty balance and tier (its choices: the tiers that exist), and
    the live (not archived) custom fields of contacts and companies."""
    fields = dict(BUILT_IN)
    tiers = tuple(session.scalars(select(Tier.name).order_by(Tier.threshold, Tier.id)))
    fields["loyalty.balance"] = _spec("loyalty.balance", "number", N_("Loyalty points"))
    fields["loyalty.tier"] = _spec("loyalty.tier", "choice", N_("Loyalty tier"), tiers)
    for entity, prefix in CUSTOM_PREFIXES.items():
        for definition in definitions(session, entity):
            if definition.archived:
                continue
            name = prefix + definition.key
            fields[name] = FieldSpec(
                name=name,
                type=_CUSTOM_TYPES[definition.type],
                label=definition.label,
                choices=tuple(definition.choices or ()),
            )
    return Catalog(fields)
