"""What a shop's visitors reach: the embed script of a form, its view counter and submission.

Public endpoints, called from the shop's pages: a browser may post only from an origin that the
form's tracking source lists (a form without a source takes no cross-origin posts). The form's
`public_id` is the only identifier they accept.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from retentio.db import utcnow
from retentio.errors import RetentioError
from retentio.events.followups import after_ingest
from retentio.events.models import Source
from retentio.events.tracker import source_allows
from retentio.forms import queries, service
from retentio.forms.models import WebForm
from retentio.forms.schemas import FormField, SubmissionIn, parse
from retentio.web.csrf import csrf_exempt
from retentio.web.deps import SessionDep, SettingsDep, client_ip
from retentio.web.public import (
    check_origin,
    cors_headers,
    json_object,
    preflight,
    public_error,
    public_json,
    raw_body,
    request_origin,
)

router = APIRouter(include_in_schema=False)
RawBody = Annotated[bytes, Depends(raw_body)]
EMBED = Path(__file__).resolve().parent / "static" / "embed.js"
PLACEHOLDER = "__RETENTIO_FORM__"
JS = "text/javascript; charset=utf-8"
# Short: an edited form shows on the shop within a minute.
EMBED_CACHE = "public, max-age=60"
# Browsers fill these from the visitor's saved details.
AUTOCOMPLETE = {
    "first_name": "given-name",
    "last_name": "family-name",
    "email": "email",
    "phone": "tel",
    "city": "address-level2",
    "birthday": "bday",
}


@lru_cache(maxsize=1)
def _runtime() -> str:
    return EMBED.read_text(encoding="utf-8")


@router.get("/f/{public_id}.js")
def embed_script(request: Request, session: SessionDep, public_id: str) -> Response:
    form = queries.form_by_public_id(session, public_id)
    headers = {"Cache-Control": EMBED_CACHE}
    if form is None:
        return Response("/* Retentio: there is no such form. */", 404, headers, media_type=JS)
    if not form.is_active:
        return Response("/* Retentio: this form is switched off. */", 200, headers, media_type=JS)
    # JSON is a JavaScript expression; ensure_ascii leaves no character that could end it early.
    definition = json.dumps(_embed_definition(form, str(request.url)), ensure_ascii=True)
    return Response(_runtime().replace(PLACEHOLDER, definition), headers=headers, media_type=JS)


@router.options("/f/{public_id}/view")
@router.options("/f/{public_id}/submit")
def form_preflight(request: Request, session: SessionDep, public_id: str) -> Response:
    origin = request_origin(request)
    form = queries.form_by_public_id(session, public_id)
    return preflight(origin, allowed=_allows(session, form, origin))


@router.post("/f/{public_id}/view")
@csrf_exempt
def form_view(request: Request, session: SessionDep, public_id: str) -> Response:
    origin = request_origin(request)
    try:
        form = _checked_form(session, public_id, origin)
    except RetentioError as error:
        return public_error(error, origin=None)
    try:
        service.count_view(session, form)
    except RetentioError as error:
        session.rollback()
        return public_error(error, origin=origin)
    return Response(status_code=204, headers=cors_headers(origin))


@router.post("/f/{public_id}/submit")
@csrf_exempt
def form_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    public_id: str,
    body: RawBody,
    background: BackgroundTasks,
) -> Response:
    """Take `{"values", "consents", "anonymous_id"?, "page_url"?, "campaign"?}` as JSON."""
    origin = request_origin(request)
    try:
        form = _checked_form(session, public_id, origin)
    except RetentioError as error:
        return public_error(error, origin=None)
    try:
        submission = service.submit(
            session,
            form,
            parse(SubmissionIn, json_object(body)),
            ip=_ip(request),
            user_agent=request.headers.get("user-agent", ""),
            default_region=settings.default_region,
            now=utcnow(),
        )
    except RetentioError as error:
        # Returned, not raised, so the request would commit: nothing of it may be kept.
        session.rollback()
        return public_error(error, origin=origin)
    background.add_task(after_ingest, [submission.contact_id], ["form_submit"])  # after the commit
    body_out = {"ok": True, "submission_id": submission.id, "message": form.success_message}
    return public_json(body_out, origin=origin, status_code=201)


def _checked_form(session: Session, public_id: str, origin: str | None) -> WebForm:
    form = service.public_form(session, public_id)
    check_origin(origin, allowed=_allows(session, form, origin))
    return form


def _allows(session: Session, form: WebForm | None, origin: str | None) -> bool:
    if form is None or form.source_id is None:
        return False
    return source_allows(session.get(Source, form.source_id), origin)


def _ip(request: Request) -> str | None:
    ip = client_ip(request)
    return ip[:45] if ip != "unknown" else None


def _embed_definition(form: WebForm, script_url: str) -> dict[str, Any]:
    """Only what the page needs to draw the form, not which contact field each one fills."""
    fields = [FormField.model_validate(f) for f in form.fields]
    return {
        "id": form.public_id,
        "script": script_url,
        "success": form.success_message,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "kind": f.kind,
                "required": f.required,
                "autocomplete": AUTOCOMPLETE.get(f.maps_to),
                "maxlength": _max_length(f),
            }
            for f in fields
        ],
        "consents": [
            {"key": c["key"], "text": c["text"], "required": bool(c.get("required"))}
            for c in form.consents
        ],
    }


def _max_length(field: FormField) -> int | None:
    # The same limits the service checks: the browser stops the typing instead of a 422.
    if field.kind in ("checkbox", "date"):
        return None
    return service.MAX_LENGTH.get(field.maps_to, service.MAX_TEXT)
