"""Tickets: SLA targets by priority, the first reply as first response, status changes and
breach detection with a frozen clock, complaint rate and SLA shares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from retentio.db import session_scope
from retentio.errors import Conflict, InvalidInput
from retentio.feedback import queries, service
from retentio.feedback.models import TicketKind, TicketPriority, TicketStatus
from retentio.feedback.schemas import NoteIn, StatusIn, TicketIn
from retentio.settings import Settings
from tests.feedback.conftest import NOW, World


def _ticket(url: str, priority: TicketPriority, kind: TicketKind = TicketKind.COMPLAINT) -> int:
    with session_scope(url) as session:
        data = TicketIn(subject="Сломан чайник", kind=kind, priority=priority)
        return service.create_ticket(session, data, now=NOW).id


@pytest.mark.parametrize(
    ("priority", "first", "resolution"),
    [
        (TicketPriority.URGENT, 1, 8),
        (TicketPriority.HIGH, 4, 24),
        (TicketPriority.NORMAL, 8, 72),
        (TicketPriority.LOW, 24, 168),
    ],
)
def test_sla_due_times_follow_the_priority(
    settings: Settings, db: Session, priority: TicketPriority, first: int, resolution: int
) -> None:
    # when a ticket of the priority is created
    ticket = service.get_ticket(db, _ticket(settings.database_url, priority))

    # then its targets are counted from its creation
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_response_due_at == NOW + timedelta(hours=first)
    assert ticket.resolution_due_at == NOW + timedelta(hours=resolution)


def test_breaches_with_a_frozen_clock(settings: Settings, db: Session) -> None:
    # given an urgent ticket (first response in 1 h, resolution in 8 h)
    ticket_id = _ticket(settings.database_url, TicketPriority.URGENT)
    ticket = service.get_ticket(db, ticket_id)

    # then within the hour nothing is breached, after it the first response is, after 8 h both
    assert queries.breach(ticket, NOW + timedelta(minutes=59)).any is False
    late = queries.breach(ticket, NOW + timedelta(hours=2))
    assert (late.first_response, late.resolution) == (True, False)
    later = queries.breach(ticket, NOW + timedelta(hours=9))
    assert (later.first_response, later.resolution) == (True, True)
    assert [t.id for t in queries.breached(db, now=NOW + timedelta(hours=2))] == [ticket_id]


def test_a_reply_is_the_first_response_and_resolving_stops_the_clock(
    settings: Settings, db: Session
) -> None:
    # given an urgent ticket
    ticket_id = _ticket(settings.database_url, TicketPriority.URGENT)

    # when an internal note is added at 10 min, a reply at 30 min and another at 50 min,
    # and the ticket is resolved at 2 h
    with session_scope(settings.database_url) as session:
        for minutes, internal in [(10, True), (30, False), (50, False)]:
            at = NOW + timedelta(minutes=minutes)
            service.add_note(
                session, ticket_id, NoteIn(body="…", internal=internal), author_id=None, now=at
            )
        service.change_status(
            session, ticket_id, StatusIn(status=TicketStatus.RESOLVED), now=NOW + timedelta(hours=2)
        )

    # then the first reply counts, it is resolved, and nothing is breached even a day later
    ticket = service.get_ticket(db, ticket_id)
    assert ticket.first_response_at == NOW + timedelta(minutes=30)
    assert (ticket.status, ticket.resolved_at) == (TicketStatus.RESOLVED, NOW + timedelta(hours=2))
    assert queries.breach(ticket, NOW + timedelta(days=1)).any is False
    assert len(queries.notes(db, ticket_id)) == 3


def test_status_changes_and_satisfaction_at_close(settings: Settings, db: Session) -> None:
    # given an open ticket
    ticket_id = _ticket(settings.database_url, TicketPriority.NORMAL)

    with session_scope(settings.database_url) as session:
        # when satisfaction is given while putting it on hold, then it is refused
        with pytest.raises(InvalidInput):
            service.change_status(
                session, ticket_id, StatusIn(status=TicketStatus.PENDING, satisfaction=5), now=NOW
            )
        # and it is resolved, reopened, resolved and closed with a 4
        for status in [TicketStatus.RESOLVED, TicketStatus.OPEN, TicketStatus.CLOSED]:
            satisfaction = 4 if status == TicketStatus.CLOSED else None
            service.change_status(
                session, ticket_id, StatusIn(status=status, satisfaction=satisfaction), now=NOW
            )
        # then a closed ticket cannot be reopened
        with pytest.raises(Conflict):
            service.change_status(session, ticket_id, StatusIn(status=TicketStatus.OPEN), now=NOW)

    ticket = service.get_ticket(db, ticket_id)
    assert (ticket.status, ticket.satisfaction, ticket.resolved_at) == (TicketStatus.CLOSED, 4, NOW)


def test_complaint_rate_and_sla_shares(settings: Settings, db: Session, world: World) -> None:
    # given 4 contacts, two complaints and a question; one complaint answered in time
    for _ in range(4):
        world.contact()
    answered = _ticket(settings.database_url, TicketPriority.URGENT)
    _ticket(settings.database_url, TicketPriority.URGENT)
    _ticket(settings.database_url, TicketPriority.LOW, kind=TicketKind.QUESTION)
    with session_scope(settings.database_url) as session:
        reply = NoteIn(body="Меняем", internal=False)
        service.add_note(session, answered, reply, author_id=None, now=NOW + timedelta(minutes=20))

    # when the figures are read 2 hours later
    rate = queries.complaint_rate(db, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1))
    sla = queries.sla_figures(
        db,
        since=NOW - timedelta(days=1),
        until=NOW + timedelta(days=1),
        now=NOW + timedelta(hours=2),
    )

    # then 2 complaints per 4 contacts is 500 per 1,000; of the two urgent tickets past their
    # first-response time one met it; the low one is still within its time and not counted
    assert (rate.complaints, rate.contacts, rate.per_thousand_contacts) == (2, 4, 500.0)
    assert (sla.first_response_due, sla.first_response_met, sla.first_response_share) == (2, 1, 0.5)
    assert (sla.resolution_due, sla.resolution_share) == (0, None)
