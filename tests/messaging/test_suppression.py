"""Who a campaign must not reach, end to end: a contact who unsubscribed through the link in a
mail they got, a hard-bounced address, a complaint (and anyone else with that address), no
consent; and an unsubscribe or complaint that lands while the campaign is sending stops the
messages still queued.

`test_sending` covers each skip reason of the sender's rules and an unsubscribe made before
the send through the service; these go through the public one-click route and whole campaigns.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.consent.models import Channel, Purpose, SuppressionReason
from retentio.consent.service import suppress
from retentio.db import get_sessionmaker, session_scope
from retentio.messaging import service
from retentio.messaging.models import Message, MessageState, SkipReason
from retentio.messaging.policy import SendPolicy
from retentio.messaging.sending import Sender, SendReport
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Links
from retentio.settings import Settings
from tests.messaging.conftest import Inbox, World

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
NO_LIMITS = SendPolicy(daily_cap=None, weekly_cap=None, quiet_start=None, quiet_end=None)
Outcome = tuple[MessageState, SkipReason | None]
SENT: Outcome = (MessageState.SENT, None)


class Campaigns:
    """Campaigns of one account and content through the real outbox and sender."""

    def __init__(self, settings: Settings, world: World, links: Links, port: int) -> None:
        self.url = settings.database_url
        self.account_id, self.content_id = world.smtp_account(port), world.content()
        self.sender = Sender(links=links, policy=NO_LIMITS)

    def queue(self, campaign_id: int, contact_ids: list[int], *, at: datetime) -> list[int]:
        with session_scope(self.url) as session:
            return [
                service.enqueue(
                    session,
                    NewMessage(
                        OutboxKey("campaign", campaign_id, "main", contact_id),
                        self.account_id,
                        self.content_id,
                        Purpose.MARKETING,
                    ),
                    now=at,
                )[0].id
                for contact_id in contact_ids
            ]

    def send(self, *, at: datetime, limit: int = 500) -> SendReport:
        """One batch, by the same sender each time, as the worker's task keeps one."""
        with get_sessionmaker(self.url)() as session:
            return self.sender.send_due(session, now=at, limit=limit)


@pytest.fixture
def campaigns(
    settings: Settings, world: World, links: Links, inbox: tuple[Inbox, int]
) -> Iterator[Campaigns]:
    own = Campaigns(settings, world, links, inbox[1])
    try:
        yield own
    finally:
        own.sender.close()


def _outcomes(db: Session, message_ids: list[int]) -> list[Outcome]:
    rows = db.execute(
        select(Message.id, Message.state, Message.skip_reason).where(Message.id.in_(message_ids))
    )
    found = {message_id: (state, reason) for message_id, state, reason in rows}
    return [found[i] for i in message_ids]


def _recipients(server: Inbox, since: int = 0) -> list[str]:
    return [recipient for _, recipients, _ in server.messages[since:] for recipient in recipients]


def _one_click(client: TestClient, server: Inbox, address: str) -> None:
    """What a mailbox provider does with the List-Unsubscribe header of a mail it delivered
    (RFC 8058): a cookie-less POST to its https URL."""
    [raw] = [raw for _, recipients, raw in server.messages if recipients == [address]]
    header = email.message_from_bytes(raw, policy=email.policy.default)["List-Unsubscribe"]
    url = header.split(",")[0].strip("<> ")
    response = client.post(
        urlsplit(url).path,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200


def test_a_campaign_reaches_only_those_who_may_be_reached(
    settings: Settings,
    db: Session,
    client: TestClient,
    world: World,
    inbox: tuple[Inbox, int],
    campaigns: Campaigns,
) -> None:
    # given two reachable contacts; one who unsubscribed with the link in last week's mail;
    # a hard-bounced address; a complaint, and another contact sharing that address; and one
    # who never gave consent
    server = inbox[0]
    reachable = [world.contact(email=f"ok{n}@example.org") for n in range(2)]
    unsubscribed = world.contact(email="gone@example.org")
    bounced = world.contact(email="bounced@example.org")
    complained = world.contact(email="spam@example.org")
    same_address = world.contact(email="spam@example.org")
    never_asked = world.contact(email="never@example.org", consent=None)
    campaigns.queue(1, [unsubscribed], at=NOW - timedelta(days=7))
    assert campaigns.send(at=NOW - timedelta(days=7)).sent == 1
    _one_click(client, server, "gone@example.org")
    with session_scope(settings.database_url) as session:
        suppress(session, Channel.EMAIL, "bounced@example.org", SuppressionReason.HARD_BOUNCE)
        suppress(session, Channel.EMAIL, "spam@example.org", SuppressionReason.COMPLAINT)
    audience = [*reachable, unsubscribed, bounced, complained, same_address, never_asked]
    ids = campaigns.queue(2, audience, at=NOW)
    before = len(server.messages)
    # when
    report = campaigns.send(at=NOW)
    # then
    assert (report.claimed, report.sent, report.skipped, report.failed) == (7, 2, 5, 0)
    assert sorted(_recipients(server, before)) == ["ok0@example.org", "ok1@example.org"]
    suppressed = (MessageState.SKIPPED, SkipReason.SUPPRESSED)
    no_consent = (MessageState.SKIPPED, SkipReason.NO_CONSENT)
    assert _outcomes(db, ids) == [
        SENT,
        SENT,
        no_consent,
        suppressed,
        suppressed,
        suppressed,
        no_consent,
    ]


def test_an_unsubscribe_and_a_complaint_landing_mid_campaign_stop_what_is_still_queued(
    settings: Settings,
    db: Session,
    client: TestClient,
    world: World,
    inbox: tuple[Inbox, int],
    campaigns: Campaigns,
) -> None:
    # given five contacts, two of whom got last week's mail, and this week's campaign to all
    server = inbox[0]
    audience = [world.contact(email=f"p{n}@example.org") for n in range(5)]
    campaigns.queue(1, audience[3:], at=NOW - timedelta(days=7))
    assert campaigns.send(at=NOW - timedelta(days=7)).sent == 2
    ids = campaigns.queue(2, audience, at=NOW)
    before = len(server.messages)
    # when the first batch has gone out
    first = campaigns.send(at=NOW, limit=2)
    # and then p3 unsubscribes with last week's link and p4's mailbox reports a complaint
    _one_click(client, server, "p3@example.org")
    with session_scope(settings.database_url) as session:
        suppress(session, Channel.EMAIL, "p4@example.org", SuppressionReason.COMPLAINT)
    # and the campaign sends the rest
    rest = campaigns.send(at=NOW + timedelta(seconds=1))
    # then
    assert (first.claimed, first.sent, first.skipped) == (2, 2, 0)
    assert (rest.claimed, rest.sent, rest.skipped) == (3, 1, 2)
    assert _recipients(server, before) == ["p0@example.org", "p1@example.org", "p2@example.org"]
    assert _outcomes(db, ids) == [
        SENT,
        SENT,
        SENT,
        (MessageState.SKIPPED, SkipReason.NO_CONSENT),
        (MessageState.SKIPPED, SkipReason.SUPPRESSED),
    ]
