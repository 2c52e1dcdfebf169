"""Reads of the feedback domain: surveys and answers, NPS (overall, by month, by segment),
CSAT, exit reasons, the ticket queue with SLA breaches, and the figures the dashboard shows
(complaint rate, share of tickets within their SLA targets).

NPS (Reichheld, "The One Number You Need to Grow", HBR 2003): the percentage of promoters
(9-10) minus the percentage of detractors (0-6) among all answers, from -100 to 100.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.commerce.models import Order
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact
from retentio.feedback.models import (
    Response,
    Survey,
    SurveyKind,
    Ticket,
    TicketKind,
    TicketNote,
    TicketStatus,
)
from retentio.feedback.service import DETRACTOR_MAX, DONE, PROMOTER_MIN
from retentio.segments.models import Segment, SegmentMember

# --- surveys and NPS -------------------------------------------------------------------------


@dataclass(frozen=True)
class NpsFigures:
    promoters: int
    passives: int
    detractors: int

    @property
    def answers(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def nps(self) -> float | None:
        """% promoters − % detractors, to one decimal; None without answers."""
        if not self.answers:
            return None
        return round(100 * (self.promoters - self.detractors) / self.answers, 1)


def _bands() -> tuple[Any, Any, Any]:
    promoters = func.coalesce(func.sum(case((Response.score >= PROMOTER_MIN, 1), else_=0)), 0)
    detractors = func.coalesce(func.sum(case((Response.score <= DETRACTOR_MAX, 1), else_=0)), 0)
    return func.count(Response.score), promoters, detractors


def _figures(answers: int, promoters: int, detractors: int) -> NpsFigures:
    return NpsFigures(
        promoters=int(promoters),
        passives=int(answers) - int(promoters) - int(detractors),
        detractors=int(detractors),
    )


def surveys(session: Session, *, archived: bool = False) -> list[Survey]:
    query = select(Survey).order_by(Survey.created_at.desc(), Survey.id.desc())
    if not archived:
        query = query.where(Survey.archived_at.is_(None))
    return list(session.scalars(query))


def answer_counts(session: Session, survey_ids: list[int]) -> dict[int, int]:
    if not survey_ids:
        return {}
    rows = session.execute(
        select(Response.survey_id, func.count())
        .where(Response.survey_id.in_(survey_ids))
        .group_by(Response.survey_id)
    )
    return {survey_id: int(n) for survey_id, n in rows}


def nps(session: Session, survey_id: int) -> NpsFigures:
    row = session.execute(select(*_bands()).where(Response.survey_id == survey_id)).one()
    return _figures(*row)


def _month(session: Session) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Response.created_at), "YYYY-MM")
    return func.strftime("%Y-%m", Response.created_at)


def nps_by_month(session: Session, survey_id: int) -> list[tuple[str, NpsFigures]]:
    """Calendar months in UTC, oldest first; months without answers are left out."""
    month = _month(session).label("month")
    rows = session.execute(
        select(month, *_bands())
        .where(Response.survey_id == survey_id, Response.score.is_not(None))
        .group_by(month)
        .order_by(month)
    )
    return [(str(m), _figures(n, p, d)) for m, n, p, d in rows]


@dataclass(frozen=True)
class SegmentNps:
    segment_id: int
    name: str
    figures: NpsFigures


def nps_by_segment(session: Session, survey_id: int) -> list[SegmentNps]:
    """By the segments the answering contacts are in now (membership has no history)."""
    rows = session.execute(
        select(Segment.id, Segment.name, *_bands())
        .join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .join(Response, Response.contact_id == SegmentMember.contact_id)
        .where(
            Response.survey_id == survey_id,
            Response.score.is_not(None),
            Segment.archived_at.is_(None),
        )
        .group_by(Segment.id, Segment.name)
        .order_by(Segment.name, Segment.id)
    )
    return [SegmentNps(sid, name, _figures(n, p, d)) for sid, name, n, p, d in rows]


def csat_average(session: Session, survey_id: int) -> float | None:
    value = session.scalar(select(func.avg(Response.score)).where(Response.survey_id == survey_id))
    return round(float(value), 2) if value is not None else None


@dataclass(frozen=True)
class ReasonCount:
    key: str
    label: str
    preventable: bool
    answers: int


def exit_reasons(session: Session, survey: Survey) -> list[ReasonCount]:
    """Every reason of the list with its answers, in the list's order (zeros included)."""
    counts = dict(
        session.execute(
            select(Response.reason, func.count())
            .where(Response.survey_id == survey.id, Response.reason.is_not(None))
            .group_by(Response.reason)
        ).all()
    )
    return [
        ReasonCount(r["key"], r["label"], bool(r.get("preventable")), int(counts.get(r["key"], 0)))
        for r in survey.reasons
    ]


def preventable_split(reasons: list[ReasonCount]) -> tuple[int, int]:
    """(natural, preventable) answers."""
    preventable = sum(r.answers for r in reasons if r.preventable)
    return sum(r.answers for r in reasons) - preventable, preventable


@dataclass(frozen=True)
class ResponseRow:
    response: Response
    contact_name: str | None  # None when the viewer may not see the contact


def responses(
    session: Session,
    survey_id: int,
    *,
    viewer: User,
    limit: int | None = None,
    offset: int = 0,
) -> list[ResponseRow]:
    """Newest first, with who answered: the name only for those who may see the contact."""
    query = (
        select(Response, Contact)
        .outerjoin(Contact, and_(Contact.id == Response.contact_id, visible_clause(viewer)))
        .where(Response.survey_id == survey_id)
        .order_by(Response.created_at.desc(), Response.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [ResponseRow(r, c.display_name if c else None) for r, c in session.execute(query)]


@dataclass(frozen=True)
class ContactAnswer:
    response: Response
    survey_name: str
    kind: SurveyKind


def contact_answers(session: Session, contact_id: int, *, limit: int = 5) -> list[ContactAnswer]:
    """The contact's latest answers, newest first."""
    rows = session.execute(
        select(Response, Survey.name, Survey.kind)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Response.contact_id == contact_id)
        .order_by(Response.created_at.desc(), Response.id.desc())
        .limit(limit)
    )
    return [ContactAnswer(r, name, kind) for r, name, kind in rows]


# --- tickets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    first_response: bool
    resolution: bool

    @property
    def any(self) -> bool:
        return self.first_response or self.resolution


def breach(ticket: Ticket, now: datetime) -> Breach:
    """A target is breached when its time has passed and it is not done yet."""
    due_first = ticket.first_response_due_at
    due_resolution = ticket.resolution_due_at
    return Breach(
        first_response=ticket.first_response_at is None
        and due_first is not None
        and due_first < now
        and ticket.status not in DONE,
        resolution=ticket.resolved_at is None
        and due_resolution is not None
        and due_resolution < now
        and ticket.status not in DONE,
    )


@dataclass(frozen=True)
class TicketRow:
    ticket: Ticket
    contact_name: str | None
    assignee_name: str | None
    breach: Breach


@dataclass(frozen=True)
class TicketFilter:
    status: TicketStatus | None = None
    kind: TicketKind | None = None
    assignee_id: int | None = None

    def where(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.status is not None:
            where.append(Ticket.status == self.status)
        if self.kind is not None:
            where.append(Ticket.kind == self.kind)
        if self.assignee_id is not None:
            where.append(Ticket.assignee_id == self.assignee_id)
        return where


def count_tickets(session: Session, filters: TicketFilter) -> int:
    return int(session.scalar(select(func.count(Ticket.id)).where(*filters.where())) or 0)


def tickets(
    session: Session,
    filters: TicketFilter,
    *,
    viewer: User,
    now: datetime,
    limit: int | None = None,
    offset: int = 0,
) -> list[TicketRow]:
    """The queue: unfinished tickets first, soonest resolution due first, then the rest. The
    queue is the whole team's; a contact's name shows only to those who may see the contact."""
    done_last = case((Ticket.status.in_(list(DONE)), 1), else_=0)
    query = (
        select(Ticket, Contact, User)
        .select_from(Ticket)
        .outerjoin(Contact, and_(Contact.id == Ticket.contact_id, visible_clause(viewer)))
        .outerjoin(User, User.id == Ticket.assignee_id)
        .where(*filters.where())
        .order_by(done_last, Ticket.resolution_due_at, Ticket.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        TicketRow(t, c.display_name if c else None, u.name if u else None, breach(t, now))
        for t, c, u in session.execute(query)
    ]


def breached(session: Session, *, now: datetime) -> list[Ticket]:
    """Unfinished tickets past a target, for the dashboard's warning."""
    query = (
        select(Ticket)
        .where(
            Ticket.status.not_in(list(DONE)),
            or_(
                Ticket.resolution_due_at < now,
                Ticket.first_response_at.is_(None) & (Ticket.first_response_due_at < now),
            ),
        )
        .order_by(Ticket.resolution_due_at, Ticket.id)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class NoteRow:
    note: TicketNote
    author_name: str | None


def notes(session: Session, ticket_id: int) -> list[NoteRow]:
    rows = session.execute(
        select(TicketNote, User.name)
        .outerjoin(User, User.id == TicketNote.author_id)
        .where(TicketNote.ticket_id == ticket_id)
        .order_by(TicketNote.created_at, TicketNote.id)
    )
    return [NoteRow(n, name) for n, name in rows]


def contact_tickets(session: Session, contact_id: int, *, limit: int = 10) -> list[Ticket]:
    query = (
        select(Ticket)
        .where(Ticket.contact_id == contact_id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class ComplaintRate:
    complaints: int
    contacts: int
    orders: int

    @property
    def per_thousand_contacts(self) -> float | None:
        return round(1000 * self.complaints / self.contacts, 2) if self.contacts else None

    @property
    def per_thousand_orders(self) -> float | None:
        return round(1000 * self.complaints / self.orders, 2) if self.orders else None


def complaint_rate(session: Session, *, since: datetime, until: datetime) -> ComplaintRate:
    """Complaints and claims opened in [since, until) per 1,000 live contacts and per 1,000
    orders placed in the same period."""
    complaints = session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.kind.in_([TicketKind.COMPLAINT, TicketKind.CLAIM]),
            Ticket.created_at >= since,
            Ticket.created_at < until,
        )
    )
    contacts = session.scalar(
        select(func.count(Contact.id)).where(
            Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None)
        )
    )
    orders = session.scalar(
        select(func.count(Order.id)).where(Order.placed_at >= since, Order.placed_at < until)
    )
    return ComplaintRate(int(complaints or 0), int(contacts or 0), int(orders or 0))


@dataclass(frozen=True)
class SlaFigures:
    first_response_due: int  # tickets whose first response is done or overdue
    first_response_met: int
    resolution_due: int
    resolution_met: int

    @property
    def first_response_share(self) -> float | None:
        return _share(self.first_response_met, self.first_response_due)

    @property
    def resolution_share(self) -> float | None:
        return _share(self.resolution_met, self.resolution_due)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def sla_figures(session: Session, *, since: datetime, until: datetime, now: datetime) -> SlaFigures:
    """Of the tickets opened in [since, until): the share answered within the first-response
    target and resolved within the resolution target. A ticket counts once its target is
    settled: done, or past due (a ticket still within its time is neither met nor missed)."""
    counted: dict[str, int] = {"fd": 0, "fm": 0, "rd": 0, "rm": 0}
    rows = session.execute(
        select(
            Ticket.first_response_at,
            Ticket.first_response_due_at,
            Ticket.resolved_at,
            Ticket.resolution_due_at,
        ).where(Ticket.created_at >= since, Ticket.created_at < until)
    )
    for first_at, first_due, resolved_at, resolution_due in rows:
        if first_due is not None and (first_at is not None or first_due < now):
            counted["fd"] += 1
            counted["fm"] += int(first_at is not None and first_at <= first_due)
        if resolution_due is not None and (resolved_at is not None or resolution_due < now):
            counted["rd"] += 1
            counted["rm"] += int(resolved_at is not None and resolved_at <= resolution_due)
    return SlaFigures(counted["fd"], counted["fm"], counted["rd"], counted["rm"])
