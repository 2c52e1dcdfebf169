"""The Analytics page (`/analytics`): cohorts, the RFM grid, CLV deciles, P(alive), the
lifecycle flow, revenue levers and the metrics of a chosen period; and the calibration check
(`/analytics/calibration`), which the page fetches once it is shown.

Every role may see it: the figures are aggregates, so the sales role's contact visibility does
not apply. An invalid period is shown next to the form and the default period is used.
"""

from __future__ import annotations

from typing import get_args

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRouter

from retentio.analytics import holdout, page_data
from retentio.analytics.base import COMPLETENESS_FIELDS
from retentio.analytics.cohorts import MEASURES, Measure
from retentio.analytics.queries import GroupBy
from retentio.auth.deps import CurrentUser, require
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.errors import InvalidInput
from retentio.profiles.labels import SEGMENT_LABELS
from retentio.web import i18n
from retentio.web.dashboard import PLOTLY_VERSION
from retentio.web.deps import SessionDep
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)
GROUPS: tuple[GroupBy, ...] = get_args(GroupBy)


@router.get("/analytics", response_class=HTMLResponse)
def analytics(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    require(Permission.VIEW)(user)
    params = request.query_params
    now = utcnow()
    today = now.date()
    error: InvalidInput | None = None
    try:
        period = page_data.parse_period(params.get("start"), params.get("end"), today=today)
    except InvalidInput as exc:
        error, period = exc, page_data.default_period(today)
    data = page_data.build(
        session,
        now,
        period,
        group_by=_group_by(params.get("group_by")),
        measure=_measure(params.get("measure")),
    )
    context = {
        "a": data,
        "charts": data.chart_data(i18n.gettext),
        "plotly_version": PLOTLY_VERSION,
        "period_error": error.message if error else None,
        "form": {"start": params.get("start", ""), "end": params.get("end", "")} if error else {},
        "groups": page_data.GROUP_LABELS,
        "measures": page_data.MEASURE_LABELS,
        "group_label": page_data.group_label,
        "stage_label": page_data.stage_label,
        "segment_labels": SEGMENT_LABELS,
        "channel_labels": page_data.CHANNEL_LABELS,
        "completeness_labels": COMPLETENESS_FIELDS,
    }
    return render(request, "analytics/analytics.html", context, status_code=422 if error else 200)


@router.get("/analytics/calibration", response_class=HTMLResponse)
def calibration(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The model check: its own page, or with `fragment=1` the section the Analytics page's
    script puts in place (fitting on every order takes a second or two on a large shop, so the
    rest of the page does not wait for it)."""
    require(Permission.VIEW)(user)
    check = holdout.check(session, utcnow())
    context = {
        "h": check,
        "holdout_chart": page_data.holdout_chart(check),
        "plotly_version": PLOTLY_VERSION,
    }
    fragment = request.query_params.get("fragment") == "1"
    name = "analytics/_calibration.html" if fragment else "analytics/calibration.html"
    return render(request, name, context)


def _group_by(raw: str | None) -> GroupBy | None:
    # An unknown value (an old bookmark) shows the page ungrouped rather than an error.
    return next((group for group in GROUPS if group == raw), None)


def _measure(raw: str | None) -> Measure:
    return next((measure for measure in MEASURES if measure == raw), "retention")
