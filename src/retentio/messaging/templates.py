"""Message templates written by users: Jinja2 in the immutable sandbox.

Templates see plain data only — `contact` (names, addresses, city, custom fields), `profile`
(segment, lifecycle stage, CLV …), `links` (unsubscribe, preferences) and the message's own
variables — never ORM objects, so no attribute chain leads to the session, the settings or
Python internals. Anything the sandbox refuses becomes `TemplateRenderError` naming the part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Template, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from retentio.contacts.models import Contact
from retentio.errors import InvalidInput
from retentio.profiles.models import Profile

CONTACT_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "city",
    "region",
    "country",
    "language",
    "timezone",
    "birthday",
)
PROFILE_FIELDS = (
    "rfm_segment",
    "lifecycle_stage",
    "churn_band",
    "orders",
    "revenue",
    "average_check",
    "clv_12m",
    "p_alive",
    "last_order_at",
)


class TemplateRenderError(InvalidInput):
    code = "template_error"


def _finalize(value: Any) -> Any:
    # A contact without a city renders as nothing, not as "None".
    return "" if value is None else value


def _environment(*, html: bool) -> ImmutableSandboxedEnvironment:
    # Undefined (not StrictUndefined): a custom field one contact lacks renders empty rather
    # than failing that contact's message; `{{ x | default("…") }}` gives a fallback.
    env = ImmutableSandboxedEnvironment(autoescape=html, finalize=_finalize, undefined=Undefined)
    env.globals.clear()  # no range(), lipsum(), dict(), cycler … : nothing to reach through
    return env


_HTML = _environment(html=True)
_PLAIN = _environment(html=False)


@dataclass(frozen=True)
class CompiledContent:
    subject: Template
    preheader: Template
    html: Template
    text: Template


@dataclass(frozen=True)
class RenderedContent:
    subject: str
    preheader: str
    html: str
    text: str


@lru_cache(maxsize=256)
def compile_content(subject: str, preheader: str, html: str, text: str) -> CompiledContent:
    """Parsed once per distinct content, however many contacts it goes to."""
    parts = {"subject": subject, "preheader": preheader, "html": html, "text": text}
    compiled = {}
    for part, source in parts.items():
        try:
            compiled[part] = (_HTML if part == "html" else _PLAIN).from_string(source)
        except TemplateError as error:
            raise TemplateRenderError(
                f"The {part} template does not parse: {error}", details={"field": part}
            ) from error
    return CompiledContent(**compiled)


def render_content(content: CompiledContent, variables: dict[str, Any]) -> RenderedContent:
    rendered = {}
    for part in ("subject", "preheader", "html", "text"):
        try:
            rendered[part] = getattr(content, part).render(variables)
        except TemplateError as error:
            raise TemplateRenderError(
                f"The {part} template failed: {error}", details={"field": part}
            ) from error
        except (ArithmeticError, TypeError, ValueError, LookupError) as error:
            raise TemplateRenderError(
                f"The {part} template failed: {error!r}", details={"field": part}
            ) from error
    subject = " ".join(rendered["subject"].split())
    return RenderedContent(subject, rendered["preheader"], rendered["html"], rendered["text"])


def _plain(value: Any) -> Any:
    """Only scalars and containers of them get into a template."""
    if value is None or isinstance(value, str | int | float | bool | date | datetime):
        return value
    if isinstance(value, Decimal):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def contact_view(contact: Contact) -> dict[str, Any]:
    view: dict[str, Any] = {name: getattr(contact, name) for name in CONTACT_FIELDS}
    view["full_name"] = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    view["custom"] = _plain(contact.custom or {})
    return view


def profile_view(profile: Profile | None) -> dict[str, Any]:
    if profile is None:
        return dict.fromkeys(PROFILE_FIELDS)
    return {name: getattr(profile, name) for name in PROFILE_FIELDS}


def template_variables(
    contact: Contact,
    profile: Profile | None,
    *,
    links: Mapping[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    variables = {k: _plain(v) for k, v in (extra or {}).items()}
    variables.update(contact=contact_view(contact), profile=profile_view(profile), links=links)
    return variables
