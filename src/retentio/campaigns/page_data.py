"""What the campaign pages show and read: the list's rows with their figures (a fixed number
of grouped queries for the page's campaigns), the form's choices and values and its
translation into `CampaignIn`, and the card's report with its charts as JSON.

Reads only; writes go through `service`. The form speaks in percent and in flat fields
(`variants-0-subject`); the schema in shares and nested variants, and this module translates
both ways, errors included, so each message lands beside the field it names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from retentio.campaigns import queries, service
from retentio.campaigns.api import report_read
from retentio.campaigns.models import Campaign, CampaignRecipient, CampaignStatus, RecipientGroup
from retentio.campaigns.schemas import CampaignIn, ContentIn, ReportRead
from retentio.errors import InvalidInput, RetentioError
from retentio.messaging.models import (
    EventKind,
    Message,
    MessageContent,
    MessageEvent,
    MessageState,
    SendingAccount,
    Topic,
)
from retentio.messaging.policy import SendPolicy
from retentio.segments import queries as segment_queries
from retentio.segments.page_data import display_name
from retentio.web.forms import GENERAL, text, texts
from retentio.web.i18n import gettext as _

# The settings have no shop time zone yet: a scheduled time is read in the zone the campaign
# uses for contacts without one, so "10:00" means the same to the author and to the sender.
SCHEDULE_ZONE = SendPolicy().default_timezone
MAX_VARIANTS = 5
LABELS = "ABCDE"
VARIANT_FIELDS = ("label", "weight", "subject", "preheader", "html", "text")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
VARIANT_NAME = re.compile(r"^variants-(\d+)-label$")
PATH_SPLIT = re.compile(r"[.\[\]]+")
DONE_STATES = (MessageState.SENT, MessageState.FAILED, MessageState.UNKNOWN, MessageState.SKIPPED)


# --- the list --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    campaign: Campaign
    segment: str
    figures: queries.Figures
    incremental_revenue: float | None

    @property
    def open_rate(self) -> float | None:
        delivered = self.figures.delivered
        return self.figures.unique.get(EventKind.OPEN, 0) / delivered if delivered else None

    @property
    def click_rate(self) -> float | None:
        return self.figures.click_rate if self.figures.delivered else None


def rows_for(session: Session, campaigns: Sequence[Campaign], *, now: datetime) -> list[Row]:
    figures = _figures(session, campaigns)
    names = segment_names(session)
    return [
        Row(
            campaign=c,
            segment=names.get(c.segment_id, "—"),
            figures=figures[c.id],
            incremental_revenue=_incremental_revenue(session, c, now),
        )
        for c in campaigns
    ]


def _figures(session: Session, campaigns: Sequence[Campaign]) -> dict[int, queries.Figures]:
    """Recipients, message states and unique events of every listed campaign: three grouped
    statements, whatever the number of campaigns."""
    figures = {c.id: queries.Figures(channel=c.channel) for c in campaigns}
    ids = list(figures)
    if not ids:
        return figures
    recipients = session.execute(
        select(CampaignRecipient.campaign_id, func.count())
        .where(
            CampaignRecipient.campaign_id.in_(ids),
            CampaignRecipient.group != RecipientGroup.HOLDOUT,
        )
        .group_by(CampaignRecipient.campaign_id)
    )
    for campaign_id, count in recipients:
        figures[campaign_id].recipients = int(count)
    of_campaigns = (Message.source_kind == service.SOURCE, Message.source_id.in_(ids))
    states = session.execute(
        select(Message.source_id, Message.state, func.count())
        .where(*of_campaigns)
        .group_by(Message.source_id, Message.state)
    )
    for campaign_id, state, count in states:
        figures[campaign_id].states[MessageState(state)] = int(count)
    events = session.execute(
        select(Message.source_id, MessageEvent.kind, func.count(distinct(MessageEvent.message_id)))
        .join(Message, Message.id == MessageEvent.message_id)
        .where(*of_campaigns)
        .group_by(Message.source_id, MessageEvent.kind)
    )
    for campaign_id, kind, count in events:
        figures[campaign_id].unique[EventKind(kind)] = int(count)
    return figures


def _incremental_revenue(session: Session, campaign: Campaign, now: datetime) -> float | None:
    # Only started campaigns with a holdout have an effect to show; the report's order window
    # and variance sums are per campaign, so those few are asked one by one, as the card does.
    if campaign.started_at is None or not campaign.holdout_share:
        return None
    effect = queries.report(session, campaign, now=now).incremental
    return effect.revenue.estimate if effect else None


def segment_names(session: Session) -> dict[int, str]:
    return {s.id: display_name(s) for s in segment_queries.segments(session)}


# --- the form --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    accounts: Sequence[SendingAccount]
    topics: Sequence[Topic]
    segments: list[tuple[int, str]]


def choices(session: Session) -> Choices:
    accounts = session.scalars(
        select(SendingAccount)
        .where(SendingAccount.archived_at.is_(None))
        .order_by(SendingAccount.channel, SendingAccount.name)
    ).all()
    topics = session.scalars(
        select(Topic).where(Topic.archived_at.is_(None)).order_by(Topic.name)
    ).all()
    names = segment_names(session)
    segments = sorted(names.items(), key=lambda item: (item[1].casefold(), item[0]))
    return Choices(accounts=accounts, topics=topics, segments=segments)


def blank_variant(index: int) -> dict[str, Any]:
    return {"label": LABELS[index % len(LABELS)], "weight": "1"} | dict.fromkeys(
        VARIANT_FIELDS[2:], ""
    )


def new_values() -> dict[str, Any]:
    return {
        "channel": "email",
        "purpose": "marketing",
        "holdout_share": "10",
        "ab_wait_hours": "4",
        "ab_metric": "clicks",
        "attribution_days": "7",
        "exclude_segment_ids": [],
        "variants": [blank_variant(0)],
    }


def values_of(session: Session, campaign: Campaign) -> dict[str, Any]:
    """A saved campaign as the form shows it."""
    variants = []
    for variant in service.variants_of(session, campaign.id):
        content = session.get(MessageContent, variant.content_id)
        variants.append(
            {
                "label": variant.label,
                "weight": _number(variant.weight),
                "subject": content.subject if content else "",
                "preheader": content.preheader if content else "",
                "html": content.html if content else "",
                "text": content.text if content else "",
                "locales": sorted(variant.locale_content_ids),
            }
        )
    return {
        "name": campaign.name,
        "channel": campaign.channel.value,
        "purpose": campaign.purpose.value,
        "account_id": str(campaign.account_id),
        "topic_id": str(campaign.topic_id or ""),
        "segment_id": str(campaign.segment_id),
        "exclude_segment_ids": [str(s) for s in campaign.exclude_segment_ids],
        "holdout_share": _number(campaign.holdout_share * 100),
        "ab_test_share": _number(campaign.ab_test_share * 100) if campaign.ab_test_share else "",
        "ab_wait_hours": _number(campaign.ab_wait_hours),
        "ab_metric": campaign.ab_metric.value,
        "local_time": campaign.local_time or "",
        "per_hour": str(campaign.per_hour or ""),
        "attribution_days": str(campaign.attribution_days),
        "variants": variants,
    } | {name: (campaign.utm or {}).get(name, "") for name in UTM_FIELDS}


def _number(value: float) -> str:
    """12.0 → "12", 12.5 → "12.5": what a person would have typed."""
    return f"{round(value, 4):g}"


def posted_values(form: FormData) -> dict[str, Any]:
    """The form as posted, variants in the order of their indexes."""
    values: dict[str, Any] = {
        name: text(form, name) or ""
        for name in (
            "name",
            "channel",
            "purpose",
            "account_id",
            "topic_id",
            "segment_id",
            "holdout_share",
            "ab_test_share",
            "ab_wait_hours",
            "ab_metric",
            "local_time",
            "per_hour",
            "attribution_days",
            *UTM_FIELDS,
        )
    }
    values["exclude_segment_ids"] = texts(form, "exclude_segment_ids")
    indexes = sorted(int(m.group(1)) for key in form if (m := VARIANT_NAME.match(key)))
    values["variants"] = [
        {name: _raw(form, f"variants-{i}-{name}") for name in VARIANT_FIELDS} for i in indexes
    ]
    return values


def flat_values(values: dict[str, Any]) -> dict[str, Any]:
    """The values with each variant's fields under their form names (`variants-0-subject`)."""
    flat = {k: v for k, v in values.items() if k != "variants"}
    for i, variant in enumerate(values["variants"]):
        flat |= {f"variants-{i}-{name}": variant.get(name, "") for name in VARIANT_FIELDS}
    return flat


def _raw(form: FormData, name: str) -> str:
    """Bodies keep their whitespace; the other fields are trimmed."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value if name.endswith(("-html", "-text")) else value.strip()


def campaign_in(values: dict[str, Any], locales: dict[str, dict[str, ContentIn]]) -> CampaignIn:
    """The schema from the form's values; `locales` keeps the language versions of variants
    (by label) that the form does not edit. Raises InvalidInput or ValidationError."""
    variants = values["variants"]
    data: dict[str, Any] = {
        "name": values["name"],
        "channel": values["channel"],
        "purpose": values["purpose"],
        "account_id": _integer(values, "account_id", required=True),
        "topic_id": _integer(values, "topic_id"),
        "segment_id": _integer(values, "segment_id", required=True),
        "exclude_segment_ids": [int(s) for s in values["exclude_segment_ids"] if s.isdigit()],
        "holdout_share": _percent(values, "holdout_share", high=50) or 0.0,
        "ab_test_share": _percent(values, "ab_test_share", low=1, high=99)
        if len(variants) > 1
        else None,
        "ab_wait_hours": _decimal(values, "ab_wait_hours") or 4.0,
        "ab_metric": values["ab_metric"] or "clicks",
        "local_time": values["local_time"] or None,
        "per_hour": _integer(values, "per_hour"),
        "attribution_days": _integer(values, "attribution_days") or 7,
        "utm": {name: values[name] for name in UTM_FIELDS if values[name]},
        "variants": [
            {
                "label": v["label"],
                "weight": _decimal(v, "weight", field=f"variants-{i}-weight") or 1.0,
                "content": {name: v[name] for name in ("subject", "preheader", "html", "text")},
                "locales": locales.get(v["label"], {}),
            }
            for i, v in enumerate(variants)
        ],
    }
    return CampaignIn.model_validate(data)


def _integer(values: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    raw = values[name]
    if not raw:
        if required:
            raise InvalidInput(_("Choose one."), details={"field": name})
        return None
    if not raw.isdigit():
        raise InvalidInput(_("Enter a whole number."), details={"field": name})
    return int(raw)


def _decimal(values: dict[str, Any], name: str, *, field: str | None = None) -> float | None:
    raw = values[name].replace(",", ".").replace(" ", "")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(_("Enter a number."), details={"field": field or name}) from None


def _percent(values: dict[str, Any], name: str, *, low: float = 0, high: float) -> float | None:
    percent = _decimal(values, name)
    if percent is None:
        return None
    if not low <= percent <= high:
        message = _("Between %(low)s and %(high)s percent.") % {"low": low, "high": high}
        raise InvalidInput(message, details={"field": name})
    return percent / 100


def locales_of(session: Session, campaign_id: int) -> dict[str, dict[str, ContentIn]]:
    """Each variant's language versions by the variant's label, as the service takes them."""
    kept: dict[str, dict[str, ContentIn]] = {}
    for variant in service.variants_of(session, campaign_id):
        versions = {}
        for lang, content_id in variant.locale_content_ids.items():
            content = session.get(MessageContent, content_id)
            if content is not None:
                versions[lang] = ContentIn(
                    subject=content.subject,
                    preheader=content.preheader,
                    html=content.html,
                    text=content.text,
                )
        kept[variant.label] = versions
    return kept


def form_errors(error: ValidationError | RetentioError) -> dict[str, str]:
    """Messages keyed by the form's field names (`variants-0-subject`); GENERAL for the rest."""
    if isinstance(error, ValidationError):
        errors: dict[str, str] = {}
        for item in error.errors():
            name = _form_name([str(part) for part in item["loc"]])
            errors.setdefault(name, str(item["msg"]).removeprefix("Value error, "))
        return errors
    details = error.details if isinstance(error.details, dict) else {}
    field = details.get("field")
    if not isinstance(field, str):
        return {GENERAL: error.message}
    return {_form_name([p for p in PATH_SPLIT.split(field) if p]): error.message}


def _form_name(path: list[str]) -> str:
    """["variants", "0", "content", "text"] → "variants-0-text"; a variant's content as a
    whole, or one of its language versions, is the variant's own error ("variants-0")."""
    if not path:
        return GENERAL
    head = path[0]
    if head == "variants" and len(path) > 1 and path[1].isdigit():
        rest = [p for p in path[2:] if p != "content"]
        if rest and rest[0] in VARIANT_FIELDS:
            return f"variants-{path[1]}-{rest[0]}"
        return f"variants-{path[1]}"
    if head == "utm" and len(path) > 1 and path[1] in UTM_FIELDS:
        return path[1]
    return head


def schedule_at(raw: str | None) -> datetime:
    """A `datetime-local` value, read in SCHEDULE_ZONE."""
    try:
        local = datetime.fromisoformat(raw or "")
    except ValueError:
        raise InvalidInput(_("Choose a date and a time."), details={"field": "at"}) from None
    return local.replace(tzinfo=ZoneInfo(SCHEDULE_ZONE))


# --- the card --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    done: int
    waiting: int

    @property
    def total(self) -> int:
        return self.done + self.waiting


@dataclass(frozen=True)
class Card:
    report: ReportRead
    progress: Progress
    live: bool  # the page polls the report while this is true
    open_rate: float
    charts: dict[str, Any]


def card(session: Session, campaign: Campaign, *, now: datetime) -> Card:
    report = report_read(queries.report(session, campaign, now=now))
    total = report.total
    done = total.sent + total.failed + total.unknown + total.skipped
    due = campaign.status == CampaignStatus.SCHEDULED and (campaign.scheduled_at or now) <= now
    return Card(
        report=report,
        progress=Progress(done=done, waiting=total.queued),
        live=campaign.status == CampaignStatus.SENDING or due,
        open_rate=total.unique_opens / total.delivered if total.delivered else 0.0,
        charts=_charts(report),
    )


def _charts(report: ReportRead) -> dict[str, Any]:
    charts: dict[str, Any] = {}
    if report.timeline:
        charts["timeline"] = {
            "x": [point.at.isoformat() for point in report.timeline],
            "opens": [point.opens for point in report.timeline],
            "clicks": [point.clicks for point in report.timeline],
        }
    if report.incremental:
        charts["effect"] = {
            "conversions": report.incremental.conversions.model_dump(),
            "revenue": report.incremental.revenue.model_dump(),
        }
    return charts
