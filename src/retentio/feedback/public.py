"""The public answer page of a survey, `/s/{token}`, reached from a link in any message.

Cookie-less: the signed token (see `feedback.links`) is the only credential. GET shows the
question with its scale as buttons (or the reasons of an exit survey) and an optional comment;
POST stores the answer once per send and thanks; the same link used again stores nothing and
says it was answered already. A token that does not verify gets a 404 page and stores nothing.
`/s/widget.js` frames such links inside a shop's own pages.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from retentio.db import utcnow
from retentio.errors import InvalidInput, NotFound
from retentio.feedback import service
from retentio.feedback.links import SurveyToken, read_token
from retentio.feedback.models import Survey, SurveyKind
from retentio.feedback.schemas import AnswerIn
from retentio.messaging.tracking import BadToken, Signer
from retentio.profiles.tasks import enqueue_refresh
from retentio.web import i18n
from retentio.web.csrf import csrf_exempt
from retentio.web.deps import SessionDep, SettingsDep
from retentio.web.forms import FormDep, text
from retentio.web.templating import templates

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}
PAGE = "feedback/answer.html"


@lru_cache(maxsize=4)
def _signer(secret_key: str) -> Signer:
    return Signer(secret_key)


def _verify(settings: SettingsDep, token: str) -> SurveyToken | None:
    try:
        return read_token(_signer(settings.resolved_secret_key()), token)
    except BadToken:
        return None


def _page(
    request: Request,
    *,
    state: str,
    survey: Survey | None = None,
    error: str = "",
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """`state`: form, thanks, answered (before), closed or invalid."""
    scale: list[int] = []
    if survey is not None and survey.kind in service.SCALES:
        low, high = service.SCALES[survey.kind]
        scale = list(range(low, high + 1))
    html = templates.env.get_template(PAGE).render(
        state=state,
        survey=survey,
        scale=scale,
        error=error,
        values=values or {},
        action=request.url.path,
        locale=i18n.current_locale.get(),
    )
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def _open_survey(
    request: Request, session: SessionDep, settings: SettingsDep, token: str
) -> tuple[SurveyToken, Survey] | Response:
    found = _verify(settings, token)
    survey = session.get(Survey, found.survey_id) if found else None
    if found is None or survey is None:
        return _page(request, state="invalid", status=404)
    try:
        service.live_contact(session, found.contact_id)
    except NotFound:
        return _page(request, state="invalid", status=404)
    if survey.archived_at is not None:
        return _page(request, state="closed", survey=survey, status=410)
    return found, survey


WIDGET = Path(__file__).resolve().parent / "static" / "widget.js"


@lru_cache(maxsize=1)
def _widget() -> bytes:
    return WIDGET.read_bytes()


# Before `/s/{token}`, which would otherwise take "widget.js" for a token.
@router.get("/s/widget.js")
def widget_script() -> Response:
    """The embeddable widget: frames `/s/{token}` links placed in a shop's page."""
    return Response(
        _widget(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/s/{token}")
def answer_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    opened = _open_survey(request, session, settings, token)
    if isinstance(opened, Response):
        return opened
    found, survey = opened
    if service.answered(session, found.survey_id, found.contact_id, found.occurrence):
        return _page(request, state="answered", survey=survey)
    return _page(request, state="form", survey=survey)


@router.post("/s/{token}")
@csrf_exempt
def answer(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    form: FormDep,
    background: BackgroundTasks,
) -> Response:
    opened = _open_survey(request, session, settings, token)
    if isinstance(opened, Response):
        return opened
    found, survey = opened
    values = {
        "score": text(form, "score"),
        "comment": text(form, "comment") or "",
        "reason": text(form, "reason"),
    }
    try:
        score = values["score"]
        data = AnswerIn(
            score=int(score) if score and score.lstrip("-").isdigit() else None,
            comment=values["comment"],
            reason=values["reason"] or None,
        )
        answered = service.answer(
            session, found.survey_id, found.contact_id, found.occurrence, data, now=utcnow()
        )
    except (ValidationError, InvalidInput) as error:
        session.rollback()
        field = error.details.get("field") if isinstance(error, InvalidInput) else "score"
        message = (
            i18n.gettext("Choose one of the reasons.")
            if field == "reason"
            else i18n.gettext("Choose a score on the scale.")
        )
        return _page(request, state="form", survey=survey, error=message, values=values, status=422)
    if answered.created and survey.kind == SurveyKind.EXIT:
        # "I left" moves the lifecycle stage (profiles.lifecycle); refreshed after the commit.
        background.add_task(enqueue_refresh, [found.contact_id])
    return _page(request, state="thanks" if answered.created else "answered", survey=survey)
