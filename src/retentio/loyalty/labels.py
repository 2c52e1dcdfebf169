"""Words for ledger entry kinds as pages show them (translated where displayed)."""

from __future__ import annotations

from retentio.kit.text import N_
from retentio.loyalty.models import EntryKind

KIND_LABELS: dict[EntryKind, str] = {
    EntryKind.EARN: N_("Earned"),
    EntryKind.REDEEM: N_("Redeemed"),
    EntryKind.EXPIRE: N_("Expired"),
    EntryKind.ADJUST: N_("Adjusted"),
}
