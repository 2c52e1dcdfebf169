"""Words for the sales domain's values as pages show them (translated where displayed): stage
kinds, deal and lead statuses, task kinds."""

from __future__ import annotations

from retentio.activities.models import ActivityKind
from retentio.kit.text import N_
from retentio.sales.models import DealStatus, LeadStatus, StageKind

STAGE_KIND_LABELS: dict[StageKind, str] = {
    StageKind.OPEN: N_("Open"),
    StageKind.WON: N_("Won"),
    StageKind.LOST: N_("Lost"),
}

DEAL_STATUS_LABELS: dict[DealStatus, str] = {
    DealStatus.OPEN: N_("Open"),
    DealStatus.WON: N_("Won"),
    DealStatus.LOST: N_("Lost"),
}

LEAD_STATUS_LABELS: dict[LeadStatus, str] = {
    LeadStatus.NEW: N_("New"),
    LeadStatus.IN_PROGRESS: N_("In progress"),
    LeadStatus.CONVERTED: N_("Converted"),
    LeadStatus.JUNK: N_("Junk"),
}

TASK_KIND_LABELS: dict[ActivityKind, str] = {
    ActivityKind.CALL: N_("Call"),
    ActivityKind.MEETING: N_("Meeting"),
    ActivityKind.EMAIL: N_("E-mail"),
    ActivityKind.REMINDER: N_("Reminder"),
}
