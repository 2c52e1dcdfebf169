"""The company form: posted fields to `CompanyFields`, and a company back to form values.

Editing sends only the fields that changed, so the company's history records real changes
rather than every field on every save.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from starlette.datastructures import FormData

from retentio.companies.models import Company
from retentio.companies.schemas import CompanyFields, CompanySize
from retentio.fields.forms import custom_form_values, custom_from_form
from retentio.fields.models import CustomFieldDefinition
from retentio.kit.text import N_
from retentio.web.forms import text

SIZES: tuple[str, ...] = get_args(CompanySize)
TEXT_FIELDS = ("inn", "industry", "size", "city", "website", "owner_id")

LABELS: dict[str, str] = {
    "name": N_("Name"),
    "inn": N_("INN"),
    "industry": N_("Industry"),
    "size": N_("Size"),
    "city": N_("City"),
    "website": N_("Website"),
    "owner_id": N_("Owner"),
    "available_to_all": N_("Available to all"),
}


def fields_from_form(
    form: FormData,
    definitions: Sequence[CustomFieldDefinition],
    *,
    current: Company | None = None,
) -> CompanyFields:
    """Raises pydantic's ValidationError (a bad INN among them) naming the field."""
    raw: dict[str, Any] = {"name": text(form, "name") or ""}
    for name in TEXT_FIELDS:
        raw[name] = text(form, name)
    raw["available_to_all"] = text(form, "available_to_all") is not None
    raw["custom"] = custom_from_form(form, definitions)
    data = CompanyFields.model_validate(raw)
    if current is None:
        return data
    changed = {
        name: raw[name]
        for name in raw
        if name == "custom" or getattr(data, name) != getattr(current, name)
    }
    return CompanyFields.model_validate(changed)


def form_values(company: Company, definitions: Sequence[CustomFieldDefinition]) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(company, name) for name in ("name", *TEXT_FIELDS)}
    values["available_to_all"] = company.available_to_all
    values.update(custom_form_values(company.custom, definitions))
    return values
