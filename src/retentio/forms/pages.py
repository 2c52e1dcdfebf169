"""HTML pages of web forms under /settings/forms: the list with counters, a form's page with
its embed snippet and latest submissions, and the editor.

The editor is a plain HTML form whose rows are numbered (`fields-0-label`, `consents-1-text`);
"More rows" re-renders it with blank rows, so it works without any script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.consent.models import Channel, Purpose
from retentio.errors import RetentioError
from retentio.events.sources import list_sources
from retentio.fields import queries as field_queries
from retentio.fields.models import FieldEntity
from retentio.forms import queries, service
from retentio.forms.models import WebForm
from retentio.forms.schemas import CONTACT_FIELDS, FIELD_KINDS, FormIn, FormPatch, parse
from retentio.kit.text import N_
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep
from retentio.web.i18n import gettext as _
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Marketer = Annotated[User, Depends(require(Permission.MARKETING))]
RECENT = 20
ROW_NAME = re.compile(r"^(fields|consents)-(\d+)-")
ERROR_PATH = re.compile(r"^(fields|consents)\.(\d+)\.(\w+)")
FIELD_COLUMNS = ("name", "label", "maps_to", "kind")
CONSENT_COLUMNS = ("key", "channel", "purpose", "text")

TARGET_LABELS = {
    "first_name": N_("First name"),
    "last_name": N_("Last name"),
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "city": N_("City"),
    "birthday": N_("Birthday"),
    "telegram": N_("Telegram"),
}
KIND_LABELS = {
    "text": N_("Text"),
    "email": N_("E-mail"),
    "tel": N_("Phone"),
    "date": N_("Date"),
    "checkbox": N_("Checkbox"),
}
CHANNEL_LABELS = {
    Channel.EMAIL: N_("E-mail"),
    Channel.SMS: N_("SMS"),
    Channel.MESSENGER: N_("Messenger"),
    Channel.PHONE: N_("Phone calls"),
}
PURPOSE_LABELS = {Purpose.MARKETING: N_("Marketing"), Purpose.TRANSACTIONAL: N_("Transactional")}


@dataclass
class Editor:
    """What the editor shows: the values as typed, and errors keyed by input name."""

    values: dict[str, Any]
    field_rows: list[dict[str, Any]]
    consent_rows: list[dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@router.get("/settings/forms", response_class=HTMLResponse)
def form_list(request: Request, session: SessionDep, _user: Marketer) -> Response:
    forms = queries.list_forms(session)
    context = {
        "forms": forms,
        "conversion": {f.id: queries.conversion(f) for f in forms},
        "source_names": {s.id: s.name for s in list_sources(session)},
    }
    return render(request, "forms/list.html", context)


@router.get("/settings/forms/new", response_class=HTMLResponse)
def form_new(request: Request, session: SessionDep, _user: Marketer) -> Response:
    return _editor(request, session, None, _starting_editor())


@router.post("/settings/forms/new", response_class=HTMLResponse)
def form_create(
    request: Request, session: SessionDep, _user: Marketer, posted: FormDep
) -> Response:
    editor, kept = _editor_from(posted)
    if posted.get("action") == "more":
        return _editor(request, session, None, _with_blank_rows(editor))
    try:
        definition = parse(FormIn, _definition(editor, kept))
        form = service.create_form(session, definition, actor_id=_user.id)
    except RetentioError as error:
        session.rollback()
        return _rejected(request, session, None, editor, kept, error)
    flash(request, _("Form {name} created.").format(name=form.name))
    return RedirectResponse(f"/settings/forms/{form.id}", status_code=303)


@router.get("/settings/forms/{form_id}", response_class=HTMLResponse)
def form_card(
    request: Request, session: SessionDep, settings: SettingsDep, _user: Marketer, form_id: int
) -> Response:
    form = service.get_form(session, form_id)
    context = {
        "form": form,
        "conversion": queries.conversion(form),
        "source": next((s for s in list_sources(session) if s.id == form.source_id), None),
        "recent": queries.recent_submissions(session, form.id, limit=RECENT),
        "base_url": settings.base_url.rstrip("/"),
        "target_labels": TARGET_LABELS,
        "kind_labels": KIND_LABELS,
        "channel_labels": CHANNEL_LABELS,
        "purpose_labels": PURPOSE_LABELS,
    }
    return render(request, "forms/card.html", context)


@router.get("/settings/forms/{form_id}/edit", response_class=HTMLResponse)
def form_edit(request: Request, session: SessionDep, _user: Marketer, form_id: int) -> Response:
    form = service.get_form(session, form_id)
    return _editor(request, session, form, _with_blank_rows(_editor_of(form)))


@router.post("/settings/forms/{form_id}/edit", response_class=HTMLResponse)
def form_update(
    request: Request, session: SessionDep, _user: Marketer, form_id: int, posted: FormDep
) -> Response:
    form = service.get_form(session, form_id)
    editor, kept = _editor_from(posted)
    if posted.get("action") == "more":
        return _editor(request, session, form, _with_blank_rows(editor))
    try:
        definition = parse(FormIn, _definition(editor, kept))
        patch = FormPatch.model_validate(definition.model_dump())
        service.update_form(session, form.id, patch, actor_id=_user.id)
    except RetentioError as error:
        session.rollback()
        return _rejected(request, session, form, editor, kept, error)
    flash(request, _("Form {name} saved.").format(name=definition.name))
    return RedirectResponse(f"/settings/forms/{form.id}", status_code=303)


def _editor(
    request: Request,
    session: Session,
    form: WebForm | None,
    editor: Editor,
    *,
    status_code: int = 200,
) -> Response:
    definitions = field_queries.definitions(session, FieldEntity.CONTACT)
    targets = [(t, _(TARGET_LABELS[t])) for t in CONTACT_FIELDS]
    targets += [(f"custom.{d.key}", d.label) for d in definitions if not d.archived]
    context = {
        "edited": form,
        "editor": editor,
        "sources": list_sources(session),
        "targets": targets,
        "kinds": [(k, _(KIND_LABELS[k])) for k in FIELD_KINDS],
        "channels": [(c.value, _(label)) for c, label in CHANNEL_LABELS.items()],
        "purposes": [(p.value, _(label)) for p, label in PURPOSE_LABELS.items()],
    }
    return render(request, "forms/edit.html", context, status_code=status_code)


def _rejected(
    request: Request,
    session: Session,
    form: WebForm | None,
    editor: Editor,
    kept: dict[str, list[int]],
    error: RetentioError,
) -> Response:
    """The editor again, as typed, with the message and the offending input marked."""
    editor.error = error.message
    name = _input_name(error, kept)
    if name:
        editor.errors[name] = error.message
    return _editor(request, session, form, editor, status_code=error.status)


def _input_name(error: RetentioError, kept: dict[str, list[int]]) -> str | None:
    """`fields.1.maps_to` (position among the rows kept) → `fields-3-maps_to` (row on the page)."""
    path = error.details.get("field") if isinstance(error.details, dict) else None
    if not isinstance(path, str):
        return None
    match = ERROR_PATH.match(path)
    if match is None:
        return path
    group, position, column = match.group(1), int(match.group(2)), match.group(3)
    rows = kept[group]
    return f"{group}-{rows[position]}-{column}" if position < len(rows) else None


def _starting_editor() -> Editor:
    rows = [
        _field_row(name="email", label=_("E-mail"), maps_to="email", kind="email", required=True),
        _field_row(name="first_name", label=_("Your name"), maps_to="first_name"),
    ]
    values = {"name": "", "success_message": _("Thank you!"), "is_active": True}
    return _with_blank_rows(Editor(values=values, field_rows=rows, consent_rows=[]))


def _editor_of(form: WebForm) -> Editor:
    values = {
        "name": form.name,
        "success_message": form.success_message,
        "tag": form.tag or "",
        "source_id": str(form.source_id or ""),
        "is_active": form.is_active,
    }
    return Editor(
        values=values,
        field_rows=[_field_row(**f) for f in form.fields],
        consent_rows=[
            _consent_row(**{k: v for k, v in c.items() if k != "history"}) for c in form.consents
        ],
    )


def _with_blank_rows(editor: Editor) -> Editor:
    editor.field_rows.append(_field_row())
    editor.consent_rows.append(_consent_row())
    return editor


def _field_row(
    *,
    name: str = "",
    label: str = "",
    maps_to: str = "",
    kind: str = "text",
    required: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "maps_to": maps_to,
        "kind": kind,
        "required": required,
        "overwrite": overwrite,
    }


def _consent_row(
    *,
    key: str = "",
    channel: str = "email",
    purpose: str = "marketing",
    text: str = "",
    required: bool = False,
    version: str = "",
) -> dict[str, Any]:
    return {
        "key": key,
        "channel": channel,
        "purpose": purpose,
        "text": text,
        "required": required,
        "version": version,
    }


def _editor_from(posted: FormData) -> tuple[Editor, dict[str, list[int]]]:
    """The editor as posted, and which page rows hold something (deleted and blank ones don't)."""
    values = {
        "name": _text(posted, "name"),
        "success_message": _text(posted, "success_message"),
        "tag": _text(posted, "tag"),
        "source_id": _text(posted, "source_id"),
        "is_active": posted.get("is_active") == "true",
    }
    rows: dict[str, list[dict[str, Any]]] = {"fields": [], "consents": []}
    kept: dict[str, list[int]] = {"fields": [], "consents": []}
    for group, index in _row_numbers(posted):
        columns = FIELD_COLUMNS if group == "fields" else CONSENT_COLUMNS
        row: dict[str, Any] = {c: _text(posted, f"{group}-{index}-{c}") for c in columns}
        for flag in ("required", "overwrite", "delete"):
            row[flag] = posted.get(f"{group}-{index}-{flag}") == "true"
        row["version"] = _text(posted, f"{group}-{index}-version")
        if row["delete"]:
            continue
        row["row"] = len(rows[group])
        rows[group].append(row)
        if _filled(group, row):
            kept[group].append(row["row"])
    editor = Editor(values=values, field_rows=rows["fields"], consent_rows=rows["consents"])
    return editor, kept


def _row_numbers(posted: FormData) -> list[tuple[str, int]]:
    found = {(m.group(1), int(m.group(2))) for key in posted if (m := ROW_NAME.match(key))}
    return sorted(found)


def _filled(group: str, row: dict[str, Any]) -> bool:
    if group == "fields":
        return any(row[c] for c in ("name", "label", "maps_to"))
    return any(row[c] for c in ("key", "text"))


def _definition(editor: Editor, kept: dict[str, list[int]]) -> dict[str, Any]:
    source = editor.values["source_id"]
    return {
        "name": editor.values["name"],
        "success_message": editor.values["success_message"],
        "tag": editor.values["tag"] or None,
        "source_id": int(source) if source.isdigit() else None,
        "is_active": editor.values["is_active"],
        "fields": [
            {k: editor.field_rows[i][k] for k in (*FIELD_COLUMNS, "required", "overwrite")}
            for i in kept["fields"]
        ],
        "consents": [
            {k: editor.consent_rows[i][k] for k in (*CONSENT_COLUMNS, "required")}
            for i in kept["consents"]
        ],
    }


def _text(posted: FormData, name: str) -> str:
    value = posted.get(name)
    return value.strip() if isinstance(value, str) else ""
