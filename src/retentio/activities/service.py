"""Writes of tasks: create one about a contact and/or a deal the user may see, complete it.

Services flush, never commit. Something the user may not see is reported missing (404), as
everywhere in sales.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from retentio.activities.models import Activity
from retentio.activities.queries import visible_task
from retentio.activities.schemas import TaskIn
from retentio.auth.models import User
from retentio.contacts.access import visible_contact
from retentio.errors import InvalidInput
from retentio.sales.access import visible_deal


def create_task(session: Session, user: User, data: TaskIn, *, now: datetime) -> Activity:
    """A task for `owner_id` (the caller when None); a deal's task is also about its contact
    unless another contact is named."""
    if data.contact_id is None and data.deal_id is None:
        raise InvalidInput(
            "deal_id: say which contact or deal the task is about.", details={"field": "deal_id"}
        )
    contact_id = data.contact_id
    if data.deal_id is not None:
        deal = visible_deal(session, user, data.deal_id)
        contact_id = contact_id if contact_id is not None else deal.contact_id
    if data.contact_id is not None:
        visible_contact(session, user, data.contact_id)
    owner_id = data.owner_id if data.owner_id is not None else user.id
    if session.get(User, owner_id) is None:
        raise InvalidInput(
            f"owner_id: user {owner_id} does not exist.", details={"field": "owner_id"}
        )
    task = Activity(
        kind=data.kind,
        title=data.title,
        body=data.body,
        contact_id=contact_id,
        deal_id=data.deal_id,
        owner_id=owner_id,
        due_at=data.due_at,
        origin=f"user:{user.id}",
        created_at=now,
    )
    session.add(task)
    session.flush()
    return task


def complete_task(session: Session, user: User, task_id: int, *, now: datetime) -> Activity:
    """Mark done; completing a done task keeps its first completion time."""
    task = visible_task(session, user, task_id)
    # Atomic: two clicks at once record one completion time.
    session.execute(
        update(Activity)
        .where(Activity.id == task.id, Activity.done_at.is_(None))
        .values(done_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(task)
    return task
