"""An exit survey feeds the lifecycle stage: a customer who says they left is churned until
they order again."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from retentio.commerce.models import Order, OrderChannel, OrderStatus
from retentio.db import session_scope
from retentio.feedback import service
from retentio.feedback.models import SurveyKind
from retentio.feedback.schemas import AnswerIn
from retentio.profiles import service as profiles
from retentio.profiles.models import Profile
from tests.feedback.conftest import NOW, World


def _stage(world: World, contact_id: int, at: datetime) -> str:
    with session_scope(world.url) as session:
        profiles.refresh(session, [contact_id], now=at)
    with session_scope(world.url) as session:
        return session.get_one(Profile, contact_id).lifecycle_stage


def _order(world: World, contact_id: int, days: int) -> None:
    with session_scope(world.url) as session:
        session.add(
            Order(
                external_id=f"exit-{contact_id}-{days}",
                contact_id=contact_id,
                status=OrderStatus.PAID,
                channel=OrderChannel.ONLINE,
                total=Decimal(1000),
                placed_at=NOW + timedelta(days=days),
            )
        )


def test_an_exit_answer_churns_until_the_next_order(world: World) -> None:
    # given a recent customer and an exit survey
    anna = world.contact()
    _order(world, anna, days=-10)
    survey = world.survey(SurveyKind.EXIT, name="Почему вы ушли?")
    before = _stage(world, anna, NOW)
    # when she answers that she moved away
    with session_scope(world.url) as session:
        service.answer(session, survey, anna, "m1", AnswerIn(reason="moved"), now=NOW)
    after_answer = _stage(world, anna, NOW + timedelta(hours=1))
    # and later orders again
    _order(world, anna, days=5)
    after_order = _stage(world, anna, NOW + timedelta(days=6))
    # then she is churned between the answer and the new order, loyal after it
    assert (before, after_answer, after_order) == ("purchase", "churned", "loyalty")
