"""Accounts and contents refuse what could only fail later, and the preview renders a content
for a chosen contact exactly as the sender would, minus tracking."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from retentio.db import session_scope
from retentio.errors import InvalidInput, NotFound
from retentio.messaging import service
from retentio.messaging.dkim import InvalidDkimKey
from retentio.messaging.models import AccountKind
from retentio.messaging.templates import TemplateRenderError
from retentio.messaging.tracking import Links
from retentio.profiles.models import Profile
from retentio.settings import Settings
from tests.messaging.conftest import DkimPair, World


def test_a_sender_address_must_be_an_email(db: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        service.create_account(db, name="x", kind=AccountKind.SMTP, from_address="news")
    assert caught.value.details == {"field": "from"}


def test_dkim_needs_a_valid_key_a_domain_and_a_selector(db: Session, dkim_pair: DkimPair) -> None:
    with pytest.raises(InvalidDkimKey):
        service.create_account(
            db,
            name="x",
            kind=AccountKind.SMTP,
            from_address="n@shop.example",
            dkim_domain="shop.example",
            dkim_selector="s",
            dkim_private_key="-----BEGIN nonsense",
        )
    with pytest.raises(InvalidInput) as caught:
        service.create_account(
            db,
            name="x",
            kind=AccountKind.SMTP,
            from_address="n@shop.example",
            dkim_private_key=dkim_pair.private_pem,
        )
    assert caught.value.details == {"field": "dkim"}


def test_a_content_that_does_not_parse_is_refused(db: Session) -> None:
    with pytest.raises(TemplateRenderError) as caught:
        service.create_content(db, subject="{{ contact.first_name", html="", text="")
    assert caught.value.details == {"field": "subject"}


def test_preview_renders_for_the_chosen_contact_without_tracking(
    settings: Settings, world: World, links: Links
) -> None:
    # given
    contact_id = world.contact(first_name="Борис", city="Тверь")
    content_id = world.content(
        subject="{{ contact.first_name }}, для вас в {{ contact.city }}",
        text="{{ profile.rfm_segment }} {{ promo }}",
    )
    with session_scope(settings.database_url) as session:
        session.add(
            Profile(
                contact_id=contact_id,
                rfm_segment="loyal",
                lifecycle_stage="loyalty",
                computed_at=datetime(2026, 3, 1, tzinfo=UTC),
            )
        )
    # when
    with session_scope(settings.database_url) as session:
        shown = service.preview(
            session, content_id, contact_id, links=links, variables={"promo": "ЧАЙ"}
        )
    # then
    assert shown.subject == "Борис, для вас в Тверь"
    assert shown.text == "loyal ЧАЙ"
    assert '<a href="https://shop.example/tea?utm_source=crm">' in shown.html
    assert "/c/" not in shown.html
    assert "/o/" not in shown.html


def test_preview_of_a_missing_contact_is_not_found(
    settings: Settings, world: World, links: Links
) -> None:
    content_id = world.content()
    with session_scope(settings.database_url) as session, pytest.raises(NotFound):
        service.preview(session, content_id, 10**9, links=links)
