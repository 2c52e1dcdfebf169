"""Fixtures of the feedback tests: contacts with an owner, surveys of each kind, and the links
signed with the app's secret."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from retentio.auth.models import Role
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.feedback import service
from retentio.feedback.models import SurveyKind
from retentio.feedback.schemas import ReasonIn, SurveyIn
from retentio.messaging.tracking import Links, Signer
from retentio.settings import Settings
from tests.conftest import UserFactory

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BASE_URL = "http://testserver"
_numbers = itertools.count(1)


class World:
    """Rows written through the real services, each call in its own committed transaction."""

    def __init__(self, url: str, make_user: UserFactory) -> None:
        self.url = url
        self.make_user = make_user

    def contact(self, *, owner_id: int | None = None, name: str = "Анна") -> int:
        with session_scope(self.url) as session:
            number = next(_numbers)
            contact = Contact(first_name=name, email=f"f{number}@example.org", owner_id=owner_id)
            session.add(contact)
            session.flush()
            return contact.id

    def owner(self) -> int:
        return self.make_user(Role.SALES).id

    def survey(self, kind: SurveyKind = SurveyKind.NPS, name: str = "NPS март") -> int:
        reasons = (
            [
                ReasonIn(key="moved", label="Переехал", preventable=False),
                ReasonIn(key="price", label="Дорого", preventable=True),
            ]
            if kind == SurveyKind.EXIT
            else []
        )
        data = SurveyIn(kind=kind, name=name, question="Порекомендуете ли вы нас?", reasons=reasons)
        with session_scope(self.url) as session:
            return service.create_survey(session, data, now=NOW).id


@pytest.fixture
def world(settings: Settings, make_user: UserFactory) -> World:
    return World(settings.database_url, make_user)


@pytest.fixture
def links(settings: Settings) -> Links:
    return Links(Signer(settings.resolved_secret_key()), BASE_URL)
