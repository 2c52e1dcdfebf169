"""Words for survey kinds and ticket kinds, priorities and statuses as pages show them
(translated where displayed)."""

from __future__ import annotations

from retentio.feedback.models import SurveyKind, TicketKind, TicketPriority, TicketStatus
from retentio.kit.text import N_

SURVEY_KIND_LABELS: dict[SurveyKind, str] = {
    SurveyKind.NPS: N_("NPS (0–10)"),
    SurveyKind.CSAT: N_("CSAT (1–5)"),
    SurveyKind.EXIT: N_("Exit survey"),
}

TICKET_KIND_LABELS: dict[TicketKind, str] = {
    TicketKind.QUESTION: N_("Question"),
    TicketKind.COMPLAINT: N_("Complaint"),
    TicketKind.CLAIM: N_("Claim"),
}

PRIORITY_LABELS: dict[TicketPriority, str] = {
    TicketPriority.LOW: N_("Low"),
    TicketPriority.NORMAL: N_("Normal"),
    TicketPriority.HIGH: N_("High"),
    TicketPriority.URGENT: N_("Urgent"),
}

TICKET_STATUS_LABELS: dict[TicketStatus, str] = {
    TicketStatus.OPEN: N_("Open"),
    TicketStatus.PENDING: N_("Waiting for the customer"),
    TicketStatus.RESOLVED: N_("Resolved"),
    TicketStatus.CLOSED: N_("Closed"),
}
