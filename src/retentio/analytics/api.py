"""JSON API of analytics: metrics of a period (overall or per group), monthly cohorts and
the health of the customer base.

Aggregates only, so every role may read them (the sales role's contact visibility does not
apply, as on the Analytics page).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from retentio.analytics import cohorts, page_data, queries
from retentio.analytics.base import base_health
from retentio.analytics.cohorts import Measure
from retentio.analytics.queries import GroupBy
from retentio.analytics.schemas import (
    BaseHealthRead,
    CohortRead,
    CohortsRead,
    MetricsRead,
    MetricsRow,
    PeriodRead,
)
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.web.deps import SessionDep

router = APIRouter(prefix="/analytics", tags=["analytics"])
Viewer = Annotated[User, Depends(require(Permission.VIEW))]


@router.get("/metrics", response_model=MetricsRead)
def period_metrics(
    session: SessionDep,
    _user: Viewer,
    start: Annotated[
        date | None, Query(description="First day (default: 89 days before the end)")
    ] = None,
    end: Annotated[
        date | None, Query(description="Last day, included (default: today, UTC)")
    ] = None,
    group_by: GroupBy | None = None,
) -> MetricsRead:
    period = page_data.period_of(
        start, end, today=utcnow().date(), fields=("query.start", "query.end")
    )
    rows = queries.metrics(session, period.start, period.end, group_by=group_by)
    return MetricsRead(
        period=PeriodRead.of(period),
        group_by=group_by,
        rows=[MetricsRow.of(row) for row in rows],
    )


@router.get("/cohorts", response_model=CohortsRead)
def cohort_table(
    session: SessionDep,
    _user: Viewer,
    measure: Measure = "retention",
    months: Annotated[int, Query(ge=1, le=120, description="Cohorts of the last N months")] = (
        cohorts.DEFAULT_MONTHS
    ),
) -> CohortsRead:
    found = cohorts.cohorts(session, utcnow(), months=months)
    return CohortsRead(
        measure=measure, months=months, cohorts=[CohortRead.of(c, measure) for c in found]
    )


@router.get("/base", response_model=BaseHealthRead)
def base(session: SessionDep, _user: Viewer) -> BaseHealthRead:
    """How many contacts each channel reaches for marketing, and how complete records are."""
    return BaseHealthRead.of(base_health(session))
