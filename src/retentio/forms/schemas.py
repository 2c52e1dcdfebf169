"""Pydantic shapes of web forms: the definition an admin writes, what a visitor submits, and
what the API returns.

A definition is checked here as far as it can be without the database (names unique, an
e-mail or phone field present, each field's kind fitting the contact field it fills); the
service checks custom fields and the source against the database.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from retentio.consent.models import Channel, Purpose
from retentio.errors import InvalidInput

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
CUSTOM_PREFIX = "custom."
CUSTOM_KEY_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "city", "birthday", "telegram")
# Contact fields whose values must be of one kind; the rest are plain text.
KIND_OF_FIELD = {"email": "email", "phone": "tel", "birthday": "date"}
IDENTIFYING_FIELDS = frozenset({"email", "phone"})
MAX_FIELDS = 30
MAX_CONSENTS = 10

M = TypeVar("M", bound=BaseModel)
FieldKind = Literal["text", "email", "tel", "date", "checkbox"]
FIELD_KINDS: tuple[FieldKind, ...] = ("text", "email", "tel", "date", "checkbox")


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(pattern=NAME_PATTERN, description="Key in the submitted data")
    label: str = Field(min_length=1, max_length=200)
    maps_to: str = Field(
        description="A contact field (first_name, last_name, email, phone, city, birthday, "
        "telegram) or custom.<key> of a contact custom field",
        examples=["email", "custom.shoe_size"],
    )
    required: bool = False
    kind: FieldKind = "text"
    overwrite: bool = Field(
        default=False,
        description="Replace a value the contact already has; by default only empty fields fill",
    )

    @field_validator("maps_to")
    @classmethod
    def _known_target(cls, value: str) -> str:
        if value in CONTACT_FIELDS:
            return value
        key = value.removeprefix(CUSTOM_PREFIX)
        if value.startswith(CUSTOM_PREFIX) and re.fullmatch(CUSTOM_KEY_PATTERN, key):
            return value
        raise ValueError(f"use one of {', '.join(CONTACT_FIELDS)} or custom.<key>")

    @model_validator(mode="after")
    def _kind_fits_target(self) -> FormField:
        expected = KIND_OF_FIELD.get(self.maps_to, "text")
        if self.maps_to in CONTACT_FIELDS and self.kind != expected:
            message = f"a field filling {self.maps_to} must be of kind {expected}"
            raise RuleBroken(("kind",), message).as_validation_error(type(self).__name__)
        return self

    @property
    def custom_key(self) -> str | None:
        return self.maps_to.removeprefix(CUSTOM_PREFIX) if self.is_custom else None

    @property
    def is_custom(self) -> bool:
        return self.maps_to.startswith(CUSTOM_PREFIX)


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str = Field(pattern=NAME_PATTERN)
    channel: Channel
    purpose: Purpose = Purpose.MARKETING
    text: str = Field(min_length=1, max_length=2000, description="Shown beside the checkbox")
    required: bool = Field(default=False, description="The form cannot be sent unticked")


class ConsentVersion(BaseModel):
    version: str
    text: str


class ConsentRead(ConsentIn):
    version: str = Field(description="Goes up whenever the text, channel or purpose changes")
    history: list[ConsentVersion] = Field(
        default_factory=list, description="Earlier wordings, the proof of what people agreed to"
    )


class FormIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    fields: list[FormField] = Field(min_length=1, max_length=MAX_FIELDS)
    consents: list[ConsentIn] = Field(default_factory=list, max_length=MAX_CONSENTS)
    success_message: str = Field(default="", max_length=2000)
    tag: str | None = Field(default=None, max_length=100, description="Applied to submitters")
    source_id: int | None = Field(
        default=None, description="Its allowed origins may embed the form"
    )
    is_active: bool = True

    @field_validator("tag")
    @classmethod
    def _empty_tag_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _consistent(self) -> FormIn:
        try:
            check_definition(self.fields, self.consents)
        except RuleBroken as broken:
            raise broken.as_validation_error(type(self).__name__) from None
        return self


class FormPatch(BaseModel):
    """A partial update; lists given replace the whole list."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    fields: list[FormField] | None = Field(default=None, min_length=1, max_length=MAX_FIELDS)
    consents: list[ConsentIn] | None = Field(default=None, max_length=MAX_CONSENTS)
    success_message: str | None = Field(default=None, max_length=2000)
    tag: str | None = Field(default=None, max_length=100)
    source_id: int | None = None
    is_active: bool | None = None


class FormRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    public_id: str = Field(description="The id in the embed snippet")
    name: str
    fields: list[FormField]
    consents: list[ConsentRead]
    success_message: str
    tag: str | None
    source_id: int | None
    views: int
    submissions: int
    conversion: float | None = Field(description="Submissions per view, in per cent")
    is_active: bool
    created_at: datetime
    updated_at: datetime


class SubmissionIn(BaseModel):
    """What the embedded form posts."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, str | bool | None] = Field(default_factory=dict)
    consents: dict[str, bool] = Field(default_factory=dict)
    anonymous_id: str | None = Field(default=None, max_length=300)
    page_url: str | None = Field(default=None, max_length=2000)
    campaign: dict[str, str] | None = None


class SubmissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    form_id: int
    contact_id: int
    data: dict[str, Any]
    ip: str | None
    submitted_at: datetime


class RuleBroken(ValueError):
    """A rule across the rows of a definition, with the path of the row that breaks it."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc

    @property
    def path(self) -> str:
        return ".".join(str(part) for part in self.loc)

    def as_validation_error(self, title: str) -> ValidationError:
        # Raised from a model validator, this keeps the row's path: the API then names
        # `fields.1.name`, not the whole body.
        error = PydanticCustomError("definition", str(self))
        return ValidationError.from_exception_data(
            title, [InitErrorDetails(type=error, loc=self.loc, input=None)]
        )

    def as_invalid_input(self) -> InvalidInput:
        return InvalidInput(f"{self.path}: {self}", details={"field": self.path})


def check_definition(fields: list[FormField], consents: list[ConsentIn]) -> None:
    """Rules across rows of a definition; RuleBroken names the offending row."""
    _unique([f.name for f in fields], "fields", "name")
    _unique([f.maps_to for f in fields], "fields", "maps_to")
    _unique([c.key for c in consents], "consents", "key")
    _unique([f"{c.channel}/{c.purpose}" for c in consents], "consents", "channel")
    if not IDENTIFYING_FIELDS & {f.maps_to for f in fields}:
        raise RuleBroken(("fields",), "a form needs an e-mail or phone field to know who sent it")


def parse(model: type[M], raw: dict[str, Any]) -> M:
    """Validate input that did not come through FastAPI's body parsing (a page's form post,
    a text/plain body), raising InvalidInput that names the first bad field."""
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidInput(f"{where}: {message}", details={"field": where}) from error


def _unique(values: list[str], group: str, attribute: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise RuleBroken((group, index, attribute), f"{value!r} appears twice")
        seen.add(value)
