"""Message templates see other domains' data: the loyalty balance and tier, next best offers,
and a survey's answer link signed for this message's contact."""

from __future__ import annotations

import re
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from retentio.consent.models import Channel, Purpose
from retentio.consent.service import record_consent
from retentio.db import get_sessionmaker, session_scope
from retentio.feedback.links import read_token
from retentio.feedback.models import Survey, SurveyKind
from retentio.loyalty.models import Account, Tier
from retentio.messaging import service
from retentio.messaging.models import AccountKind, Message
from retentio.messaging.sending import Sender
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Links, Signer
from retentio.settings import Settings
from tests.messaging.crash_sender import NO_LIMITS
from tests.recommend.conftest import T0, Baskets

SIGNER = Signer("x" * 32)


@pytest.fixture
def baskets(settings: Settings) -> Baskets:
    return Baskets(settings.database_url)


def _send(url: str, contact_id: int, text: str, outbox: Path) -> tuple[str, int]:
    """Queue one marketing e-mail with this text to the contact, send it into a file sink;
    returns the plain-text body and the message id."""
    with session_scope(url) as session:
        account = service.create_account(
            session,
            name="sink",
            kind=AccountKind.FILE,
            from_address="news@shop.example",
            settings={"directory": str(outbox)},
        )
        content = service.create_content(session, subject="Письмо", html="", text=text)
        record_consent(
            session,
            contact_id,
            channel=Channel.EMAIL,
            purpose=Purpose.MARKETING,
            granted=True,
            source="test",
            occurred_at=T0,
        )
        key = OutboxKey("campaign", 1, "main", contact_id)
        service.enqueue(session, NewMessage(key, account.id, content.id, Purpose.MARKETING), now=T0)
    sender = Sender(links=Links(SIGNER, "https://crm.example"), policy=NO_LIMITS)
    try:
        with get_sessionmaker(url)() as session:
            sender.send_due(session, now=T0)
    finally:
        sender.close()
    (written,) = outbox.glob("*.eml")
    body = message_from_bytes(written.read_bytes(), policy=policy.default).get_body(("plain",))
    assert body is not None
    with session_scope(url) as session:
        message_id = session.scalars(select(Message.id)).one()
    return str(body.get_content()), message_id


def test_loyalty_and_a_survey_link_in_a_letter(
    settings: Settings, baskets: Baskets, tmp_path: Path
) -> None:
    # given a contact with 150 points in the Gold tier and an NPS survey
    (ann,) = baskets.contacts(1, email="ann@example.org")
    with session_scope(settings.database_url) as session:
        gold = Tier(name="Золото", threshold=Decimal(10000), discount_percent=Decimal(5))
        session.add(gold)
        session.flush()
        session.add(Account(contact_id=ann, balance=150, tier_id=gold.id, updated_at=T0))
        survey = Survey(kind=SurveyKind.NPS, name="NPS", question="Порекомендуете?")
        session.add(survey)
        session.flush()
        survey_id = survey.id
    # when a letter using them is sent
    text = (
        "У вас {{ loyalty.balance }} баллов, уровень {{ loyalty.tier }}"
        " (скидка {{ loyalty.discount_percent }} %)."
        f" Оцените нас: {{{{ links.survey({survey_id}) }}}}"
    )
    body, message_id = _send(settings.database_url, ann, text, tmp_path / "outbox")
    # then the figures are hers and the link answers this survey for her, once per message
    assert "У вас 150 баллов, уровень Золото (скидка 5.00 %)." in body
    link = re.search(r"https://crm\.example/s/(\S+)", body)
    assert link is not None
    token = read_token(SIGNER, link.group(1))
    assert (token.survey_id, token.contact_id, token.occurrence) == (
        survey_id,
        ann,
        f"m{message_id}",
    )


def test_next_best_offers_in_a_letter(settings: Settings, baskets: Baskets, tmp_path: Path) -> None:
    # given customers who bought tea with a teapot, and Ann who bought only tea
    baskets.products("TEA", "POT", "CUP")
    for contact_id in baskets.contacts(4):
        baskets.order(contact_id, "TEA", "POT")
    (ann,) = baskets.contacts(1, email="ann@example.org")
    baskets.order(ann, "TEA", day=1)
    baskets.recompute(day=2)
    # when a letter listing her offers is sent
    text = "{% for p in recommendations[:1] %}{{ p.name }} за {{ p.price }}{% endfor %}"
    body, _ = _send(settings.database_url, ann, text, tmp_path / "outbox")
    # then the teapot is offered, not the tea she has
    assert body.strip().startswith("Product POT за 100.00")
