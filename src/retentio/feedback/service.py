"""Rules of the feedback domain, and the only place that writes its rows: surveys, answers
(one per contact per survey send, a detractor's answer turning into a task for the contact's
owner), and tickets with their SLA targets, notes and status changes.

Services flush, never commit: the request or the task that called them owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retentio.activities.models import Activity, ActivityKind
from retentio.auth.models import User
from retentio.contacts.models import Contact
from retentio.errors import Conflict, InvalidInput, NotFound
from retentio.feedback.models import (
    Response,
    Survey,
    SurveyKind,
    Ticket,
    TicketNote,
    TicketPriority,
    TicketStatus,
)
from retentio.feedback.schemas import AnswerIn, NoteIn, StatusIn, SurveyIn, TicketIn
from retentio.kit.upsert import insert_or_ignore

# The answer scale of each kind (inclusive); an exit survey asks for a reason instead.
SCALES: dict[SurveyKind, tuple[int, int]] = {SurveyKind.NPS: (0, 10), SurveyKind.CSAT: (1, 5)}
# Bain's NPS bands: 9-10 promoters, 7-8 passives, 0-6 detractors.
PROMOTER_MIN = 9
DETRACTOR_MAX = 6
# The owner calls a detractor back within a working day.
DETRACTOR_CALL_WITHIN = timedelta(days=1)

# SLA targets from the ticket's creation, by priority (hours as the support team promises them).
FIRST_RESPONSE_TARGETS: dict[TicketPriority, timedelta] = {
    TicketPriority.URGENT: timedelta(hours=1),
    TicketPriority.HIGH: timedelta(hours=4),
    TicketPriority.NORMAL: timedelta(hours=8),
    TicketPriority.LOW: timedelta(hours=24),
}
RESOLUTION_TARGETS: dict[TicketPriority, timedelta] = {
    TicketPriority.URGENT: timedelta(hours=8),
    TicketPriority.HIGH: timedelta(hours=24),
    TicketPriority.NORMAL: timedelta(hours=72),
    TicketPriority.LOW: timedelta(hours=168),
}
# Where a status may go; a closed ticket stays closed (a new question is a new ticket).
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset(
        {TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.PENDING: frozenset(
        {TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}
DONE = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


class SurveyClosed(Conflict):
    code = "survey_closed"


# --- surveys ---------------------------------------------------------------------------------


def get_survey(session: Session, survey_id: int) -> Survey:
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise NotFound("There is no such survey.")
    return survey


def _reasons(data: SurveyIn) -> list[dict[str, object]]:
    if data.kind == SurveyKind.EXIT and not data.reasons:
        raise InvalidInput(
            "An exit survey needs at least one reason.", details={"field": "reasons"}
        )
    keys = [r.key for r in data.reasons]
    if len(set(keys)) != len(keys):
        raise InvalidInput("Each reason needs a key of its own.", details={"field": "reasons"})
    # Only an exit survey asks why; reasons typed for another kind would never be shown.
    return [r.model_dump() for r in data.reasons] if data.kind == SurveyKind.EXIT else []


def create_survey(session: Session, data: SurveyIn, *, now: datetime) -> Survey:
    survey = Survey(
        kind=data.kind,
        name=data.name,
        question=data.question,
        ask_comment=data.ask_comment,
        reasons=_reasons(data),
        created_at=now,
    )
    session.add(survey)
    session.flush()
    return survey


def update_survey(session: Session, survey_id: int, data: SurveyIn) -> Survey:
    """The kind is fixed once answers exist: a 0-10 score read on a 1-5 scale means nothing."""
    survey = get_survey(session, survey_id)
    if data.kind != survey.kind and _has_answers(session, survey_id):
        raise Conflict(
            "The kind of a survey with answers cannot change.", details={"field": "kind"}
        )
    survey.kind = data.kind
    survey.name = data.name
    survey.question = data.question
    survey.ask_comment = data.ask_comment
    survey.reasons = _reasons(data)
    session.flush()
    return survey


def _has_answers(session: Session, survey_id: int) -> bool:
    found = session.scalar(select(Response.id).where(Response.survey_id == survey_id).limit(1))
    return found is not None


def archive_survey(session: Session, survey_id: int, *, now: datetime) -> Survey:
    """Archived: out of the list and its links take no more answers; the answers stay."""
    survey = get_survey(session, survey_id)
    session.execute(
        update(Survey)
        .where(Survey.id == survey_id, Survey.archived_at.is_(None))
        .values(archived_at=now)
    )
    session.refresh(survey)
    return survey


# --- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    response: Response
    created: bool  # False: this send was answered before, and the first answer stands


def live_contact(session: Session, contact_id: int) -> Contact:
    """A link to a deleted, erased or merged contact leads nowhere."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.deleted_at or contact.erased_at or contact.merged_into_id:
        raise NotFound("There is no such contact.")
    return contact


def _check_answer(survey: Survey, data: AnswerIn) -> None:
    if survey.kind == SurveyKind.EXIT:
        keys = {r["key"] for r in survey.reasons}
        if data.reason not in keys:
            raise InvalidInput("Choose one of the reasons.", details={"field": "reason"})
        return
    low, high = SCALES[survey.kind]
    if data.score is None or not low <= data.score <= high:
        raise InvalidInput(f"Choose a score from {low} to {high}.", details={"field": "score"})


def answer(
    session: Session,
    survey_id: int,
    contact_id: int,
    occurrence: str,
    data: AnswerIn,
    *,
    now: datetime,
) -> Answered:
    """Store the answer of one send. The unique (survey, contact, occurrence) key keeps the
    first answer when the link is used twice (or two clicks race); only the call that inserted
    it creates the detractor's task, in the same transaction, so there is exactly one."""
    survey = get_survey(session, survey_id)
    if survey.archived_at is not None:
        raise SurveyClosed("This survey is closed.")
    contact = live_contact(session, contact_id)
    _check_answer(survey, data)
    values = {
        "survey_id": survey_id,
        "contact_id": contact_id,
        "occurrence": occurrence,
        "score": data.score if survey.kind != SurveyKind.EXIT else None,
        "comment": data.comment.strip() if survey.ask_comment else "",
        "reason": data.reason if survey.kind == SurveyKind.EXIT else None,
        "created_at": now,
    }
    created = insert_or_ignore(session, Response, values)
    response = session.scalars(
        select(Response).where(
            Response.survey_id == survey_id,
            Response.contact_id == contact_id,
            Response.occurrence == occurrence,
        )
    ).one()
    if created and is_detractor(survey.kind, response.score):
        _detractor_task(session, survey, contact, response, now=now)
    session.flush()
    return Answered(response=response, created=created)


def answered(session: Session, survey_id: int, contact_id: int, occurrence: str) -> bool:
    found = session.scalar(
        select(Response.id).where(
            Response.survey_id == survey_id,
            Response.contact_id == contact_id,
            Response.occurrence == occurrence,
        )
    )
    return found is not None


def is_detractor(kind: SurveyKind, score: int | None) -> bool:
    return kind == SurveyKind.NPS and score is not None and score <= DETRACTOR_MAX


def _detractor_task(
    session: Session, survey: Survey, contact: Contact, response: Response, *, now: datetime
) -> None:
    session.add(
        Activity(
            kind=ActivityKind.CALL,
            title=f"Detractor: {survey.name[:200]} — score {response.score}",
            body=response.comment,
            contact_id=contact.id,
            owner_id=contact.owner_id,
            due_at=now + DETRACTOR_CALL_WITHIN,
            origin=f"survey:{survey.id}:{response.id}",
            created_at=now,
        )
    )


# --- tickets ---------------------------------------------------------------------------------


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("There is no such ticket.")
    return ticket


def _check_people(session: Session, data: TicketIn) -> None:
    if data.contact_id is not None:
        try:
            live_contact(session, data.contact_id)
        except NotFound as error:
            raise InvalidInput(error.message, details={"field": "contact_id"}) from error
    if data.assignee_id is not None:
        user = session.get(User, data.assignee_id)
        if user is None or not user.is_active:
            raise InvalidInput("There is no such active user.", details={"field": "assignee_id"})


def _set_due(ticket: Ticket) -> None:
    ticket.first_response_due_at = ticket.created_at + FIRST_RESPONSE_TARGETS[ticket.priority]
    ticket.resolution_due_at = ticket.created_at + RESOLUTION_TARGETS[ticket.priority]


def create_ticket(session: Session, data: TicketIn, *, now: datetime) -> Ticket:
    _check_people(session, data)
    ticket = Ticket(
        subject=data.subject,
        kind=data.kind,
        priority=data.priority,
        status=TicketStatus.OPEN,
        contact_id=data.contact_id,
        assignee_id=data.assignee_id,
        created_at=now,
        updated_at=now,
    )
    _set_due(ticket)
    session.add(ticket)
    session.flush()
    return ticket


def update_ticket(session: Session, ticket_id: int, data: TicketIn, *, now: datetime) -> Ticket:
    """A new priority moves both targets, still counted from the ticket's creation."""
    ticket = get_ticket(session, ticket_id)
    _check_people(session, data)
    ticket.subject = data.subject
    ticket.kind = data.kind
    ticket.contact_id = data.contact_id
    ticket.assignee_id = data.assignee_id
    if data.priority != ticket.priority:
        ticket.priority = data.priority
        _set_due(ticket)
    ticket.updated_at = now
    session.flush()
    return ticket


def add_note(
    session: Session, ticket_id: int, data: NoteIn, *, author_id: int | None, now: datetime
) -> TicketNote:
    """An internal note or a reply to the customer; the first reply is the first response."""
    ticket = get_ticket(session, ticket_id)
    if not data.internal and ticket.status == TicketStatus.CLOSED:
        raise Conflict("A closed ticket takes no replies.", details={"field": "internal"})
    note = TicketNote(
        ticket_id=ticket_id,
        author_id=author_id,
        body=data.body,
        internal=data.internal,
        created_at=now,
    )
    session.add(note)
    if not data.internal:
        # Two agents replying at once: the earlier write keeps its time.
        session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.first_response_at.is_(None))
            .values(first_response_at=now)
        )
    session.execute(update(Ticket).where(Ticket.id == ticket_id).values(updated_at=now))
    session.flush()
    session.refresh(ticket)
    return note


def change_status(session: Session, ticket_id: int, data: StatusIn, *, now: datetime) -> Ticket:
    """open → pending → resolved → closed (and back to open before closing). Resolving or
    closing stamps `resolved_at`, reopening clears it; satisfaction is asked at close."""
    ticket = get_ticket(session, ticket_id)
    current = ticket.status
    if data.status == current:
        return ticket
    if data.status not in TRANSITIONS[current]:
        raise Conflict(
            f"A ticket cannot go from {current.value} to {data.status.value}.",
            details={"field": "status"},
        )
    if data.satisfaction is not None and data.status != TicketStatus.CLOSED:
        raise InvalidInput(
            "Satisfaction is given when the ticket closes.", details={"field": "satisfaction"}
        )
    values: dict[str, object] = {"status": data.status, "updated_at": now}
    if data.status in DONE and ticket.resolved_at is None:
        values["resolved_at"] = now
    if data.status not in DONE:
        values["resolved_at"] = None
    if data.satisfaction is not None:
        values["satisfaction"] = data.satisfaction
    # Conditional on the status read: of two agents changing it at once, the second is told.
    changed = session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.status == current).values(**values)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("Someone changed this ticket a moment ago; reload it.")
    session.flush()
    session.refresh(ticket)
    return ticket
