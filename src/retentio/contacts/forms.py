"""The contact form: posted fields to `ContactFields`, and a contact back to form values.

Creating leaves blank fields out; editing sends every field, so clearing an input clears the
value. Extra addresses and external ids can only be added here: an identity is how imports and
events find the person, so removing one is a deliberate act elsewhere, not a cleared textarea.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.datastructures import FormData

from retentio.contacts.models import Contact
from retentio.contacts.schemas import ContactFields
from retentio.errors import InvalidInput
from retentio.fields.forms import custom_form_values, custom_from_form
from retentio.fields.models import CustomFieldDefinition
from retentio.kit.text import N_
from retentio.web.forms import items, text, texts

TEXT_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "telegram",
    "gender",
    "birthday",
    "city",
    "region",
    "country",
    "timezone",
    "language",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "company_id",
    "owner_id",
)

LABELS: dict[str, str] = {
    "first_name": N_("First name"),
    "middle_name": N_("Middle name"),
    "last_name": N_("Last name"),
    "email": N_("E-mail"),
    "extra_emails": N_("Other e-mails"),
    "phone": N_("Phone"),
    "extra_phones": N_("Other phones"),
    "telegram": N_("Telegram"),
    "gender": N_("Gender"),
    "birthday": N_("Birthday"),
    "city": N_("City"),
    "region": N_("Region"),
    "country": N_("Country"),
    "timezone": N_("Time zone"),
    "language": N_("Language"),
    "company_id": N_("Company"),
    "source": N_("Source"),
    "utm_source": N_("UTM source"),
    "utm_medium": N_("UTM medium"),
    "utm_campaign": N_("UTM campaign"),
    "utm_content": N_("UTM content"),
    "utm_term": N_("UTM term"),
    "owner_id": N_("Owner"),
    "watcher_ids": N_("Watchers"),
    "available_to_all": N_("Available to all"),
    "tags": N_("Tags"),
    "external_ids": N_("External ids"),
    "custom": N_("Custom fields"),
}


def fields_from_form(
    form: FormData, definitions: Sequence[CustomFieldDefinition], *, creating: bool
) -> ContactFields:
    """Raises pydantic's ValidationError or InvalidInput, both naming the field."""
    raw: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = text(form, name)
        if value is not None or not creating:
            raw[name] = value
    raw["available_to_all"] = text(form, "available_to_all") is not None
    raw["tags"] = items(form, "tags")
    raw["watcher_ids"] = texts(form, "watcher_ids")
    for name in ("extra_emails", "extra_phones"):
        if listed := items(form, name):
            raw[name] = listed
    if externals := external_ids(text(form, "external_ids") or ""):
        raw["external_ids"] = externals
    raw["custom"] = custom_from_form(form, definitions)
    return ContactFields.model_validate(raw)


def external_ids(block: str) -> dict[str, str]:
    """`system: id` per line, e.g. `shop: 1042`."""
    result: dict[str, str] = {}
    for line in block.splitlines():
        if not line.strip():
            continue
        system, colon, value = line.partition(":")
        if not colon or not system.strip() or not value.strip():
            raise InvalidInput(
                f"external_ids: write one id per line as system: id, not {line.strip()!r}.",
                details={"field": "external_ids"},
            )
        result[system.strip()] = value.strip()
    return result


def form_values(
    contact: Contact,
    *,
    tags: Sequence[str],
    watcher_ids: Sequence[int],
    definitions: Sequence[CustomFieldDefinition],
) -> dict[str, Any]:
    """What the edit form shows for this contact."""
    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = getattr(contact, name)
        values[name] = value.isoformat() if hasattr(value, "isoformat") else value
    values["available_to_all"] = contact.available_to_all
    values["tags"] = ", ".join(tags)
    values["watcher_ids"] = [str(w) for w in watcher_ids]
    values.update(custom_form_values(contact.custom, definitions))
    return values
