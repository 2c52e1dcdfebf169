"""Reads of stored profiles for the profiles API: a filtered page, and one contact's profile.

Here rather than in `profiles.queries` while that module is being reworked; it belongs there
and can move as it is. Visibility is `contacts.access`: a sales user reads the profiles of the
contacts they may see, and only live contacts (not deleted, not merged away) are listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact
from retentio.profiles.models import Profile


@dataclass(frozen=True, slots=True)
class ProfileFilter:
    rfm_segment: str | None = None
    churn_band: str | None = None
    lifecycle_stage: str | None = None


def _filtered(user: User, flt: ProfileFilter) -> Select[Profile]:
    conditions: list[ColumnElement[bool]] = [
        Contact.deleted_at.is_(None),
        Contact.merged_into_id.is_(None),
        visible_clause(user),
    ]
    if flt.rfm_segment is not None:
        conditions.append(Profile.rfm_segment == flt.rfm_segment)
    if flt.churn_band is not None:
        conditions.append(Profile.churn_band == flt.churn_band)
    if flt.lifecycle_stage is not None:
        conditions.append(Profile.lifecycle_stage == flt.lifecycle_stage)
    return select(Profile).join(Contact, Contact.id == Profile.contact_id).where(*conditions)


def profiles_page(
    session: Session, user: User, flt: ProfileFilter, *, page_number: int, per_page: int
) -> tuple[Sequence[Profile], int]:
    """One page of the matching profiles ordered by contact id, and how many match in all."""
    statement = _filtered(user, flt)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        statement.order_by(Profile.contact_id).offset((page_number - 1) * per_page).limit(per_page)
    ).all()
    return rows, int(total)


def profile_of(session: Session, contact_id: int) -> Profile | None:
    """The stored profile of a contact, or None (the caller checks that it may see the contact)."""
    return session.get(Profile, contact_id)
