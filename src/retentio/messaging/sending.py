"""The sender: claims due outbox rows, applies the send-time rules, sends, records the outcome.

At most once, by construction: a claimed row is committed in state `sending` *before* any
channel is called, and only a row in `queued` is ever claimed. A sender that dies mid-batch
leaves its rows in `sending`; the next run marks those older than the lease `unknown`, and
nothing ever moves `unknown` back to `queued`. This is why `send_due` commits (the one place
in Retentio that does outside a request or `session_scope`): the claim has to be durable
before the first byte goes out.

Rules, in order: the contact still exists, has an address for the channel, has consent for
the purpose (marketing needs it explicitly), the address is not suppressed — each otherwise
`skipped(reason)`; then, for marketing, the contact has not turned the message's topic off
(skipped), quiet hours (deferred to the window's end) and the frequency cap (skipped), both in
the contact's time zone.

An account's transport is either an e-mail one (SMTP, file sink: the message rendered to bytes)
or a text one (`channels`: SMS, Telegram, webhook), which gets the text template alone, its
links tracked and, for marketing, an unsubscribe line; the webhook also gets subject and HTML.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose
from retentio.consent.service import address_for
from retentio.contacts.models import Contact
from retentio.errors import InvalidInput
from retentio.messaging import bounces, preferences, queries
from retentio.messaging.channels import TEXT_KINDS, TextMessage, TextTransport, text_transport
from retentio.messaging.dkim import DkimKey, load_key
from retentio.messaging.email import Address, Email, domain_of, new_message_id, render_bytes
from retentio.messaging.extras import template_extras
from retentio.messaging.models import (
    AccountKind,
    Message,
    MessageContent,
    MessageState,
    SendingAccount,
    SkipReason,
)
from retentio.messaging.plaintext import track_text, with_unsubscribe
from retentio.messaging.policy import SendPolicy, over_cap, quiet_until, zone
from retentio.messaging.templates import (
    TemplateRenderError,
    compile_content,
    render_content,
    template_variables,
)
from retentio.messaging.tracking import Links, track_html
from retentio.messaging.transports import (
    FileSink,
    PermanentFailure,
    SmtpOptions,
    SmtpTransport,
    TransientFailure,
    Transport,
    UncertainDelivery,
)
from retentio.profiles.models import Profile

logger = logging.getLogger(__name__)

# Longer than any batch can take (500 messages, each bounded by the SMTP timeout only while the
# account answers at all); a row still `sending` after this belongs to a dead sender.
SENDING_LEASE = timedelta(minutes=10)
# Per process: `/metrics` shows it where the sender runs (the web process in single-box mode).
MESSAGES_SENT = Counter("retentio_messages_sent_total", "Outbox messages sent.", ["channel"])
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Frequency caps look back at most a week, plus a day for the widest time-zone offsets.
CAP_LOOKBACK = timedelta(days=8)
# Marks a test message in the recipient's inbox, so it is never mistaken for the real send.
PROOF_PREFIX = "[Test] "
_BODY_OPEN = re.compile(r"<body[^>]*>", re.IGNORECASE)
# Channels whose marketing messages get an unsubscribe line when the text has no link of its
# own: e-mail has List-Unsubscribe, these have nothing else.
_FOOTER_CHANNELS = frozenset({Channel.SMS, Channel.MESSENGER})

TransportFactory = Callable[[SendingAccount], Transport]
TextTransportFactory = Callable[[SendingAccount], TextTransport]


def default_transport(account: SendingAccount) -> Transport:
    if account.kind == AccountKind.FILE:
        return FileSink(Path(str(account.settings.get("directory", "retentio-data/outbox"))))
    return SmtpTransport(SmtpOptions.from_settings(account.settings))


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    skipped: int = 0
    deferred: int = 0
    marked_unknown: int = 0
    unknown: int = 0  # the connection broke before the server's answer: maybe delivered


class Pacer:
    """At most `rate` calls of `wait()` per second (0: no limit)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = self.clock()
        if self.next_at > now:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


@dataclass
class _Account:
    id: int
    sender: Address
    envelope_from: str
    unsubscribe_mailto: str
    dkim: DkimKey | None
    transport: Transport
    pacer: Pacer
    down: TransientFailure | None = None  # the account failed at the connection this batch


@dataclass
class _TextAccount:
    """An account of a text channel: no envelope, no DKIM."""

    id: int
    transport: TextTransport
    pacer: Pacer
    # The webhook passes subject and HTML on; SMS and Telegram carry the text alone.
    rich: bool
    down: TransientFailure | None = None


@dataclass(frozen=True)
class _Job:
    message: Message
    account_id: int
    address: str
    name: str
    # The content's templates (subject, preheader, html, text), compiled at render time so that
    # a broken template fails its messages, not the batch.
    sources: tuple[str, str, str, str]
    utm: dict[str, str]
    variables: dict[str, Any]
    marketing: bool


@dataclass(frozen=True)
class Proof:
    """A test message an author sends to themself before the real send."""

    account_id: int
    channel: Channel
    purpose: Purpose
    content: MessageContent
    contact: Contact  # whose data fills the template; may be a transient stand-in
    profile: Profile | None
    address: str


class ProofFailed(InvalidInput):
    """The channel refused the test message or its template failed; the text says why."""


@dataclass
class _Outcome:
    job: _Job
    error: Exception | None = None
    # The id a text channel's provider gave the message (e-mail's is fixed at the claim).
    provider_id: str | None = None


@dataclass
class _Batch:
    """What the rules need about the claimed rows, read in a few queries."""

    contacts: dict[int, Contact]
    profiles: dict[int, Profile]
    contents: dict[int, MessageContent]
    consent: dict[tuple[Channel, Purpose], dict[int, bool]]
    suppressed: dict[Channel, set[str]]
    recent: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    # (contact, topic) pairs turned off on the preference page.
    opted_out: set[tuple[int, int]] = field(default_factory=set)
    # Per contact: template variables other domains provide (loyalty, recommendations).
    extras: dict[int, dict[str, Any]] = field(default_factory=dict)


class Sender:
    """Sends outbox rows; keeps each account's connection open across batches until `close`."""

    def __init__(
        self,
        *,
        links: Links,
        policy: SendPolicy | None = None,
        transport_factory: TransportFactory = default_transport,
        text_transport_factory: TextTransportFactory = text_transport,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.links = links
        self.policy = policy or SendPolicy()
        self.transport_factory = transport_factory
        self.text_transport_factory = text_transport_factory
        self.clock, self.sleep = clock, sleep
        self.accounts: dict[int, _Account | _TextAccount] = {}

    def close(self) -> None:
        for account in self.accounts.values():
            account.transport.close()
        self.accounts.clear()

    def send_due(self, session: Session, *, now: datetime, limit: int = 500) -> SendReport:
        """One batch: mark stale `sending` rows unknown, claim up to `limit` due rows, commit
        the claim, send, commit the outcomes."""
        report = SendReport(marked_unknown=mark_stale_unknown(session, now=now))
        messages = list(
            session.scalars(
                select(Message)
                .where(Message.state == MessageState.QUEUED, Message.next_attempt_at <= now)
                .order_by(Message.next_attempt_at, Message.id)
                .limit(limit)
                .with_for_update(skip_locked=True)  # PostgreSQL; SQLite has a single writer
            )
        )
        report.claimed = len(messages)
        jobs = self._apply_rules(session, messages, now, report) if messages else []
        session.commit()
        outcomes = [self._deliver(job, now) for job in jobs]
        for outcome in outcomes:
            self._record(session, outcome, now, report)
        session.commit()
        for account in self.accounts.values():
            account.down = None
        return report

    def send_proof(self, session: Session, proof: Proof, *, now: datetime) -> None:
        """Render `proof.content` with the contact's data and send it straight to
        `proof.address`: no outbox row, no rules (the author asked for it), links signed for
        a message that does not exist, so clicking them records nothing. Raises ProofFailed."""
        account = self._account(session, proof.account_id)
        message = Message(
            id=0,
            channel=proof.channel,
            purpose=proof.purpose,
            contact_id=proof.contact.id or 0,
            account_id=proof.account_id,
            content_id=proof.content.id,
            variables={},
        )
        if isinstance(account, _Account):
            message.provider_message_id = new_message_id(
                domain_of(account.envelope_from), f"proof{int(now.timestamp())}"
            )
        content = proof.content
        job = _Job(
            message=message,
            account_id=proof.account_id,
            address=proof.address,
            name="",  # the author's own address: the contact's name would mislabel it
            sources=(PROOF_PREFIX + content.subject, content.preheader, content.html, content.text),
            utm=dict(content.utm or {}),
            variables=template_variables(
                proof.contact, proof.profile, links=self.links.for_message(0)
            ),
            marketing=proof.purpose == Purpose.MARKETING,
        )
        error = self._deliver(job, now).error
        if error is not None:
            raise ProofFailed(f"The test message was not sent: {error}")

    def _account(self, session: Session, account_id: int) -> _Account | _TextAccount:
        if account_id not in self.accounts:
            row = session.get(SendingAccount, account_id)
            assert row is not None  # a foreign key
            pacer = Pacer(row.rate_per_second, clock=self.clock, sleep=self.sleep)
            if row.kind in TEXT_KINDS:
                self.accounts[account_id] = _TextAccount(
                    id=row.id,
                    transport=self.text_transport_factory(row),
                    pacer=pacer,
                    rich=row.kind == AccountKind.WEBHOOK,
                )
                return self.accounts[account_id]
            dkim = None
            if row.dkim_private_key:
                dkim = load_key(row.dkim_domain, row.dkim_selector, row.dkim_private_key)
            self.accounts[account_id] = _Account(
                id=row.id,
                sender=Address(row.from_address, row.from_name),
                envelope_from=row.from_address,
                unsubscribe_mailto=row.unsubscribe_mailto,
                dkim=dkim,
                transport=self.transport_factory(row),
                pacer=pacer,
            )
        return self.accounts[account_id]

    def _load(self, session: Session, messages: list[Message], now: datetime) -> _Batch:
        contact_ids = {m.contact_id for m in messages}
        contacts = {
            c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
        }
        profiles = {
            p.contact_id: p
            for p in session.scalars(select(Profile).where(Profile.contact_id.in_(contact_ids)))
        }
        content_ids = {m.content_id for m in messages}
        contents = {
            c.id: c
            for c in session.scalars(
                select(MessageContent).where(MessageContent.id.in_(content_ids))
            )
        }
        consent = {}
        for channel, purpose in {(m.channel, m.purpose) for m in messages}:
            ids = {m.contact_id for m in messages if (m.channel, m.purpose) == (channel, purpose)}
            consent[(channel, purpose)] = queries.consent_states(session, ids, channel, purpose)
        addresses: dict[Channel, set[str]] = defaultdict(set)
        for m in messages:
            contact = contacts.get(m.contact_id)
            address = address_for(contact, m.channel) if contact else None
            if address:
                addresses[m.channel].add(address)
        suppressed = {ch: queries.suppressed(session, ch, found) for ch, found in addresses.items()}
        recent = queries.recent_marketing(session, contact_ids, now - CAP_LOOKBACK)
        # Read at claim time, so a topic turned off mid-campaign stops the later batches.
        topical = [m for m in messages if m.purpose == Purpose.MARKETING and m.topic_id]
        opted_out = preferences.opted_out_pairs(
            session, {m.contact_id for m in topical}, {m.topic_id for m in topical if m.topic_id}
        )
        extras = template_extras(session, messages, contents)
        return _Batch(contacts, profiles, contents, consent, suppressed, recent, opted_out, extras)

    def _apply_rules(
        self, session: Session, messages: list[Message], now: datetime, report: SendReport
    ) -> list[_Job]:
        batch = self._load(session, messages, now)
        jobs = []
        for message in messages:
            decision = self._decide(message, batch, now)
            if isinstance(decision, SkipReason):
                message.state, message.skip_reason = MessageState.SKIPPED, decision
                message.finished_at = now
                report.skipped += 1
            elif isinstance(decision, datetime):
                message.next_attempt_at = decision
                report.deferred += 1
            else:
                account = self._account(session, message.account_id)
                message.state, message.claimed_at = MessageState.SENDING, now
                message.attempts += 1
                message.address = decision
                if isinstance(account, _Account):
                    message.provider_message_id = new_message_id(
                        domain_of(account.envelope_from), f"m{message.id}"
                    )
                jobs.append(self._job(message, decision, batch))
        return jobs

    def _decide(
        self, message: Message, batch: _Batch, now: datetime
    ) -> SkipReason | datetime | str:
        """A skip reason, a later time to try (quiet hours), or the address to send to."""
        contact = batch.contacts.get(message.contact_id)
        if contact is None or contact.deleted_at or contact.erased_at or contact.merged_into_id:
            return SkipReason.CONTACT_GONE
        address = address_for(contact, message.channel)
        if not address:
            return SkipReason.NO_ADDRESS
        # The same default as `consent.service.reachable`: transactional unless withdrawn.
        granted = batch.consent[(message.channel, message.purpose)].get(
            contact.id, message.purpose == Purpose.TRANSACTIONAL
        )
        if not granted:
            return SkipReason.NO_CONSENT
        if address in batch.suppressed.get(message.channel, set()):
            return SkipReason.SUPPRESSED
        if message.purpose == Purpose.MARKETING:
            if message.topic_id is not None and (contact.id, message.topic_id) in batch.opted_out:
                return SkipReason.TOPIC_OPT_OUT
            tz = zone(contact.timezone, self.policy.default_timezone)
            later = quiet_until(now, tz, self.policy.quiet_start, self.policy.quiet_end)
            if later is not None:
                return later
            if over_cap(now, tz, self.policy, batch.recent[contact.id]):
                return SkipReason.FREQUENCY_CAP
            batch.recent[contact.id].append(now)  # counts for the rest of this batch too
        return address

    def _job(self, message: Message, address: str, batch: _Batch) -> _Job:
        contact = batch.contacts[message.contact_id]
        content = batch.contents[message.content_id]
        variables = template_variables(
            contact,
            batch.profiles.get(contact.id),
            links=self.links.for_message(message.id, contact.id),
            extra={**batch.extras.get(contact.id, {}), **(message.variables or {})},
        )
        return _Job(
            message=message,
            account_id=message.account_id,
            address=address,
            name=" ".join(p for p in (contact.first_name, contact.last_name) if p),
            sources=(content.subject, content.preheader, content.html, content.text),
            utm=dict(content.utm or {}),
            variables=variables,
            marketing=message.purpose == Purpose.MARKETING,
        )

    def _deliver(self, job: _Job, now: datetime) -> _Outcome:
        account = self.accounts[job.account_id]
        if account.down is not None:
            return _Outcome(job, account.down)
        try:
            if isinstance(account, _TextAccount):
                text = self._render_text(job, rich=account.rich)
                account.pacer.wait()
                return _Outcome(job, provider_id=account.transport.send(text))
            data = self._render(job, account, now)
            account.pacer.wait()
            account.transport.deliver(
                sender=account.envelope_from, recipient=job.address, data=data
            )
        except TransientFailure as error:
            if error.code is None:
                account.down = error  # connection-level: don't wait out a timeout per message
            return _Outcome(job, error)
        except UncertainDelivery as error:
            if isinstance(account, _TextAccount):
                # A provider that left a request unanswered would likely make each message of
                # the batch wait out the timeout: the rest waits for the next run instead.
                account.down = TransientFailure(
                    "Not tried: the provider left an earlier request of this batch unanswered"
                )
            return _Outcome(job, error)
        except (PermanentFailure, TemplateRenderError) as error:
            return _Outcome(job, error)
        except Exception as error:  # a bug must cost this one message, not the batch
            logger.exception("sending message %s failed", job.message.id)
            return _Outcome(job, error)
        return _Outcome(job)

    def _render(self, job: _Job, account: _Account, now: datetime) -> bytes:
        rendered = render_content(compile_content(*job.sources), job.variables)
        message_id = job.message.provider_message_id or new_message_id("localhost")
        body = track_html(rendered.html, self.links, job.message.id, job.utm)
        if rendered.preheader:
            body = _with_preheader(body, rendered.preheader)
        email = Email(
            sender=account.sender,
            recipient=Address(job.address, job.name),
            subject=rendered.subject,
            text=rendered.text,
            html=body,
            message_id=message_id,
            date=now,
            unsubscribe_url=job.variables["links"]["unsubscribe"] if job.marketing else "",
            unsubscribe_mailto=account.unsubscribe_mailto if job.marketing else "",
        )
        return render_bytes(email, dkim=account.dkim)

    def _render_text(self, job: _Job, *, rich: bool) -> TextMessage:
        message = job.message
        if rich:
            rendered = render_content(compile_content(*job.sources), job.variables)
        else:
            # The text template alone: a broken HTML part must not fail an SMS that never uses it.
            rendered = render_content(compile_content("", "", "", job.sources[3]), job.variables)
        html = ""
        if rendered.html:
            html = track_html(rendered.html, self.links, message.id, job.utm)
            if rendered.preheader:
                html = _with_preheader(html, rendered.preheader)
        text = track_text(rendered.text, self.links, message.id, job.utm)
        unsubscribe = job.variables["links"]["unsubscribe"] if job.marketing else ""
        if unsubscribe and message.channel in _FOOTER_CHANNELS:
            text = with_unsubscribe(text, unsubscribe, job.variables["contact"]["language"])
        return TextMessage(
            message_id=message.id,
            contact_id=message.contact_id,
            channel=message.channel,
            to=job.address,
            text=text,
            subject=rendered.subject,
            html=html,
            variables=dict(message.variables or {}),
            unsubscribe_url=unsubscribe,
        )

    def _record(
        self, session: Session, outcome: _Outcome, now: datetime, report: SendReport
    ) -> None:
        message, error = outcome.job.message, outcome.error
        if error is None:
            message.state, message.sent_at, message.finished_at = MessageState.SENT, now, now
            if outcome.provider_id is not None:
                message.provider_message_id = outcome.provider_id
            report.sent += 1
            MESSAGES_SENT.labels(message.channel.value).inc()
            return
        message.error = str(error)[:2000]
        if isinstance(error, UncertainDelivery):
            message.state, message.finished_at = MessageState.UNKNOWN, now
            report.unknown += 1
            return
        if isinstance(error, TransientFailure) and message.attempts < MAX_ATTEMPTS:
            message.state = MessageState.QUEUED
            message.next_attempt_at = now + RETRY_DELAYS[message.attempts - 1]
            report.retrying += 1
            return
        message.state, message.finished_at = MessageState.FAILED, now
        report.failed += 1
        if isinstance(error, PermanentFailure) and error.bounce:
            bounces.record_bounce(session, message.id, hard=True, detail=str(error), now=now)


def _with_preheader(body: str, preheader: str) -> str:
    """The preheader as the first, hidden text of the body: what inboxes show after the subject."""
    hidden = (
        '<div style="display:none;max-height:0;overflow:hidden;mso-hide:all">'
        f"{html_lib.escape(preheader)}</div>"
    )
    match = _BODY_OPEN.search(body)
    if match is None:
        return hidden + body
    return body[: match.end()] + hidden + body[match.end() :]


def mark_stale_unknown(session: Session, *, now: datetime, lease: timedelta = SENDING_LEASE) -> int:
    """Rows left in `sending` by a sender that died: they may have gone out, so never again."""
    result = session.execute(
        update(Message)
        .where(Message.state == MessageState.SENDING, Message.claimed_at < now - lease)
        .values(state=MessageState.UNKNOWN, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def send_due(
    session: Session,
    *,
    now: datetime,
    links: Links,
    limit: int = 500,
    policy: SendPolicy | None = None,
    transport_factory: TransportFactory = default_transport,
) -> SendReport:
    """One batch with connections opened and closed for it (the worker keeps a `Sender`)."""
    sender = Sender(links=links, policy=policy, transport_factory=transport_factory)
    try:
        return sender.send_due(session, now=now, limit=limit)
    finally:
        sender.close()
