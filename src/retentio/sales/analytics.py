"""Sales figures for a pipeline and a period: the stage funnel with conversion and time in stage,
the win rate, lost reasons, the weighted forecast, leads and revenue by source and by manager,
and web-form conversion. Reads only; every figure counts what the user may see
(`access.deals_visible` / `leads_visible`).

Periods are half-open, [since, until). The funnel is a cohort: the deals *created* in the
period, followed through their stage history (`deal_stage_changes`) as it stood at `until`, so a
past period's report does not change as those deals move on later:

- the funnel's steps are the pipeline's open stages in order, then its won stage(s); lost stages
  are not steps (a lost deal simply stops);
- `reached` counts the deals whose furthest step is this one or a later one: a deal that jumped
  past a stage (new → proposal) has passed the one it skipped, as on any sales funnel, so each
  step holds at most as many deals as the one before;
- `moved_on` counts those of them that went further; a move back does not undo it. Won is the
  last step: nothing moves on from it, its conversion is None;
- `avg_seconds` is the mean length of the *completed* stays in the stage (entered, then left
  before `until`). A deal still in the stage is left out: its stay has no length yet, and
  counting it up to `until` would make a stage look faster the more deals wait in it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import SQLColumnExpression, func, select
from sqlalchemy.orm import Session

from retentio.auth.models import User
from retentio.forms.models import WebForm
from retentio.sales.access import deals_visible, leads_visible
from retentio.sales.models import (
    Deal,
    DealStageChange,
    DealStatus,
    Lead,
    LostReason,
    Stage,
    StageKind,
)
from retentio.sales.service import stages_of


@dataclass(frozen=True, slots=True)
class FunnelStage:
    stage_id: int
    name: str
    kind: StageKind
    reached: int
    moved_on: int
    conversion: float | None  # moved_on / reached; None when nothing reached it, or won
    avg_seconds: float | None  # mean completed stay; None when no stay has ended


def funnel(
    session: Session, pipeline_id: int, *, user: User, since: datetime, until: datetime
) -> list[FunnelStage]:
    """The funnel of the deals created in [since, until) that `user` may see (see module)."""
    stages = stages_of(session, pipeline_id)
    steps = [s for s in stages if s.kind == StageKind.OPEN] + [
        s for s in stages if s.kind == StageKind.WON
    ]
    rank = {stage.id: index for index, stage in enumerate(steps)}
    reached: dict[int, set[int]] = defaultdict(set)
    moved_on: dict[int, set[int]] = defaultdict(set)
    stays: dict[int, list[float]] = defaultdict(list)
    for deal_id, moves in _histories(session, pipeline_id, user, since, until).items():
        for index, (stage_id, at) in enumerate(moves):
            if index + 1 < len(moves):
                stays[stage_id].append((moves[index + 1][1] - at).total_seconds())
        # Lost stages are not steps: a deal lost from qualification got as far as qualification.
        furthest = max((rank[stage_id] for stage_id, _at in moves if stage_id in rank), default=-1)
        for step in steps[: furthest + 1]:
            reached[step.id].add(deal_id)
            if rank[step.id] < furthest:
                moved_on[step.id].add(deal_id)
    return [_step(stage, reached, moved_on, stays) for stage in steps]


def _histories(
    session: Session, pipeline_id: int, user: User, since: datetime, until: datetime
) -> dict[int, list[tuple[int, datetime]]]:
    """Each cohort deal's stage entries in order, as (stage id, entered at), up to `until`."""
    rows = session.execute(
        select(DealStageChange.deal_id, DealStageChange.to_stage_id, DealStageChange.changed_at)
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(
            Deal.pipeline_id == pipeline_id,
            Deal.created_at >= since,
            Deal.created_at < until,
            DealStageChange.changed_at < until,
            deals_visible(user),
        )
        .order_by(DealStageChange.deal_id, DealStageChange.changed_at, DealStageChange.id)
    )
    histories: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for deal_id, stage_id, changed_at in rows:
        histories[deal_id].append((stage_id, changed_at))
    return histories


def _step(
    stage: Stage,
    reached: dict[int, set[int]],
    moved_on: dict[int, set[int]],
    stays: dict[int, list[float]],
) -> FunnelStage:
    count, onward = len(reached[stage.id]), len(moved_on[stage.id])
    lengths = stays[stage.id]
    return FunnelStage(
        stage_id=stage.id,
        name=stage.name,
        kind=stage.kind,
        reached=count,
        moved_on=onward,
        conversion=onward / count if count and stage.kind == StageKind.OPEN else None,
        avg_seconds=sum(lengths) / len(lengths) if lengths else None,
    )


def win_rate(
    session: Session, pipeline_id: int, *, user: User, since: datetime, until: datetime
) -> float | None:
    """won / (won + lost) among the visible deals of the pipeline closed in [since, until);
    None when none closed. A reopened deal has lost its close date and counts as open."""
    won = func.count().filter(
        Deal.status == DealStatus.WON, Deal.won_at >= since, Deal.won_at < until
    )
    lost = func.count().filter(
        Deal.status == DealStatus.LOST, Deal.lost_at >= since, Deal.lost_at < until
    )
    row = session.execute(
        select(won, lost).where(Deal.pipeline_id == pipeline_id, deals_visible(user))
    ).one()
    closed = row[0] + row[1]
    return row[0] / closed if closed else None


# --- lost reasons and forecast ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LostReasonRow:
    reason_id: int | None  # None: no reason left (the reason was deleted)
    name: str | None
    deals: int
    amount: Decimal


def lost_reasons(
    session: Session, pipeline_id: int, *, user: User, since: datetime, until: datetime
) -> list[LostReasonRow]:
    """Visible deals of the pipeline lost in [since, until), per reason, most frequent first."""
    rows = session.execute(
        select(LostReason.id, LostReason.name, func.count(), func.sum(Deal.amount))
        .select_from(Deal)
        .outerjoin(LostReason, LostReason.id == Deal.lost_reason_id)
        .where(
            Deal.pipeline_id == pipeline_id,
            Deal.status == DealStatus.LOST,
            Deal.lost_at >= since,
            Deal.lost_at < until,
            deals_visible(user),
        )
        .group_by(LostReason.id, LostReason.name)
    )
    found = [LostReasonRow(r[0], r[1], r[2], _money(r[3])) for r in rows]
    return sorted(found, key=lambda r: (-r.deals, r.name is None, r.name or ""))


@dataclass(frozen=True, slots=True)
class ForecastMonth:
    month: date | None  # the first day of the expected close month; None: no date given
    deals: int
    amount: Decimal
    weighted: Decimal  # Σ amount × stage probability / 100


def forecast(session: Session, pipeline_id: int, *, user: User) -> list[ForecastMonth]:
    """The open visible deals of the pipeline by the month they are expected to close, in
    order, "no date" last. Not limited to a period: it looks forward from today's pipeline."""
    # Grouped by day and probability in SQL (month arithmetic differs by dialect), by month here.
    rows = session.execute(
        select(Deal.expected_close_on, Stage.probability, func.count(), func.sum(Deal.amount))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Deal.pipeline_id == pipeline_id, Deal.status == DealStatus.OPEN, deals_visible(user))
        .group_by(Deal.expected_close_on, Stage.probability)
    )
    months: dict[date | None, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for day, probability, count, amount in rows:
        totals = months[day.replace(day=1) if day is not None else None]
        totals[0] += count
        totals[1] += _money(amount)
        totals[2] += _money(amount) * probability / 100
    order = sorted(months, key=lambda m: (m is None, m or date.min))
    return [ForecastMonth(m, int(months[m][0]), months[m][1], _money(months[m][2])) for m in order]


# --- breakdowns -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Breakdown:
    """Leads and deals of one source, UTM source or manager in a period."""

    key: str | None  # the source or UTM source; the manager's name; None: unknown
    owner_id: int | None  # by manager only
    leads: int  # created in the period
    deals: int  # created in the period
    won: int  # won in the period
    revenue: Decimal  # the amount of those won


Dimension = Literal["source", "utm_source", "owner"]


def breakdown(
    session: Session,
    pipeline_id: int,
    by: Dimension,
    *,
    user: User,
    since: datetime,
    until: datetime,
) -> list[Breakdown]:
    """Leads (of any pipeline: a lead has none until converted), and the pipeline's deals and
    won revenue, per source (`source`), per UTM source (`utm["utm_source"]`, the name of the
    link parameter) or per manager (the owner). Most revenue first."""
    lead_key, deal_key = _dimension(by)
    counts: dict[Any, list[Any]] = defaultdict(lambda: [0, 0, 0, Decimal(0)])
    leads = session.execute(
        select(lead_key, func.count())
        .where(Lead.created_at >= since, Lead.created_at < until, leads_visible(user))
        .group_by(lead_key)
    )
    for key, count in leads:
        counts[key][0] += count
    in_pipeline = (Deal.pipeline_id == pipeline_id, deals_visible(user))
    created = session.execute(
        select(deal_key, func.count())
        .where(*in_pipeline, Deal.created_at >= since, Deal.created_at < until)
        .group_by(deal_key)
    )
    for key, count in created:
        counts[key][1] += count
    won = session.execute(
        select(deal_key, func.count(), func.sum(Deal.amount))
        .where(*in_pipeline, Deal.status == DealStatus.WON)
        .where(Deal.won_at >= since, Deal.won_at < until)
        .group_by(deal_key)
    )
    for key, count, amount in won:
        counts[key][2] += count
        counts[key][3] += _money(amount)
    names = _names(session, [k for k in counts if k is not None]) if by == "owner" else {}
    rows = [
        Breakdown(
            key=names.get(key) if by == "owner" else key,
            owner_id=key if by == "owner" else None,
            leads=c[0],
            deals=c[1],
            won=c[2],
            revenue=c[3],
        )
        for key, c in counts.items()
    ]
    return sorted(rows, key=lambda r: (-r.revenue, -r.leads, r.key is None, r.key or ""))


def _dimension(by: Dimension) -> tuple[SQLColumnExpression[Any], SQLColumnExpression[Any]]:
    if by == "source":
        return Lead.source, Deal.source
    if by == "utm_source":
        return Lead.utm["utm_source"].as_string(), Deal.utm["utm_source"].as_string()
    return Lead.owner_id, Deal.owner_id


def _names(session: Session, user_ids: list[int]) -> dict[int, str]:
    rows = session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}  # noqa: C416 - rows are Row, not pairs


# --- web forms --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FormConversion:
    form_id: int
    name: str
    views: int  # all time: the form keeps a counter, not dated views
    submissions: int  # all time, likewise
    leads: int  # created from the form in the period
    deals: int  # those leads converted into a deal
    won: int  # those deals won (before `until`)
    revenue: Decimal


def form_conversion(
    session: Session, *, user: User, since: datetime, until: datetime
) -> list[FormConversion]:
    """Per web form: views → submissions → leads → deals → won revenue. Leads are the visible
    ones made by the form in [since, until), followed to their deal (`leads.deal_id`) in any
    pipeline; a deal the user may not see counts for nothing."""
    won = (Deal.status == DealStatus.WON) & (Deal.won_at < until)
    leads = (
        select(
            Lead.form_id,
            func.count(Lead.id).label("leads"),
            func.count(Deal.id).label("deals"),
            func.count(Deal.id).filter(won).label("won"),
            func.sum(Deal.amount).filter(won).label("revenue"),
        )
        .outerjoin(Deal, (Deal.id == Lead.deal_id) & deals_visible(user))
        .where(
            Lead.form_id.is_not(None),
            Lead.created_at >= since,
            Lead.created_at < until,
            leads_visible(user),
        )
        .group_by(Lead.form_id)
        .subquery()
    )
    rows = session.execute(
        select(
            WebForm.id,
            WebForm.name,
            WebForm.views,
            WebForm.submissions,
            func.coalesce(leads.c.leads, 0),
            func.coalesce(leads.c.deals, 0),
            func.coalesce(leads.c.won, 0),
            leads.c.revenue,
        )
        .outerjoin(leads, leads.c.form_id == WebForm.id)
        .order_by(WebForm.name, WebForm.id)
    )
    return [
        FormConversion(
            form_id=form_id,
            name=name,
            views=views,
            submissions=submissions,
            leads=lead_count,
            deals=deal_count,
            won=won_count,
            revenue=_money(revenue),
        )
        for form_id, name, views, submissions, lead_count, deal_count, won_count, revenue in rows
    ]


def _money(value: Decimal | float | None) -> Decimal:
    """A sum as money: SQLite adds NUMERIC as floating point, so round to the kopeck."""
    return Decimal(str(value or 0)).quantize(CENT)


CENT = Decimal("0.01")
