"""JSON API of tasks under `/api/v1/tasks`: create, complete, "my tasks".

Sales users and admins act (the sales permission); every role may read what it may see. A
deal's tasks are listed under the deal (`sales/api.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from retentio.activities import queries, service
from retentio.activities.schemas import TaskIn, TaskRead
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.web.deps import SessionDep

router = APIRouter(prefix="/tasks", tags=["tasks"])
Writer = Annotated[User, Depends(require(Permission.SALES))]
Reader = Annotated[User, Depends(require(Permission.VIEW))]


@router.get("/my", response_model=list[TaskRead])
def my_tasks(session: SessionDep, user: Reader) -> list[TaskRead]:
    """The caller's open tasks: overdue first, then by due time."""
    return [TaskRead.model_validate(t) for t in queries.my_tasks(session, user, now=utcnow())]


@router.post("", response_model=TaskRead, status_code=status.HTTP_201_CREATED)
def create_task(body: TaskIn, session: SessionDep, user: Writer) -> TaskRead:
    return TaskRead.model_validate(service.create_task(session, user, body, now=utcnow()))


@router.get("/{task_id}", response_model=TaskRead)
def get_task(task_id: int, session: SessionDep, user: Reader) -> TaskRead:
    return TaskRead.model_validate(queries.visible_task(session, user, task_id))


@router.post("/{task_id}/complete", response_model=TaskRead)
def complete_task(task_id: int, session: SessionDep, user: Writer) -> TaskRead:
    return TaskRead.model_validate(service.complete_task(session, user, task_id, now=utcnow()))
