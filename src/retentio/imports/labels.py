"""What the import pages call things: kinds of import, job states, match keys, schedule presets."""

from __future__ import annotations

from retentio.imports.mapping import ImportEntity
from retentio.imports.models import JobStatus
from retentio.kit.text import N_

ENTITY_LABELS: dict[ImportEntity, str] = {
    ImportEntity.CONTACTS: N_("Contacts"),
    ImportEntity.COMPANIES: N_("Companies"),
    ImportEntity.PRODUCTS: N_("Products"),
    ImportEntity.ORDERS: N_("Orders"),
    ImportEntity.EVENTS: N_("Events"),
    ImportEntity.CONSENTS: N_("Consents"),
}
STATUS_LABELS: dict[JobStatus, str] = {
    JobStatus.PENDING: N_("Waiting"),
    JobStatus.RUNNING: N_("Running"),
    JobStatus.DONE: N_("Done"),
    JobStatus.FAILED: N_("Failed"),
}
MATCH_LABELS: dict[str, str] = {
    "external_id": N_("External id"),
    "email": N_("E-mail"),
    "phone": N_("Phone"),
}
# (cron expression, label): the schedules people ask for most; any other is typed by hand.
CRON_PRESETS: tuple[tuple[str, str], ...] = (
    ("0 3 * * *", N_("Every day at 03:00")),
    ("0 3 * * 1", N_("Every Monday at 03:00")),
    ("0 3 1 * *", N_("Every month on the 1st at 03:00")),
    ("0 * * * *", N_("Every hour")),
)
ENCODINGS: tuple[tuple[str, str], ...] = (
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 (BOM)"),
    ("cp1251", "Windows-1251"),
    ("koi8-r", "KOI8-R"),
    ("cp866", "CP866 (DOS)"),
    ("latin-1", "Latin-1"),
)
DELIMITERS: tuple[tuple[str, str], ...] = (
    (",", N_("Comma ,")),
    (";", N_("Semicolon ;")),
    ("\t", N_("Tab")),
    ("|", N_("Vertical bar |")),
)
