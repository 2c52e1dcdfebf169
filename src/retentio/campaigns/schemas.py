"""JSON shapes of the campaigns API: a campaign with its variants in, the campaign and its
report out. Cross-field rules (an A/B test needs two variants, the account's channel must be
the campaign's) live in the service, which names the field in its error."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from retentio.campaigns.models import AbMetric, CampaignStatus, RecipientGroup
from retentio.consent.models import Channel, Purpose


class ContentIn(BaseModel):
    subject: str = Field(default="", max_length=500)
    preheader: str = Field(default="", max_length=500)
    html: str = Field(default="", max_length=500_000)
    text: str = Field(default="", max_length=100_000)


class VariantIn(BaseModel):
    label: str = Field(min_length=1, max_length=40)
    weight: float = Field(default=1.0, gt=0, le=100)
    content: ContentIn
    # Language code ("en", "ru") → the content for contacts who speak it.
    locales: dict[str, ContentIn] = Field(default_factory=dict)


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    channel: Channel = Channel.EMAIL
    purpose: Purpose = Purpose.MARKETING
    account_id: int
    topic_id: int | None = None
    segment_id: int
    exclude_segment_ids: list[int] = Field(default_factory=list, max_length=20)
    holdout_share: float = Field(default=0.1, ge=0, le=0.5)
    ab_test_share: float | None = Field(default=None, gt=0, lt=1)
    ab_wait_hours: float = Field(default=4.0, gt=0, le=168)
    ab_metric: AbMetric = AbMetric.CLICKS
    local_time: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    per_hour: int | None = Field(default=None, ge=1, le=10_000_000)
    attribution_days: int = Field(default=7, ge=1, le=90)
    utm: dict[str, str] = Field(default_factory=dict)
    variants: list[VariantIn] = Field(min_length=1, max_length=5)


class VariantRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str
    weight: float
    content_id: int
    locale_content_ids: dict[str, int]


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    status: CampaignStatus
    channel: Channel
    purpose: Purpose
    account_id: int
    topic_id: int | None
    segment_id: int
    exclude_segment_ids: list[int]
    holdout_share: float
    ab_test_share: float | None
    ab_wait_hours: float
    ab_metric: AbMetric
    winner_variant_id: int | None
    local_time: str | None
    per_hour: int | None
    attribution_days: int
    scheduled_at: datetime | None
    started_at: datetime | None
    test_ends_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    variants: list[VariantRead] = Field(default_factory=list)


class LaunchIn(BaseModel):
    """Empty `at`: send now."""

    at: datetime | None = None


class TestSendIn(BaseModel):
    """Where the test goes (the caller's own e-mail by default) and whose data fills it."""

    address: str | None = Field(default=None, max_length=300)
    contact_id: int | None = None
    variant_id: int | None = None


class PreviewRead(BaseModel):
    subject: str
    preheader: str
    html: str
    text: str


class ProofRead(BaseModel):
    address: str


class IntervalRead(BaseModel):
    estimate: float
    low: float
    high: float


class IncrementalRead(BaseModel):
    rate_lift: IntervalRead
    revenue_per_contact: IntervalRead
    conversions: IntervalRead
    revenue: IntervalRead


class FiguresRead(BaseModel):
    recipients: int
    queued: int
    sent: int
    delivered: int
    failed: int
    unknown: int
    skipped: int
    unique_opens: int
    unique_clicks: int
    click_rate: float
    unsubscribes: int
    bounces: int
    complaints: int
    conversions: int
    revenue: float


class VariantReportRead(BaseModel):
    variant_id: int
    label: str
    winner: bool
    figures: FiguresRead


class GroupRead(BaseModel):
    group: RecipientGroup
    size: int
    converted: int
    revenue: float


class TimePointRead(BaseModel):
    at: datetime
    opens: int
    clicks: int


class ReportRead(BaseModel):
    campaign_id: int
    status: CampaignStatus
    window_ends_at: datetime | None
    total: FiguresRead
    holdout: GroupRead | None
    treated: GroupRead | None
    incremental: IncrementalRead | None
    variants: list[VariantReportRead]
    timeline: list[TimePointRead]
