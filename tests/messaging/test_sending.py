"""The sender end to end against a real SMTP server: what arrives (personalised, tracked,
DKIM-signed), the outbox states, at most once across a crash, retries and bounces, consent and
suppression, and quiet hours and the frequency cap in the contact's time zone (frozen clock)."""

from __future__ import annotations

import email
import email.policy
import time as time_module
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import dkim
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose, Suppression, SuppressionReason
from retentio.consent.service import reachable, suppress
from retentio.contacts.models import Contact
from retentio.db import get_sessionmaker, session_scope
from retentio.messaging import queries, service
from retentio.messaging.models import (
    AccountKind,
    EventKind,
    Message,
    MessageState,
    SendingAccount,
    SkipReason,
)
from retentio.messaging.policy import SendPolicy
from retentio.messaging.sending import MAX_ATTEMPTS, Pacer, Sender, SendReport, default_transport
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tasks import send_outbox
from retentio.messaging.tracking import Links
from retentio.messaging.transports import Transport
from retentio.settings import Settings
from retentio.worker import bind_settings, huey
from tests.messaging.conftest import BASE_URL, DkimPair, Inbox, World, free_port

# Monday 2 March 2026, 12:00 UTC: 15:00 in Moscow, 07:00 in New York.
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
NO_LIMITS = SendPolicy(daily_cap=None, weekly_cap=None, quiet_start=None, quiet_end=None)


def _enqueue(
    settings: Settings,
    contact_id: int,
    account_id: int,
    content_id: int,
    *,
    step: str = "main",
    purpose: Purpose = Purpose.MARKETING,
    now: datetime = NOW,
) -> int:
    with session_scope(settings.database_url) as session:
        key = OutboxKey("campaign", 1, step, contact_id)
        new = NewMessage(key, account_id, content_id, purpose, variables={"promo": "ЧАЙ20"})
        return service.enqueue(session, new, now=now)[0].id


def _send(
    settings: Settings,
    links: Links,
    *,
    now: datetime = NOW,
    policy: SendPolicy = NO_LIMITS,
    sender: Sender | None = None,
) -> SendReport:
    own = sender or Sender(links=links, policy=policy)
    try:
        with get_sessionmaker(settings.database_url)() as session:
            return own.send_due(session, now=now)
    finally:
        if sender is None:
            own.close()


def _fresh(db: Session, message_id: int) -> Message:
    db.expire_all()  # the test's session keeps what it read; the sender wrote since
    row = db.get(Message, message_id)
    assert row is not None
    return row


def test_a_personalised_tracked_signed_email_arrives(
    settings: Settings,
    db: Session,
    world: World,
    links: Links,
    inbox: tuple[Inbox, int],
    dkim_pair: DkimPair,
) -> None:
    # given
    server, port = inbox
    contact_id = world.contact(first_name="Анна", last_name="Иванова", email="anna@example.org")
    account_id = world.smtp_account(port, dkim=dkim_pair)
    content_id = world.content(
        text="Здравствуйте, {{ contact.first_name }}! Код {{ promo }}. {{ links.unsubscribe }}",
        preheader="Только до {{ 'воскресенья' }}",
    )
    message_id = _enqueue(settings, contact_id, account_id, content_id)
    # when
    report = _send(settings, links)
    # then
    assert (report.claimed, report.sent, report.failed, report.skipped) == (1, 1, 0, 0)
    [(envelope_from, recipients, raw)] = server.messages
    assert (envelope_from, recipients) == ("news@shop.example", ["anna@example.org"])
    assert dkim.verify(raw, dnsfunc=dkim_pair.dnsfunc) is True
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Анна, скидка на чай"
    assert parsed["From"] == "Чайная лавка <news@shop.example>"
    assert parsed["To"] == "Анна Иванова <anna@example.org>"
    unsubscribe = links.url("u", message_id)
    assert parsed["List-Unsubscribe"] == (
        f"<{unsubscribe}>, <mailto:unsubscribe@shop.example?subject=unsubscribe>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = (part.get_content().replace("\r\n", "\n") for part in parsed.iter_parts())
    assert text == f"Здравствуйте, Анна! Код ЧАЙ20. {unsubscribe}"
    click = links.url("c", message_id, "https://shop.example/tea?utm_source=crm")
    assert f'href="{click}"' in html
    assert f'href="{unsubscribe}"' in html
    assert f'<img src="{links.url("o", message_id)}"' in html
    assert '<body><div style="display:none;' in html
    assert "Только до воскресенья</div>" in html
    row = _fresh(db, message_id)
    assert row is not None
    assert (row.state, row.attempts, row.sent_at, row.address) == (
        MessageState.SENT,
        1,
        NOW,
        "anna@example.org",
    )
    assert row.provider_message_id == parsed["Message-ID"]
    assert row.provider_message_id.startswith(f"<m{message_id}.")


def test_transactional_mail_has_no_list_unsubscribe(
    settings: Settings, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    contact_id = world.contact(consent=None)
    _enqueue(
        settings,
        contact_id,
        world.smtp_account(port),
        world.content(),
        purpose=Purpose.TRANSACTIONAL,
    )
    assert _send(settings, links).sent == 1
    parsed = email.message_from_bytes(server.messages[0][2], policy=email.policy.default)
    assert parsed["List-Unsubscribe"] is None


def test_only_reachable_contacts_get_marketing(
    settings: Settings, db: Session, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    # given
    server, port = inbox
    granted = world.contact(email="granted@example.org")
    never_asked = world.contact(email="never@example.org", consent=None)
    withdrawn = world.contact(email="withdrawn@example.org", consent=False)
    suppressed = world.contact(email="suppressed@example.org")
    no_email = world.contact(email=None)
    erased = world.contact(email="erased@example.org", erased_at=NOW - timedelta(days=1))
    with session_scope(settings.database_url) as session:
        suppress(session, Channel.EMAIL, "suppressed@example.org", SuppressionReason.COMPLAINT)
    account_id, content_id = world.smtp_account(port), world.content()
    everyone = [granted, never_asked, withdrawn, suppressed, no_email, erased]
    for contact_id in everyone:
        _enqueue(settings, contact_id, account_id, content_id)
    transactional = _enqueue(
        settings, never_asked, account_id, content_id, step="receipt", purpose=Purpose.TRANSACTIONAL
    )
    # when
    report = _send(settings, links)
    # then
    assert (report.sent, report.skipped) == (2, 5)
    assert sorted(m[1][0] for m in server.messages) == ["granted@example.org", "never@example.org"]
    marketing = dict(
        db.execute(
            select(Message.contact_id, Message.skip_reason).where(Message.id != transactional)
        ).all()
    )
    assert marketing == {
        granted: None,
        never_asked: SkipReason.NO_CONSENT,
        withdrawn: SkipReason.NO_CONSENT,
        suppressed: SkipReason.SUPPRESSED,
        no_email: SkipReason.NO_ADDRESS,
        erased: SkipReason.CONTACT_GONE,
    }
    # and the batched rule agrees with consent.service.reachable for every one of them
    contacts = db.scalars(select(Contact).where(Contact.id.in_(everyone))).all()
    assert {c.id for c in contacts if reachable(db, c)[Channel.EMAIL]} == {granted}


def test_an_unsubscribe_landing_before_the_send_stops_it(
    settings: Settings, db: Session, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    contact_id = world.contact()
    account_id, content_id = world.smtp_account(port), world.content()
    earlier = _enqueue(settings, contact_id, account_id, content_id, step="earlier")
    _enqueue(settings, contact_id, account_id, content_id, step="later")
    with session_scope(settings.database_url) as session:
        service.unsubscribe(session, earlier, now=NOW)
    assert _send(settings, links).skipped == 2
    assert server.messages == []


class _Crash(BaseException):
    """Stands in for SIGKILL: nothing after it runs, not even `except Exception`."""


def test_a_crash_mid_batch_leaves_unknown_and_never_sends_twice(
    settings: Settings, db: Session, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    # given three messages, and a sender that dies right after the first one went out
    server, port = inbox
    account_id, content_id = world.smtp_account(port), world.content()
    ids = [
        _enqueue(settings, world.contact(email=f"p{n}@example.org"), account_id, content_id)
        for n in range(3)
    ]
    delivered: list[str] = []

    def dying(account: SendingAccount) -> Transport:
        real = default_transport(account)

        class Dying:
            def deliver(self, *, sender: str, recipient: str, data: bytes) -> None:
                if delivered:
                    raise _Crash
                real.deliver(sender=sender, recipient=recipient, data=data)
                delivered.append(recipient)

            def close(self) -> None:
                real.close()

        return Dying()

    crashing = Sender(links=links, policy=NO_LIMITS, transport_factory=dying)
    # when
    with pytest.raises(_Crash):
        _send(settings, links, sender=crashing)
    crashing.close()
    # then every row stays `sending` while its lease runs: nobody else may take it
    assert {_fresh(db, i).state for i in ids} == {MessageState.SENDING}  # type: ignore[union-attr]
    assert _send(settings, links, now=NOW + timedelta(minutes=5)).claimed == 0
    # and once the lease is over they become unknown, never queued again
    report = _send(settings, links, now=NOW + timedelta(minutes=11))
    assert (report.marked_unknown, report.claimed) == (3, 0)
    assert {_fresh(db, i).state for i in ids} == {MessageState.UNKNOWN}  # type: ignore[union-attr]
    assert _send(settings, links, now=NOW + timedelta(days=1)).claimed == 0
    assert [m[1] for m in server.messages] == [["p0@example.org"]]


def test_a_4xx_is_retried_with_backoff_until_attempts_run_out(
    settings: Settings, db: Session, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    _server, port = inbox
    message_id = _enqueue(
        settings,
        world.contact(email="later@example.org"),
        world.smtp_account(port),
        world.content(),
    )
    now = NOW
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert _send(settings, links, now=now).claimed == 1
        row = _fresh(db, message_id)
        assert row is not None
        assert row.attempts == attempt
        assert "451" in (row.error or "")
        if attempt < MAX_ATTEMPTS:
            assert row.state == MessageState.QUEUED
            assert _send(settings, links, now=now + timedelta(seconds=30)).claimed == 0
            now = row.next_attempt_at
    assert row.state == MessageState.FAILED
    assert now - NOW == timedelta(minutes=1 + 5 + 30 + 120 + 360)


def test_a_dead_server_costs_the_batch_one_connection_attempt(
    settings: Settings, db: Session, world: World, links: Links
) -> None:
    # given an account whose server refuses connections
    account_id, content_id = world.smtp_account(free_port()), world.content()
    for n in range(3):
        _enqueue(settings, world.contact(email=f"p{n}@example.org"), account_id, content_id)
    attempts: list[str] = []

    def counting(account: SendingAccount) -> Transport:
        real = default_transport(account)

        class Counting:
            def deliver(self, *, sender: str, recipient: str, data: bytes) -> None:
                attempts.append(recipient)
                real.deliver(sender=sender, recipient=recipient, data=data)

            def close(self) -> None:
                real.close()

        return Counting()

    # when
    sender = Sender(links=links, policy=NO_LIMITS, transport_factory=counting)
    report = _send(settings, links, sender=sender)
    sender.close()
    # then one try, and the whole batch is rescheduled rather than each waiting out a timeout
    assert attempts == ["p0@example.org"]
    assert (report.claimed, report.retrying) == (3, 3)
    rows = db.execute(select(Message.state, Message.attempts, Message.next_attempt_at)).all()
    assert {tuple(r) for r in rows} == {(MessageState.QUEUED, 1, NOW + timedelta(minutes=1))}


def test_a_refused_recipient_fails_bounces_and_suppresses_the_address(
    settings: Settings, db: Session, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    _server, port = inbox
    contact_id = world.contact(email="bounce@example.org")
    account_id, content_id = world.smtp_account(port), world.content()
    message_id = _enqueue(settings, contact_id, account_id, content_id)
    assert _send(settings, links).failed == 1
    row = _fresh(db, message_id)
    assert row is not None
    assert row.state == MessageState.FAILED
    assert row.error is not None
    assert row.error.startswith("550")
    assert queries.events_of(db, message_id) == [(EventKind.BOUNCE_HARD, None)]
    suppression = db.scalars(select(Suppression)).one()
    assert (suppression.address, suppression.reason) == (
        "bounce@example.org",
        SuppressionReason.HARD_BOUNCE,
    )
    # and the next message to that address is not even tried
    _enqueue(settings, contact_id, account_id, content_id, step="next")
    assert _send(settings, links).skipped == 1


def test_quiet_hours_defer_to_the_windows_end_in_each_contacts_zone(
    settings: Settings, db: Session, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    # given 18:30 UTC: 21:30 in Moscow (quiet), 13:30 in New York (not)
    server, port = inbox
    evening = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)
    policy = SendPolicy(daily_cap=None, weekly_cap=None, quiet_start=time(21), quiet_end=time(9))
    moscow = world.contact(email="msk@example.org", timezone="Europe/Moscow")
    new_york = world.contact(email="ny@example.org", timezone="America/New_York")
    unknown_zone = world.contact(email="unknown@example.org", timezone=None)
    account_id, content_id = world.smtp_account(port), world.content()
    ids = {
        c: _enqueue(settings, c, account_id, content_id, now=evening)
        for c in (moscow, new_york, unknown_zone)
    }
    receipt = _enqueue(
        settings,
        moscow,
        account_id,
        content_id,
        step="receipt",
        purpose=Purpose.TRANSACTIONAL,
        now=evening,
    )
    # when
    report = _send(settings, links, now=evening, policy=policy)
    # then New York's and the transactional one went, Moscow's (and the default zone's) wait
    assert (report.sent, report.deferred, report.skipped) == (2, 2, 0)
    assert sorted(m[1][0] for m in server.messages) == ["msk@example.org", "ny@example.org"]
    morning_in_moscow = datetime(2026, 3, 3, 6, tzinfo=UTC)  # 09:00 MSK
    for contact_id in (moscow, unknown_zone):
        row = _fresh(db, ids[contact_id])
        assert row is not None
        assert (row.state, row.next_attempt_at, row.attempts) == (
            MessageState.QUEUED,
            morning_in_moscow,
            0,
        )
    assert _fresh(db, receipt).state == MessageState.SENT  # type: ignore[union-attr]
    # and they go out at the window's end, not before
    assert (
        _send(settings, links, now=morning_in_moscow - timedelta(minutes=1), policy=policy).claimed
        == 0
    )
    assert _send(settings, links, now=morning_in_moscow, policy=policy).sent == 2


def test_frequency_cap_counts_local_days_and_weeks(
    settings: Settings, db: Session, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    # given at most 1 a day and 2 a week, a contact in Moscow (UTC+3) and one in Los Angeles (UTC-8)
    _server, port = inbox
    policy = SendPolicy(daily_cap=1, weekly_cap=2, quiet_start=None, quiet_end=None)
    moscow = world.contact(email="msk@example.org", timezone="Europe/Moscow")
    los_angeles = world.contact(email="la@example.org", timezone="America/Los_Angeles")
    account_id, content_id = world.smtp_account(port), world.content()

    def round_at(step: str, at: datetime) -> dict[int, tuple[MessageState, SkipReason | None]]:
        ids = {
            c: _enqueue(settings, c, account_id, content_id, step=step, now=at)
            for c in (moscow, los_angeles)
        }
        _send(settings, links, now=at, policy=policy)
        rows = {c: _fresh(db, i) for c, i in ids.items()}
        return {c: (r.state, r.skip_reason) for c, r in rows.items() if r is not None}

    sent, capped = (MessageState.SENT, None), (MessageState.SKIPPED, SkipReason.FREQUENCY_CAP)
    # Mon 20:00 UTC: Moscow Mon 23:00, LA Mon 12:00 — the first message of the day for both
    assert round_at("1", datetime(2026, 3, 2, 20, tzinfo=UTC)) == {moscow: sent, los_angeles: sent}
    # Mon 22:00 UTC: Moscow is already on Tuesday, LA still on Monday
    assert round_at("2", datetime(2026, 3, 2, 22, tzinfo=UTC)) == {
        moscow: sent,
        los_angeles: capped,
    }
    # Tue 22:00 UTC: Moscow's Wednesday but third this week; LA's Tuesday, second this week
    assert round_at("3", datetime(2026, 3, 3, 22, tzinfo=UTC)) == {
        moscow: capped,
        los_angeles: sent,
    }
    # Next Mon 00:30 UTC: Moscow's new week (03:30 Mon), LA still Sunday of the old one
    assert round_at("4", datetime(2026, 3, 9, 0, 30, tzinfo=UTC)) == {
        moscow: sent,
        los_angeles: capped,
    }


def test_the_pacer_keeps_to_the_accounts_rate() -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock[0] += seconds

    pacer = Pacer(4, clock=lambda: clock[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
    assert slept == [0.25, 0.25, 0.25, 0.25]
    unlimited = Pacer(0, clock=lambda: clock[0], sleep=sleep)
    unlimited.wait()
    assert len(slept) == 4


def test_the_file_sink_account_writes_the_message(
    settings: Settings, world: World, links: Links, tmp_path: Path
) -> None:
    with session_scope(settings.database_url) as session:
        account_id = service.create_account(
            session,
            name="dev",
            kind=AccountKind.FILE,
            from_address="dev@localhost",
            settings={"directory": str(tmp_path / "outbox")},
        ).id
    _enqueue(settings, world.contact(), account_id, world.content())
    assert _send(settings, links).sent == 1
    [written] = (tmp_path / "outbox").glob("*.eml")
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Анна, скидка на чай"


@pytest.fixture
def immediate(settings: Settings) -> Iterator[None]:
    bind_settings(settings.model_copy(update={"base_url": BASE_URL}))
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = False


def test_the_worker_task_sends_what_is_due_and_a_second_run_sends_nothing(
    settings: Settings, world: World, inbox: tuple[Inbox, int], immediate: None
) -> None:
    server, port = inbox
    account_id, content_id = world.smtp_account(port), world.content(subject="Привет")
    for n in range(3):
        # Transactional: the real clock may be inside the default quiet hours.
        _enqueue(
            settings,
            world.contact(email=f"p{n}@example.org"),
            account_id,
            content_id,
            purpose=Purpose.TRANSACTIONAL,
        )
    assert send_outbox().get() == 3
    assert send_outbox().get() == 0
    assert sorted(m[1][0] for m in server.messages) == [f"p{n}@example.org" for n in range(3)]


def test_two_senders_at_once_never_send_a_message_twice(
    settings: Settings, db: Session, world: World, links: Links
) -> None:
    # given 40 due messages and two workers sharing them
    account_id, content_id = world.smtp_account(25), world.content()
    for n in range(40):
        _enqueue(settings, world.contact(email=f"p{n}@example.org"), account_id, content_id)
    delivered: list[tuple[str, str]] = []

    def recording(name: str) -> Callable[[SendingAccount], Transport]:
        class Recording:
            def deliver(self, *, sender: str, recipient: str, data: bytes) -> None:
                delivered.append((name, recipient))
                time_module.sleep(0.002)  # long enough for the other worker to claim meanwhile

            def close(self) -> None:
                return None

        return lambda _account: Recording()

    def work(name: str) -> None:
        sender = Sender(links=links, policy=NO_LIMITS, transport_factory=recording(name))
        try:
            while True:
                with get_sessionmaker(settings.database_url)() as session:
                    if sender.send_due(session, now=NOW, limit=5).claimed == 0:
                        return
        finally:
            sender.close()

    # when
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(work, ["a", "b"]))
    # then each message went out exactly once, and both workers took a share
    recipients = sorted(r for _, r in delivered)
    assert recipients == sorted(f"p{n}@example.org" for n in range(40))
    assert {name for name, _ in delivered} == {"a", "b"}
    states = db.scalars(select(Message.state)).all()
    assert set(states) == {MessageState.SENT}


def test_a_template_that_fails_fails_its_message_not_the_batch(
    settings: Settings, db: Session, world: World, links: Links, inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    account_id = world.smtp_account(port)
    broken = world.content(text="{{ contact.first_name }} {{ 1 / 0 }}")
    fine = world.content()
    broken_id = _enqueue(settings, world.contact(email="a@example.org"), account_id, broken)
    fine_id = _enqueue(settings, world.contact(email="b@example.org"), account_id, fine)
    report = _send(settings, links)
    assert (report.sent, report.failed) == (1, 1)
    failed = _fresh(db, broken_id)
    assert failed.state == MessageState.FAILED
    assert failed.error == "The text template failed: ZeroDivisionError('division by zero')"
    assert _fresh(db, fine_id).state == MessageState.SENT
    assert [m[1] for m in server.messages] == [["b@example.org"]]
