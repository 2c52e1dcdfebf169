"""JSON API of feedback under `/api/v1/feedback` (surveys, their answers with a CSV export,
the NPS summary) and of service tickets under `/api/v1/tickets` (CRUD, notes, status).

Every role reads. Surveys are changed with the marketing permission, tickets with
edit_customers (the people who answer customers).
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.responses import Response as HttpResponse

from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.feedback import queries, service
from retentio.feedback.links import survey_link
from retentio.feedback.models import SurveyKind, TicketKind, TicketStatus
from retentio.feedback.queries import NpsFigures
from retentio.feedback.schemas import (
    LinkIn,
    LinkRead,
    MonthNpsRead,
    NoteIn,
    NoteRead,
    NpsRead,
    ReasonCountRead,
    ResponseRead,
    SegmentNpsRead,
    StatusIn,
    SurveyIn,
    SurveyRead,
    SurveySummaryRead,
    TicketIn,
    TicketRead,
)
from retentio.messaging.tracking import Links, Signer
from retentio.web.deps import SessionDep, SettingsDep

Reader = Annotated[User, Depends(require(Permission.VIEW))]
SurveyWriter = Annotated[User, Depends(require(Permission.MARKETING))]
TicketWriter = Annotated[User, Depends(require(Permission.EDIT_CUSTOMERS))]

surveys_router = APIRouter(prefix="/feedback", tags=["feedback"])
tickets_router = APIRouter(prefix="/tickets", tags=["tickets"])
router = APIRouter()
MAX_PAGE = 500


# --- surveys ---------------------------------------------------------------------------------


@surveys_router.get("/surveys", response_model=list[SurveyRead])
def list_surveys(session: SessionDep, _user: Reader, archived: bool = False) -> list[SurveyRead]:
    return [SurveyRead.model_validate(s) for s in queries.surveys(session, archived=archived)]


@surveys_router.post("/surveys", response_model=SurveyRead, status_code=status.HTTP_201_CREATED)
def create_survey(body: SurveyIn, session: SessionDep, _user: SurveyWriter) -> SurveyRead:
    return SurveyRead.model_validate(service.create_survey(session, body, now=utcnow()))


@surveys_router.get("/surveys/{survey_id}", response_model=SurveyRead)
def get_survey(survey_id: int, session: SessionDep, _user: Reader) -> SurveyRead:
    return SurveyRead.model_validate(service.get_survey(session, survey_id))


@surveys_router.put("/surveys/{survey_id}", response_model=SurveyRead)
def update_survey(
    survey_id: int, body: SurveyIn, session: SessionDep, _user: SurveyWriter
) -> SurveyRead:
    return SurveyRead.model_validate(service.update_survey(session, survey_id, body))


@surveys_router.post("/surveys/{survey_id}/archive", response_model=SurveyRead)
def archive_survey(survey_id: int, session: SessionDep, _user: SurveyWriter) -> SurveyRead:
    return SurveyRead.model_validate(service.archive_survey(session, survey_id, now=utcnow()))


@surveys_router.post("/surveys/{survey_id}/links", response_model=LinkRead)
def survey_link_for(
    survey_id: int, body: LinkIn, session: SessionDep, settings: SettingsDep, _user: SurveyWriter
) -> LinkRead:
    """A signed answer link for one contact and one send — for the shop's own pages (the
    embeddable widget shows it in a frame) or messages sent elsewhere."""
    service.get_survey(session, survey_id)
    service.live_contact(session, body.contact_id)
    links = Links(Signer(settings.resolved_secret_key()), settings.base_url)
    return LinkRead(url=survey_link(links, survey_id, body.contact_id, body.occurrence))


@surveys_router.get("/surveys/{survey_id}/responses", response_model=list[ResponseRead])
def list_responses(
    survey_id: int,
    session: SessionDep,
    user: Reader,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ResponseRead]:
    service.get_survey(session, survey_id)
    rows = queries.responses(session, survey_id, viewer=user, limit=limit, offset=offset)
    return [ResponseRead.model_validate(row.response) for row in rows]


@surveys_router.get("/surveys/{survey_id}/responses.csv")
def export_responses(survey_id: int, session: SessionDep, user: Reader) -> HttpResponse:
    """Every answer as CSV (UTF-8 with BOM, so spreadsheet programs read Cyrillic right)."""
    service.get_survey(session, survey_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["id", "contact_id", "contact", "occurrence", "score", "reason", "comment", "created_at"]
    )
    for row in queries.responses(session, survey_id, viewer=user):
        r = row.response
        writer.writerow(
            [
                r.id,
                r.contact_id,
                row.contact_name,
                r.occurrence,
                r.score,
                r.reason,
                r.comment,
                r.created_at.isoformat(),
            ]
        )
    return HttpResponse(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="survey-{survey_id}-responses.csv"'},
    )


def _nps(figures: NpsFigures) -> NpsRead:
    return NpsRead(
        answers=figures.answers,
        promoters=figures.promoters,
        passives=figures.passives,
        detractors=figures.detractors,
        nps=figures.nps,
    )


@surveys_router.get("/surveys/{survey_id}/summary", response_model=SurveySummaryRead)
def summary(survey_id: int, session: SessionDep, _user: Reader) -> SurveySummaryRead:
    """NPS overall, by month and by segment for an NPS survey; the average for CSAT; reason
    counts for an exit survey."""
    survey = service.get_survey(session, survey_id)
    is_nps = survey.kind == SurveyKind.NPS
    return SurveySummaryRead(
        survey_id=survey.id,
        kind=survey.kind,
        nps=_nps(queries.nps(session, survey_id)) if is_nps else None,
        csat_average=queries.csat_average(session, survey_id)
        if survey.kind == SurveyKind.CSAT
        else None,
        by_month=[
            MonthNpsRead(month=month, **_nps(f).model_dump())
            for month, f in (queries.nps_by_month(session, survey_id) if is_nps else [])
        ],
        by_segment=[
            SegmentNpsRead(segment_id=s.segment_id, segment=s.name, **_nps(s.figures).model_dump())
            for s in (queries.nps_by_segment(session, survey_id) if is_nps else [])
        ],
        reasons=[
            ReasonCountRead(key=r.key, label=r.label, preventable=r.preventable, answers=r.answers)
            for r in queries.exit_reasons(session, survey)
        ],
    )


# --- tickets ---------------------------------------------------------------------------------


@tickets_router.get("", response_model=list[TicketRead])
def list_tickets(
    session: SessionDep,
    user: Reader,
    status: TicketStatus | None = None,
    kind: TicketKind | None = None,
    assignee_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TicketRead]:
    filters = queries.TicketFilter(status=status, kind=kind, assignee_id=assignee_id)
    rows = queries.tickets(session, filters, viewer=user, now=utcnow(), limit=limit, offset=offset)
    return [TicketRead.model_validate(row.ticket) for row in rows]


@tickets_router.post("", response_model=TicketRead, status_code=status.HTTP_201_CREATED)
def create_ticket(body: TicketIn, session: SessionDep, _user: TicketWriter) -> TicketRead:
    return TicketRead.model_validate(service.create_ticket(session, body, now=utcnow()))


@tickets_router.get("/{ticket_id}", response_model=TicketRead)
def get_ticket(ticket_id: int, session: SessionDep, _user: Reader) -> TicketRead:
    return TicketRead.model_validate(service.get_ticket(session, ticket_id))


@tickets_router.put("/{ticket_id}", response_model=TicketRead)
def update_ticket(
    ticket_id: int, body: TicketIn, session: SessionDep, _user: TicketWriter
) -> TicketRead:
    return TicketRead.model_validate(service.update_ticket(session, ticket_id, body, now=utcnow()))


@tickets_router.get("/{ticket_id}/notes", response_model=list[NoteRead])
def list_notes(ticket_id: int, session: SessionDep, _user: Reader) -> list[NoteRead]:
    service.get_ticket(session, ticket_id)
    return [NoteRead.model_validate(row.note) for row in queries.notes(session, ticket_id)]


@tickets_router.post(
    "/{ticket_id}/notes", response_model=NoteRead, status_code=status.HTTP_201_CREATED
)
def add_note(ticket_id: int, body: NoteIn, session: SessionDep, user: TicketWriter) -> NoteRead:
    note = service.add_note(session, ticket_id, body, author_id=user.id, now=utcnow())
    return NoteRead.model_validate(note)


@tickets_router.post("/{ticket_id}/status", response_model=TicketRead)
def change_status(
    ticket_id: int, body: StatusIn, session: SessionDep, _user: TicketWriter
) -> TicketRead:
    return TicketRead.model_validate(service.change_status(session, ticket_id, body, now=utcnow()))


router.include_router(surveys_router)
router.include_router(tickets_router)
