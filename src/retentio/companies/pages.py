"""HTML pages of companies: the list, the card with its people and history, create and edit.

Every role may see companies; their contacts are shown as `contacts.access` allows, so a sales
user sees only their own people at a company.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retentio.audit.queries import history
from retentio.auth import queries as auth_queries
from retentio.auth.deps import CurrentUser, require
from retentio.auth.models import User
from retentio.auth.permissions import Permission, role_allows
from retentio.companies import queries, service
from retentio.companies.forms import LABELS, SIZES, fields_from_form, form_values
from retentio.companies.models import Company
from retentio.db import utcnow
from retentio.errors import RetentioError
from retentio.fields import queries as field_queries
from retentio.fields.forms import active
from retentio.fields.models import FieldEntity
from retentio.web.deps import SessionDep
from retentio.web.flash import flash
from retentio.web.forms import FormDep, field_errors, posted
from retentio.web.i18n import gettext as _
from retentio.web.listing import Listing
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
Editor = Annotated[User, Depends(require(Permission.EDIT_CUSTOMERS))]
SORTS = tuple(queries.SORT_COLUMNS)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/companies", response_class=HTMLResponse)
def company_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    listing = Listing.of(request, sorts=SORTS, default_sort="name")
    flt = queries.CompanyFilter(
        search=listing.get("q"), city=listing.get("city"), industry=listing.get("industry")
    )
    companies, total = queries.page(
        session, flt, sort=listing.sort, page_number=listing.page, per_page=listing.per_page
    )
    context = {
        "listing": listing,
        "pager": listing.pager(total),
        "companies": companies,
        "contact_counts": queries.contact_counts(session, user, [c.id for c in companies]),
        "cities": queries.distinct_values(session, Company.city),
        "industries": queries.distinct_values(session, Company.industry),
        "can_edit": role_allows(user.role, Permission.EDIT_CUSTOMERS),
    }
    return render(request, "companies/list.html", context)


@router.get("/companies/new", response_class=HTMLResponse)
def company_new(request: Request, session: SessionDep, user: Editor) -> Response:
    values = {"owner_id": user.id, "available_to_all": True}
    return _form_page(request, session, None, values=values, errors={})


@router.post("/companies/new", response_class=HTMLResponse)
def company_create(request: Request, session: SessionDep, user: Editor, form: FormDep) -> Response:
    definitions = field_queries.definitions(session, FieldEntity.COMPANY)
    try:
        company = service.create_company(
            session, fields_from_form(form, definitions), actor_id=user.id
        )
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, session, None, form, error)
    flash(request, _("Company created."))
    return _see_other(f"/companies/{company.id}")


@router.get("/companies/{company_id:int}", response_class=HTMLResponse)
def company_card(
    request: Request, session: SessionDep, user: CurrentUser, company_id: int
) -> Response:
    company = queries.live_company(session, company_id)
    definitions = field_queries.definitions(session, FieldEntity.COMPANY)
    context = {
        "company": company,
        "owner": auth_queries.names_by_id(session, [company.owner_id]).get(company.owner_id)
        if company.owner_id
        else None,
        "custom": [(d, company.custom[d.key]) for d in definitions if d.key in company.custom],
        "contacts": queries.contacts_of(session, user, company.id),
        "history": history(session, "company", company.id),
        "labels": LABELS,
        "can_edit": role_allows(user.role, Permission.EDIT_CUSTOMERS),
    }
    return render(request, "companies/card.html", context)


@router.get("/companies/{company_id:int}/edit", response_class=HTMLResponse)
def company_edit(request: Request, session: SessionDep, _user: Editor, company_id: int) -> Response:
    company = queries.live_company(session, company_id)
    values = form_values(company, field_queries.definitions(session, FieldEntity.COMPANY))
    return _form_page(request, session, company, values=values, errors={})


@router.post("/companies/{company_id:int}/edit", response_class=HTMLResponse)
def company_update(
    request: Request, session: SessionDep, user: Editor, form: FormDep, company_id: int
) -> Response:
    company = queries.live_company(session, company_id)
    definitions = field_queries.definitions(session, FieldEntity.COMPANY)
    try:
        data = fields_from_form(form, definitions, current=company)
        service.update_company(session, company, data, actor_id=user.id)
    except (ValidationError, RetentioError) as error:
        session.rollback()
        return _rejected(request, session, company, form, error)
    flash(request, _("Company saved."))
    return _see_other(f"/companies/{company.id}")


@router.post("/companies/{company_id:int}/delete")
def company_delete(
    request: Request, session: SessionDep, user: Editor, company_id: int
) -> Response:
    company = queries.live_company(session, company_id)
    service.delete_company(session, company, actor_id=user.id, now=utcnow())
    flash(request, _("Company %(name)s deleted.") % {"name": company.name})
    return _see_other("/companies")


def _rejected(
    request: Request,
    session: Session,
    company: Company | None,
    form: FormData,
    error: ValidationError | RetentioError,
) -> Response:
    status = error.status if isinstance(error, RetentioError) else 422
    return _form_page(
        request,
        session,
        company,
        values=posted(form),
        errors=field_errors(error),
        status_code=status,
    )


def _owner(values: dict[str, Any]) -> list[int]:
    owner = values.get("owner_id")
    if isinstance(owner, int):
        return [owner]
    return [int(owner)] if isinstance(owner, str) and owner.isdigit() else []


def _form_page(
    request: Request,
    session: Session,
    company: Company | None,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "company": company,
        "values": values,
        "errors": errors,
        "labels": LABELS,
        "sizes": SIZES,
        "users": auth_queries.user_choices(session, keep=_owner(values)),
        "definitions": active(field_queries.definitions(session, FieldEntity.COMPANY)),
    }
    return render(request, "companies/form.html", context, status_code=status_code)
