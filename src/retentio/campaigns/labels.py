"""Words for campaign statuses, recipient groups and A/B metrics as pages show them
(translated where displayed). Channels and purposes have theirs in `consent/labels.py`."""

from __future__ import annotations

from retentio.campaigns.models import AbMetric, CampaignStatus, RecipientGroup
from retentio.kit.text import N_

STATUS_LABELS: dict[CampaignStatus, str] = {
    CampaignStatus.DRAFT: N_("Draft"),
    CampaignStatus.SCHEDULED: N_("Scheduled"),
    CampaignStatus.SENDING: N_("Sending"),
    CampaignStatus.PAUSED: N_("Paused"),
    CampaignStatus.DONE: N_("Done"),
    CampaignStatus.CANCELLED: N_("Cancelled"),
}

GROUP_LABELS: dict[RecipientGroup, str] = {
    RecipientGroup.HOLDOUT: N_("Holdout"),
    RecipientGroup.TEST: N_("A/B test"),
    RecipientGroup.MAIN: N_("Main group"),
}

METRIC_LABELS: dict[AbMetric, str] = {
    AbMetric.OPENS: N_("Open rate"),
    AbMetric.CLICKS: N_("Click rate"),
}
