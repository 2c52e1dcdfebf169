"""JSON API of campaigns under `/api/v1/campaigns`: CRUD of drafts, schedule / start now,
pause, resume, cancel, and the report.

Marketers and admins act (the marketing permission); every role may read. A campaign due now
is started by the worker, enqueued after the request commits.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, status

from retentio.audit import service as audit
from retentio.auth.deps import require
from retentio.auth.models import User
from retentio.auth.permissions import Permission
from retentio.campaigns import proofs, queries, service, tasks
from retentio.campaigns.models import Campaign
from retentio.campaigns.schemas import (
    CampaignIn,
    CampaignRead,
    FiguresRead,
    GroupRead,
    IncrementalRead,
    IntervalRead,
    LaunchIn,
    PreviewRead,
    ProofRead,
    ReportRead,
    TestSendIn,
    TimePointRead,
    VariantRead,
    VariantReportRead,
)
from retentio.campaigns.stats import GroupOutcome, Interval
from retentio.db import utcnow
from retentio.messaging import tasks as messaging_tasks
from retentio.messaging.models import EventKind, MessageState
from retentio.web.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/campaigns", tags=["campaigns"])
Writer = Annotated[User, Depends(require(Permission.MARKETING))]
Reader = Annotated[User, Depends(require(Permission.VIEW))]


def _read(session: SessionDep, campaign: Campaign) -> CampaignRead:
    read = CampaignRead.model_validate(campaign)
    read.variants = [
        VariantRead.model_validate(v) for v in service.variants_of(session, campaign.id)
    ]
    return read


@router.get("", response_model=list[CampaignRead])
def list_campaigns(session: SessionDep, _user: Reader) -> list[CampaignRead]:
    return [_read(session, c) for c in queries.campaigns(session)]


@router.post("", response_model=CampaignRead, status_code=status.HTTP_201_CREATED)
def create_campaign(body: CampaignIn, session: SessionDep, user: Writer) -> CampaignRead:
    return _read(session, service.create_campaign(session, body, user=user))


@router.get("/{campaign_id}", response_model=CampaignRead)
def get_campaign(campaign_id: int, session: SessionDep, _user: Reader) -> CampaignRead:
    return _read(session, service.get(session, campaign_id))


@router.put("/{campaign_id}", response_model=CampaignRead)
def update_campaign(
    campaign_id: int, body: CampaignIn, session: SessionDep, _user: Writer
) -> CampaignRead:
    return _read(session, service.update_campaign(session, campaign_id, body))


@router.post("/{campaign_id}/schedule", response_model=CampaignRead)
def schedule(
    campaign_id: int,
    body: LaunchIn,
    session: SessionDep,
    _user: Writer,
    background: BackgroundTasks,
) -> CampaignRead:
    """Empty `at` starts it now: the worker draws the audience and queues the messages."""
    now = utcnow()
    campaign = service.schedule(session, campaign_id, at=body.at, now=now)
    audit.record(
        session, entity="campaign", entity_id=campaign_id, action="schedule", actor_id=_user.id
    )
    if campaign.scheduled_at is not None and campaign.scheduled_at <= now:
        background.add_task(tasks.start_campaign, campaign.id)
    return _read(session, campaign)


@router.post("/{campaign_id}/unschedule", response_model=CampaignRead)
def unschedule(campaign_id: int, session: SessionDep, _user: Writer) -> CampaignRead:
    return _read(session, service.unschedule(session, campaign_id))


@router.post("/{campaign_id}/pause", response_model=CampaignRead)
def pause(campaign_id: int, session: SessionDep, _user: Writer) -> CampaignRead:
    return _read(session, service.pause(session, campaign_id, now=utcnow()))


@router.post("/{campaign_id}/resume", response_model=CampaignRead)
def resume(
    campaign_id: int, session: SessionDep, _user: Writer, background: BackgroundTasks
) -> CampaignRead:
    campaign = service.resume(session, campaign_id, now=utcnow())
    background.add_task(messaging_tasks.send_outbox)
    return _read(session, campaign)


@router.post("/{campaign_id}/cancel", response_model=CampaignRead)
def cancel(campaign_id: int, session: SessionDep, _user: Writer) -> CampaignRead:
    campaign = service.cancel(session, campaign_id, now=utcnow())
    audit.record(
        session, entity="campaign", entity_id=campaign_id, action="cancel", actor_id=_user.id
    )
    return _read(session, campaign)


@router.post("/{campaign_id}/test", response_model=ProofRead)
def send_test(
    campaign_id: int, body: TestSendIn, session: SessionDep, user: Writer, settings: SettingsDep
) -> ProofRead:
    """Send one variant to the caller (or `address`), filled with `contact_id`'s data."""
    sent_to = proofs.send_proof(
        session,
        campaign_id,
        address=body.address,
        contact_id=body.contact_id,
        variant_id=body.variant_id,
        user=user,
        settings=settings,
        now=utcnow(),
    )
    return ProofRead(address=sent_to)


@router.get("/{campaign_id}/preview", response_model=PreviewRead)
def preview(
    campaign_id: int,
    session: SessionDep,
    user: Reader,
    settings: SettingsDep,
    contact_id: int | None = None,
    variant_id: int | None = None,
) -> PreviewRead:
    """A variant rendered with `contact_id`'s data (or the caller's name), links untracked."""
    rendered = proofs.preview(
        session,
        campaign_id,
        contact_id=contact_id,
        variant_id=variant_id,
        user=user,
        settings=settings,
    )
    return PreviewRead(
        subject=rendered.subject,
        preheader=rendered.preheader,
        html=rendered.html,
        text=rendered.text,
    )


def _interval(interval: Interval) -> IntervalRead:
    return IntervalRead(estimate=interval.estimate, low=interval.low, high=interval.high)


def _figures(figures: queries.Figures) -> FiguresRead:
    unique = figures.unique
    return FiguresRead(
        recipients=figures.recipients,
        queued=figures.queued,
        sent=figures.state(MessageState.SENT),
        delivered=figures.delivered,
        failed=figures.state(MessageState.FAILED),
        unknown=figures.state(MessageState.UNKNOWN),
        skipped=figures.state(MessageState.SKIPPED),
        unique_opens=unique.get(EventKind.OPEN, 0),
        unique_clicks=unique.get(EventKind.CLICK, 0),
        click_rate=figures.click_rate,
        unsubscribes=unique.get(EventKind.UNSUBSCRIBE, 0),
        bounces=figures.bounces,
        complaints=unique.get(EventKind.COMPLAINT, 0),
        conversions=figures.conversions,
        revenue=figures.revenue,
    )


def _group(group: str, outcome: GroupOutcome | None) -> GroupRead | None:
    if outcome is None:
        return None
    return GroupRead.model_validate(
        {
            "group": group,
            "size": outcome.size,
            "converted": outcome.converted,
            "revenue": outcome.revenue,
        }
    )


def report_read(report: queries.Report) -> ReportRead:
    campaign, effect = report.campaign, report.incremental
    return ReportRead(
        campaign_id=campaign.id,
        status=campaign.status,
        window_ends_at=report.window_ends_at,
        total=_figures(report.total),
        holdout=_group("holdout", report.holdout),
        treated=_group("main", report.treated),
        incremental=IncrementalRead(
            rate_lift=_interval(effect.rate_lift),
            revenue_per_contact=_interval(effect.revenue_per_contact),
            conversions=_interval(effect.conversions),
            revenue=_interval(effect.revenue),
        )
        if effect
        else None,
        variants=[
            VariantReportRead(
                variant_id=v.id,
                label=v.label,
                winner=v.id == campaign.winner_variant_id,
                figures=_figures(report.by_variant[v.id]),
            )
            for v in report.variants
        ],
        timeline=[TimePointRead(at=at, opens=o, clicks=c) for at, o, c in report.timeline],
    )


@router.get("/{campaign_id}/report", response_model=ReportRead)
def report(campaign_id: int, session: SessionDep, _user: Reader) -> ReportRead:
    campaign = service.get(session, campaign_id)
    return report_read(queries.report(session, campaign, now=utcnow()))
