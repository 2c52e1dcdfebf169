"""Reads of tasks: "my tasks" (open, overdue first, then by due time), a deal's tasks, and the
one task a user may see (a sales user: their own, or about a deal or contact they may see)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, or_, select, true
from sqlalchemy.orm import Session

from retentio.activities.models import Activity
from retentio.auth.models import Role, User
from retentio.contacts.access import visible_clause
from retentio.contacts.models import Contact
from retentio.errors import NotFound
from retentio.sales.access import deals_visible
from retentio.sales.models import Deal


def tasks_visible(user: User) -> ColumnElement[bool]:
    """A task belongs with what it is about: a deal's task is seen by whoever sees the deal, a
    contact's task by whoever sees the contact; one's own tasks are always seen."""
    if user.role != Role.SALES:
        return true()
    deal_seen = exists(select(Deal.id).where(Deal.id == Activity.deal_id, deals_visible(user)))
    contact_seen = exists(
        select(Contact.id).where(Contact.id == Activity.contact_id, visible_clause(user))
    )
    return or_(
        Activity.owner_id == user.id,
        and_(Activity.deal_id.is_not(None), deal_seen),
        and_(Activity.deal_id.is_(None), contact_seen),
    )


def visible_task(session: Session, user: User, task_id: int, *, lock: bool = False) -> Activity:
    query = select(Activity).where(Activity.id == task_id, tasks_visible(user))
    task = session.scalars(query.with_for_update() if lock else query).first()
    if task is None:
        raise NotFound(f"Task {task_id} does not exist.")
    return task


def my_tasks(session: Session, user: User, *, now: datetime) -> Sequence[Activity]:
    """The user's open tasks: overdue ones first, then by due time; undated ones last."""
    overdue = case((Activity.due_at < now, 0), else_=1)
    undated = case((Activity.due_at.is_(None), 1), else_=0)
    return session.scalars(
        select(Activity)
        .where(Activity.owner_id == user.id, Activity.done_at.is_(None))
        .order_by(overdue, undated, Activity.due_at, Activity.id)
    ).all()


def deal_tasks(session: Session, deal_id: int) -> Sequence[Activity]:
    """Open tasks first (by due time, undated last), then the done ones, latest first."""
    done = case((Activity.done_at.is_(None), 0), else_=1)
    undated = case((Activity.due_at.is_(None), 1), else_=0)
    return session.scalars(
        select(Activity)
        .where(Activity.deal_id == deal_id)
        .order_by(done, undated, Activity.due_at, Activity.done_at.desc(), Activity.id)
    ).all()
