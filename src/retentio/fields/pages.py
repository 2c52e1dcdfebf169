"""The custom fields settings page: each entity's fields, adding one, renaming a label.

Values are stored under a field's key, which never changes; renaming the label is safe and
keeps every stored value.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.errors import RetentioError
from retentio.fields import queries, service
from retentio.fields.models import FieldEntity, FieldType
from retentio.fields.schemas import FieldDefinitionIn, FieldRelabel
from retentio.kit.text import N_
from retentio.web.deps import SessionDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, field_errors, items, posted, text
from retentio.web.i18n import gettext as _
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[User, Depends(require(Permission.MANAGE_SETTINGS))]

ENTITY_LABELS = {
    FieldEntity.CONTACT: N_("Contacts"),
    FieldEntity.COMPANY: N_("Companies"),
    FieldEntity.ORDER: N_("Orders"),
    FieldEntity.DEAL: N_("Deals"),
}
TYPE_LABELS = {
    FieldType.STRING: N_("Text"),
    FieldType.NUMBER: N_("Number"),
    FieldType.DATE: N_("Date"),
    FieldType.BOOLEAN: N_("Yes / no"),
    FieldType.CHOICE: N_("One of a list"),
    FieldType.MULTI_CHOICE: N_("Several of a list"),
}


@router.get("/settings/fields", response_class=HTMLResponse)
def field_list(request: Request, session: SessionDep, _admin: Admin) -> Response:
    return _page(request, session, values={"entity": FieldEntity.CONTACT.value}, errors={})


@router.post("/settings/fields", response_class=HTMLResponse)
def field_create(request: Request, session: SessionDep, _admin: Admin, form: FormDep) -> Response:
    raw = {
        "entity": text(form, "entity"),
        "key": text(form, "key") or "",
        "label": text(form, "label") or "",
        "type": text(form, "type"),
        "choices": items(form, "choices"),
        "required": text(form, "required") is not None,
    }
    try:
        body = FieldDefinitionIn.model_validate(raw)
        definition = service.define_field(
            session,
            entity=body.entity,
            key=body.key,
            label=body.label,
            type=body.type,
            choices=body.choices,
            required=body.required,
        )
    except (ValidationError, RetentioError) as error:
        session.rollback()
        status = error.status if isinstance(error, RetentioError) else 422
        return _page(
            request, session, values=posted(form), errors=field_errors(error), status_code=status
        )
    service.audit_definition(session, definition, action="create", actor_id=_admin.id)
    flash(request, _("Field “%(label)s” added.") % {"label": definition.label})
    return RedirectResponse("/settings/fields", status_code=303)


@router.post("/settings/fields/{field_id:int}/label")
def field_relabel(
    request: Request, session: SessionDep, _admin: Admin, form: FormDep, field_id: int
) -> Response:
    try:
        body = FieldRelabel.model_validate({"label": text(form, "label") or ""})
        definition = service.relabel_field(session, field_id, label=body.label)
    except ValidationError:
        flash(request, _("A label cannot be empty."), "error")
    else:
        service.audit_definition(session, definition, action="update", actor_id=_admin.id)
        flash(request, _("Label changed to “%(label)s”.") % {"label": definition.label})
    return RedirectResponse("/settings/fields", status_code=303)


def _page(
    request: Request,
    session: Session,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "groups": [(e, ENTITY_LABELS[e], queries.definitions(session, e)) for e in FieldEntity],
        "entity_labels": ENTITY_LABELS,
        "type_labels": TYPE_LABELS,
        "values": values,
        "errors": errors,
    }
    return render(request, "fields/settings.html", context, status_code=status_code)
