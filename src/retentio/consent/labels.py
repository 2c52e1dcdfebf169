"""Words for consent channels and purposes as pages show them (translated where displayed)."""

from __future__ import annotations

from retentio.consent.models import Channel, Purpose
from retentio.kit.text import N_

CHANNEL_LABELS: dict[Channel, str] = {
    Channel.EMAIL: N_("E-mail"),
    Channel.SMS: N_("SMS"),
    Channel.MESSENGER: N_("Messenger"),
    Channel.PHONE: N_("Phone call"),
}

PURPOSE_LABELS: dict[Purpose, str] = {
    Purpose.MARKETING: N_("Marketing"),
    Purpose.TRANSACTIONAL: N_("Transactional"),
}
