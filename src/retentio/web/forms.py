"""Reading posted forms, and turning a rejected write into messages next to each field.

Every form page re-renders a rejected form with what the person typed and the reason beside
the field: pydantic names the field in an error's `loc`, domain errors (`InvalidInput` and
friends) in `details["field"]`. Errors that name no field are shown above the form.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from retentio.errors import RetentioError

GENERAL = "__all__"
_LIST_SPLIT = re.compile(r"[\n,;]+")


async def form_data(request: Request) -> FormData:
    """The posted form, for pages whose fields are not known in advance (custom fields)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


def text(form: FormData, name: str) -> str | None:
    """A single text value, stripped; blank means `None`."""
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def texts(form: FormData, name: str) -> list[str]:
    """Every non-blank value posted under `name` (checkboxes, multiple selects)."""
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def items(form: FormData, name: str) -> list[str]:
    """One text field holding a list: one item per line, or separated by commas."""
    return [part.strip() for part in _LIST_SPLIT.split(text(form, name) or "") if part.strip()]


def ints(form: FormData, name: str) -> list[int]:
    return [int(v) for v in texts(form, name) if v.isdigit()]


def posted(form: FormData) -> dict[str, str | list[str]]:
    """Everything posted, to fill a rejected form again: a list where a name came repeatedly."""
    values: dict[str, str | list[str]] = {}
    for name in form:
        sent = [v for v in form.getlist(name) if isinstance(v, str)]
        values[name] = sent[0] if len(sent) == 1 else sent
    return values


def field_errors(error: ValidationError | RetentioError) -> dict[str, str]:
    """Messages keyed by form field name; `GENERAL` for those that name no field."""
    if isinstance(error, ValidationError):
        errors: dict[str, str] = {}
        for item in error.errors():
            name = _field_name([str(part) for part in item["loc"]])
            message = str(item["msg"]).removeprefix("Value error, ")
            errors.setdefault(name, f"{name}: {message}" if name != GENERAL else message)
        return errors
    details = error.details if isinstance(error.details, dict) else {}
    field = details.get("field")
    if not isinstance(field, str):
        return {GENERAL: error.message}
    return {_field_name(field.split(".")): error.message}


def _field_name(loc: list[str]) -> str:
    """`custom.<key>` keeps its key; other nested paths (`extra_emails.0`) name the field."""
    if not loc:
        return GENERAL
    if loc[0] == "custom" and len(loc) > 1:
        return f"custom.{loc[1]}"
    return loc[0]
