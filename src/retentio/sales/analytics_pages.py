"""The sales analytics page (`/deals/analytics`): for a pipeline and a period, the stage funnel
with conversion and time in stage, the win rate, lost reasons, the weighted forecast by month,
leads and revenue by source, UTM source and manager, and web-form conversion.

Every role with VIEW may open it; the figures count what the user may see (a sales user: their
deals and their or unassigned leads), as `sales.analytics` does. An invalid period is shown next
to the form and the default period (the last 90 days) is used, as on the Analytics page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from retentio.analytics.page_data import Period, default_period, parse_period
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.db import utcnow
from retentio.errors import InvalidInput
from retentio.kit.text import N_
from retentio.sales import analytics, page_data
from retentio.sales.analytics import ForecastMonth, FunnelStage, LostReasonRow
from retentio.sales.models import Pipeline
from retentio.web import i18n
from retentio.web.dashboard import PLOTLY_VERSION
from retentio.web.deps import SessionDep
from retentio.web.templating import render

router = APIRouter(include_in_schema=False)

Reader = Annotated[User, Depends(require(Permission.VIEW))]

BLUE, GREY = "#2f6fdf", "#9aa4b5"
NO_DATE = N_("No date")
NO_REASON = N_("No reason")
DEALS = N_("deals")
AMOUNT = N_("Amount")
WEIGHTED = N_("Weighted by probability")


@router.get("/deals/analytics", response_class=HTMLResponse)
def sales_analytics(request: Request, session: SessionDep, user: Reader) -> Response:
    params = request.query_params
    today = utcnow().date()
    error: InvalidInput | None = None
    try:
        period = parse_period(params.get("start"), params.get("end"), today=today)
    except InvalidInput as exc:
        error, period = exc, default_period(today)
    pipelines = page_data.pipelines(session)
    chosen = params.get("pipeline", "")
    pipeline = next((p for p in pipelines if str(p.id) == chosen), next(iter(pipelines), None))
    context: dict[str, Any] = {
        "pipelines": pipelines,
        "pipeline": pipeline,
        "period": period,
        "period_error": error.message if error else None,
        "form": {"start": params.get("start", ""), "end": params.get("end", "")} if error else {},
        "plotly_version": PLOTLY_VERSION,
        "month_label": month_label,
    }
    if pipeline is not None:
        context |= _figures(session, pipeline, user, period)
    return render(request, "sales/analytics.html", context, status_code=422 if error else 200)


def _figures(session: Session, pipeline: Pipeline, user: User, period: Period) -> dict[str, Any]:
    since, until = period.start, period.end
    funnel = analytics.funnel(session, pipeline.id, user=user, since=since, until=until)
    reasons = analytics.lost_reasons(session, pipeline.id, user=user, since=since, until=until)
    forecast = analytics.forecast(session, pipeline.id, user=user)
    translate = i18n.gettext
    return {
        "funnel": funnel,
        "win_rate": analytics.win_rate(session, pipeline.id, user=user, since=since, until=until),
        "reasons": reasons,
        "forecast": forecast,
        "by_source": analytics.breakdown(
            session, pipeline.id, "source", user=user, since=since, until=until
        ),
        "by_utm": analytics.breakdown(
            session, pipeline.id, "utm_source", user=user, since=since, until=until
        ),
        "by_owner": analytics.breakdown(
            session, pipeline.id, "owner", user=user, since=since, until=until
        ),
        "forms": analytics.form_conversion(session, user=user, since=since, until=until),
        "charts": {
            "funnel": _funnel_chart(funnel, translate),
            "reasons": _reasons_chart(reasons, translate),
            "forecast": _forecast_chart(forecast, translate),
        },
    }


def month_label(month: date | None) -> str:
    return month.strftime("%m.%Y") if month is not None else i18n.gettext(NO_DATE)


def _layout(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "margin": {"t": 10, "r": 10, "b": 50, "l": 140},
        "height": 320,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "y": -0.2},
        **extra,
    }


def _funnel_chart(steps: list[FunnelStage], translate: Callable[[str], str]) -> dict[str, Any]:
    trace = {
        "type": "funnel",
        "y": [s.name for s in steps],
        "x": [s.reached for s in steps],
        "textinfo": "value+percent initial",
        "marker": {"color": BLUE},
        "hovertemplate": "%{y}: %{x} " + translate(DEALS) + "<extra></extra>",
    }
    return {"data": [trace], "layout": _layout({})}


def _reasons_chart(rows: list[LostReasonRow], translate: Callable[[str], str]) -> dict[str, Any]:
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": [r.name or translate(NO_REASON) for r in rows],
        "x": [r.deals for r in rows],
        "customdata": [float(r.amount) for r in rows],
        "marker": {"color": GREY},
        "hovertemplate": "%{y}: %{x}, %{customdata:,.2f}<extra></extra>",
    }
    return {"data": [trace], "layout": _layout({"yaxis": {"autorange": "reversed"}})}


def _forecast_chart(months: list[ForecastMonth], translate: Callable[[str], str]) -> dict[str, Any]:
    x = [month_label(m.month) for m in months]
    traces = [
        {
            "type": "bar",
            "name": translate(AMOUNT),
            "x": x,
            "y": [float(m.amount) for m in months],
            "marker": {"color": GREY},
        },
        {
            "type": "bar",
            "name": translate(WEIGHTED),
            "x": x,
            "y": [float(m.weighted) for m in months],
            "marker": {"color": BLUE},
        },
    ]
    layout = _layout({"barmode": "group", "xaxis": {"type": "category"}})
    layout["margin"] = {"t": 10, "r": 10, "b": 50, "l": 70}
    return {"data": traces, "layout": layout}
