"""What the feedback and ticket pages show and read back: form values to and from surveys and
tickets, the survey card's figures and chart, and the contact card's block. No SQL of its own:
reads go through `queries`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retentio.auth.models import User
from retentio.feedback import queries
from retentio.feedback.labels import TICKET_STATUS_LABELS
from retentio.feedback.models import Survey, SurveyKind, Ticket, TicketStatus
from retentio.feedback.schemas import ReasonIn, SurveyIn, TicketIn
from retentio.web.forms import text

RESPONSES_SHOWN = 50
# What marks a reason preventable in the form's "key | label | +" lines.
PREVENTABLE_MARK = "+"


def survey_values(survey: Survey | None) -> dict[str, Any]:
    if survey is None:
        return {"kind": SurveyKind.NPS.value, "ask_comment": True, "reasons": ""}
    return {
        "kind": survey.kind.value,
        "name": survey.name,
        "question": survey.question,
        "ask_comment": survey.ask_comment,
        "reasons": "\n".join(
            f"{r['key']} | {r['label']}"
            + (f" | {PREVENTABLE_MARK}" if r.get("preventable") else "")
            for r in survey.reasons
        ),
    }


def posted_survey_values(form: FormData) -> dict[str, Any]:
    return {
        "kind": text(form, "kind") or "",
        "name": text(form, "name") or "",
        "question": text(form, "question") or "",
        "ask_comment": form.get("ask_comment") == "true",
        "reasons": text(form, "reasons") or "",
    }


def _reasons(lines: str) -> list[ReasonIn]:
    """One reason a line: `key | label`, with `| +` after it when the reason is preventable."""
    reasons = []
    for line in lines.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        key, label = parts[0], parts[1] if len(parts) > 1 and parts[1] else parts[0]
        preventable = len(parts) > 2 and parts[2] == PREVENTABLE_MARK
        reasons.append(ReasonIn(key=key, label=label, preventable=preventable))
    return reasons


def survey_in(values: dict[str, Any]) -> SurveyIn:
    """Raises pydantic's ValidationError, naming the field."""
    return SurveyIn.model_validate(
        {
            "kind": values["kind"],
            "name": values["name"],
            "question": values["question"],
            "ask_comment": values["ask_comment"],
            "reasons": [r.model_dump() for r in _reasons(values["reasons"])],
        }
    )


@dataclass(frozen=True)
class SurveyCard:
    nps: queries.NpsFigures | None
    csat: float | None
    by_month: list[tuple[str, queries.NpsFigures]]
    by_segment: list[queries.SegmentNps]
    reasons: list[queries.ReasonCount]
    natural: int
    preventable: int
    responses: list[queries.ResponseRow]
    answers: int

    @property
    def chart(self) -> dict[str, list[Any]]:
        """The NPS trend for Plotly: one point a month."""
        return {
            "months": [m for m, _ in self.by_month],
            "nps": [f.nps for _, f in self.by_month],
            "answers": [f.answers for _, f in self.by_month],
        }


def survey_card(session: Session, survey: Survey, *, viewer: User) -> SurveyCard:
    is_nps = survey.kind == SurveyKind.NPS
    reasons = queries.exit_reasons(session, survey)
    natural, preventable = queries.preventable_split(reasons)
    return SurveyCard(
        nps=queries.nps(session, survey.id) if is_nps else None,
        csat=queries.csat_average(session, survey.id) if survey.kind == SurveyKind.CSAT else None,
        by_month=queries.nps_by_month(session, survey.id) if is_nps else [],
        by_segment=queries.nps_by_segment(session, survey.id) if is_nps else [],
        reasons=reasons,
        natural=natural,
        preventable=preventable,
        responses=queries.responses(session, survey.id, viewer=viewer, limit=RESPONSES_SHOWN),
        answers=queries.answer_counts(session, [survey.id]).get(survey.id, 0),
    )


def ticket_values(ticket: Ticket | None, *, contact_id: int | None = None) -> dict[str, Any]:
    if ticket is None:
        return {"kind": "question", "priority": "normal", "contact_id": contact_id or ""}
    return {
        "subject": ticket.subject,
        "kind": ticket.kind.value,
        "priority": ticket.priority.value,
        "contact_id": ticket.contact_id or "",
        "assignee_id": ticket.assignee_id or "",
    }


def posted_ticket_values(form: FormData) -> dict[str, Any]:
    return {
        name: text(form, name) or ""
        for name in ("subject", "kind", "priority", "contact_id", "assignee_id")
    }


def ticket_in(values: dict[str, Any]) -> TicketIn:
    return TicketIn.model_validate({k: v if v != "" else None for k, v in values.items()})


def assignee_options(session: Session) -> list[tuple[int, str]]:
    users = session.execute(
        select(User.id, User.name).where(User.is_active.is_(True)).order_by(User.name, User.id)
    )
    return [(user_id, name) for user_id, name in users]


@dataclass(frozen=True)
class ContactBlock:
    answers: list[queries.ContactAnswer]
    tickets: list[Ticket]
    status_labels: Mapping[TicketStatus, str] = field(default_factory=lambda: TICKET_STATUS_LABELS)


def contact_block(session: Session, contact_id: int) -> ContactBlock:
    """The contact card's block: latest survey answers and tickets."""
    return ContactBlock(
        answers=queries.contact_answers(session, contact_id),
        tickets=queries.contact_tickets(session, contact_id),
    )
