"""Fixtures of the sales tests: a `Sales` world built through the real services — users by
role (each with a logged-in client when needed), contacts, the default pipeline, deals, leads,
tasks and stage moves at given times."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from retentio.activities.models import Activity, ActivityKind
from retentio.auth.models import Role, User
from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.contacts import service as contacts
from retentio.contacts.schemas import ContactFields
from retentio.db import session_scope
from retentio.sales import service
from retentio.sales.models import LostReason, StageKind
from retentio.sales.schemas import DealIn, LeadIn, MoveIn
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday, 12:00 in Moscow
REGION = "RU"


@dataclass(frozen=True)
class PipelineIds:
    """The default pipeline: its id, its stage ids in order, and the won and lost stages."""

    id: int
    stages: list[int]
    won: int
    lost: int

    @property
    def first(self) -> int:
        return self.stages[0]


class Sales:
    """Rows written through the real services, each in its own committed transaction."""

    def __init__(self, url: str, app: FastAPI, make_user: UserFactory) -> None:
        self.url = url
        self.app = app
        self.make_user = make_user
        self._clients: list[TestClient] = []
        self._pipeline: PipelineIds | None = None
        self.admin = make_user(Role.ADMIN)

    # --- people ---------------------------------------------------------------------------

    def user(self, role: Role = Role.SALES) -> User:
        return self.make_user(role)

    def client(self, user: User) -> TestClient:
        """A client logged in as `user`, its CSRF header set; closed with the fixture."""
        client = TestClient(self.app, base_url="http://testserver")
        client.__enter__()
        self._clients.append(client)
        client.headers["X-CSRF-Token"] = log_in(client, user.email)
        return client

    def close(self) -> None:
        for client in self._clients:
            client.__exit__(None, None, None)

    def contact(
        self,
        *,
        owner_id: int | None = None,
        email: str | None = None,
        phone: str | None = None,
        first_name: str = "Анна",
        **fields: Any,
    ) -> int:
        data = ContactFields(first_name=first_name, email=email, phone=phone, **fields)
        ctx = contacts.WriteContext(actor_id=owner_id, default_region=REGION)
        with session_scope(self.url) as session:
            return contacts.create_contact(session, data, ctx).id

    def order(self, contact_id: int, *, status: OrderStatus = OrderStatus.PAID) -> None:
        with session_scope(self.url) as session:
            session.add(
                Order(
                    external_id=f"o-{contact_id}-{status.value}",
                    contact_id=contact_id,
                    status=status,
                    channel=OrderChannel.ONLINE,
                    total=Decimal("1000"),
                    placed_at=START - timedelta(days=30),
                )
            )

    # --- pipeline -------------------------------------------------------------------------

    @property
    def pipeline(self) -> PipelineIds:
        if self._pipeline is None:
            with session_scope(self.url) as session:
                pipeline = service.ensure_default_pipeline(session)
                stages = service.stages_of(session, pipeline.id)
                self._pipeline = PipelineIds(
                    id=pipeline.id,
                    stages=[s.id for s in stages],
                    won=next(s.id for s in stages if s.kind == StageKind.WON),
                    lost=next(s.id for s in stages if s.kind == StageKind.LOST),
                )
        return self._pipeline

    def lost_reason(self, name: str = "Дорого") -> int:
        self.pipeline  # noqa: B018 - the default pipeline brings the default reasons
        with session_scope(self.url) as session:
            return session.scalars(select(LostReason.id).where(LostReason.name == name)).one()

    # --- deals ----------------------------------------------------------------------------

    def deal(
        self,
        title: str = "Поставка",
        *,
        owner_id: int | None = None,
        at: datetime = START,
        stage_id: int | None = None,
        **fields: Any,
    ) -> int:
        """A deal created at `at`, owned by `owner_id` (the admin when None)."""
        data = DealIn(title=title, pipeline_id=self.pipeline.id, stage_id=stage_id, **fields)
        with session_scope(self.url) as session:
            actor = session.get(User, owner_id or self.admin.id)
            return service.create_deal(session, data, actor=actor, now=at).id

    def move(
        self,
        deal_id: int,
        stage_id: int,
        *,
        at: datetime,
        lost_reason_id: int | None = None,
        by: int | None = None,
    ) -> None:
        with session_scope(self.url) as session:
            user = session.get(User, by or self.admin.id)
            assert user is not None
            move = MoveIn(stage_id=stage_id, lost_reason_id=lost_reason_id)
            service.move_deal(session, user, deal_id, move, now=at)

    # --- leads and tasks ------------------------------------------------------------------

    def lead(
        self,
        title: str = "Заявка с сайта",
        *,
        at: datetime = START,
        form_id: int | None = None,
        **fields: Any,
    ) -> int:
        with session_scope(self.url) as session:
            return service.create_lead(
                session,
                LeadIn(title=title, **fields),
                default_region=REGION,
                now=at,
                form_id=form_id,
            ).id

    def task(
        self,
        title: str = "Позвонить",
        *,
        owner_id: int | None,
        deal_id: int | None = None,
        contact_id: int | None = None,
        due_at: datetime | None = None,
        done_at: datetime | None = None,
        kind: ActivityKind = ActivityKind.CALL,
    ) -> int:
        """A task row as any writer leaves it (journeys, surveys or the API)."""
        with session_scope(self.url) as session:
            task = Activity(
                kind=kind,
                title=title,
                owner_id=owner_id,
                deal_id=deal_id,
                contact_id=contact_id,
                due_at=due_at,
                done_at=done_at,
                created_at=START,
            )
            session.add(task)
            session.flush()
            return task.id


@pytest.fixture
def sales(app: FastAPI, settings: Settings, make_user: UserFactory) -> Iterator[Sales]:
    world = Sales(settings.database_url, app, make_user)
    yield world
    world.close()
