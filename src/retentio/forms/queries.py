"""Reading web forms: the list with counters, one form, its submissions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.contacts.models import Contact
from retentio.forms.models import FormSubmission, WebForm


def list_forms(session: Session) -> Sequence[WebForm]:
    return session.scalars(select(WebForm).order_by(WebForm.name, WebForm.id)).all()


def form_by_id(session: Session, form_id: int) -> WebForm | None:
    return session.get(WebForm, form_id)


def form_by_public_id(session: Session, public_id: str) -> WebForm | None:
    return session.scalar(select(WebForm).where(WebForm.public_id == public_id))


def submissions_of(
    session: Session, form_id: int, *, limit: int, offset: int = 0
) -> Sequence[FormSubmission]:
    return session.scalars(
        select(FormSubmission)
        .where(FormSubmission.form_id == form_id)
        .order_by(FormSubmission.submitted_at.desc(), FormSubmission.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()


def recent_submissions(
    session: Session, form_id: int, *, limit: int
) -> list[tuple[FormSubmission, Contact]]:
    """The latest submissions with their contacts, in one query (the form's page lists them)."""
    rows = session.execute(
        select(FormSubmission, Contact)
        .join(Contact, Contact.id == FormSubmission.contact_id)
        .where(FormSubmission.form_id == form_id)
        .order_by(FormSubmission.submitted_at.desc(), FormSubmission.id.desc())
        .limit(limit)
    )
    return [(submission, contact) for submission, contact in rows]


def count_submissions(session: Session, form_id: int) -> int:
    count = session.scalar(
        select(func.count()).select_from(FormSubmission).where(FormSubmission.form_id == form_id)
    )
    return int(count or 0)


def conversion(form: WebForm) -> float | None:
    """Submissions per view in per cent, one decimal; None before the first view."""
    if form.views <= 0:
        return None
    return round(100 * form.submissions / form.views, 1)
