"""JSON API of web forms: define, list, change, switch off; read submissions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.forms import queries, service
from retentio.forms.models import WebForm
from retentio.forms.schemas import FormIn, FormPatch, FormRead, SubmissionRead
from retentio.web.deps import SessionDep

router = APIRouter(prefix="/forms", tags=["forms"])
Marketer = Annotated[User, Depends(require(Permission.MARKETING))]


def form_read(form: WebForm) -> FormRead:
    stored = {name: getattr(form, name) for name in FormRead.model_fields if name != "conversion"}
    return FormRead.model_validate({**stored, "conversion": queries.conversion(form)})


@router.get("", response_model=list[FormRead])
def list_forms(session: SessionDep, _user: Marketer) -> list[FormRead]:
    return [form_read(f) for f in queries.list_forms(session)]


@router.post("", response_model=FormRead, status_code=status.HTTP_201_CREATED)
def create_form(body: FormIn, session: SessionDep, _user: Marketer) -> FormRead:
    return form_read(service.create_form(session, body, actor_id=_user.id))


@router.get("/{form_id}", response_model=FormRead)
def get_form(form_id: int, session: SessionDep, _user: Marketer) -> FormRead:
    return form_read(service.get_form(session, form_id))


@router.patch("/{form_id}", response_model=FormRead)
def update_form(form_id: int, body: FormPatch, session: SessionDep, _user: Marketer) -> FormRead:
    return form_read(service.update_form(session, form_id, body, actor_id=_user.id))


@router.delete("/{form_id}", status_code=status.HTTP_204_NO_CONTENT)
def deactivate_form(form_id: int, session: SessionDep, _user: Marketer) -> None:
    """Switch the form off; its submissions stay. PATCH `is_active` switches it back on."""
    service.deactivate_form(session, form_id, actor_id=_user.id)


@router.get("/{form_id}/submissions", response_model=list[SubmissionRead])
def list_submissions(
    form_id: int,
    session: SessionDep,
    _user: Marketer,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[SubmissionRead]:
    form = service.get_form(session, form_id)
    rows = queries.submissions_of(session, form.id, limit=limit, offset=offset)
    return [SubmissionRead.model_validate(s) for s in rows]
