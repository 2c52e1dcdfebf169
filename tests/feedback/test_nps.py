"""Answers and NPS: the formula on hand-counted examples, one answer per send, and exactly one
task for the owner of a detractor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.activities.models import Activity
from retentio.db import session_scope
from retentio.errors import InvalidInput
from retentio.feedback import queries, service
from retentio.feedback.models import Response, SurveyKind
from retentio.feedback.schemas import AnswerIn
from retentio.segments import service as segments
from retentio.segments.models import SegmentKind
from retentio.settings import Settings
from tests.feedback.conftest import NOW, World


def _answer(url: str, survey_id: int, contact_id: int, score: int | None, **extra: str) -> bool:
    occurrence = extra.pop("occurrence", "m1")
    with session_scope(url) as session:
        data = AnswerIn(score=score, **extra)
        return service.answer(session, survey_id, contact_id, occurrence, data, now=NOW).created


def test_nps_is_percent_promoters_minus_percent_detractors(
    settings: Settings, db: Session, world: World
) -> None:
    # given 5 promoters, 3 passives and 2 detractors
    survey_id = world.survey()
    for score in [10, 9, 9, 10, 9, 7, 8, 7, 0, 6]:
        _answer(settings.database_url, survey_id, world.contact(), score)

    # when NPS is computed
    figures = queries.nps(db, survey_id)

    # then it is 50 % − 20 % = 30
    assert (figures.promoters, figures.passives, figures.detractors) == (5, 3, 2)
    assert figures.nps == 30.0


def test_nps_by_month_and_by_segment(settings: Settings, db: Session, world: World) -> None:
    # given two answers in February (a promoter, a detractor) and one promoter in March,
    # the March promoter in a segment
    survey_id = world.survey()
    feb_promoter, feb_detractor, march = world.contact(), world.contact(), world.contact()
    with session_scope(settings.database_url) as session:
        february = NOW - timedelta(days=20)
        for contact_id, score in [(feb_promoter, 9), (feb_detractor, 3)]:
            service.answer(
                session, survey_id, contact_id, "m1", AnswerIn(score=score), now=february
            )
        service.answer(session, survey_id, march, "m1", AnswerIn(score=10), now=NOW)
        segment = segments.create_segment(session, name="VIP", kind=SegmentKind.STATIC)
        segments.add_contacts(session, segment.id, [march], now=NOW)
        segment_id = segment.id

    # when the trend and the segments are read
    by_month = queries.nps_by_month(db, survey_id)
    by_segment = queries.nps_by_segment(db, survey_id)

    # then February is 50 − 50 = 0 and March 100; the VIP segment has one promoter
    assert [(m, f.answers, f.nps) for m, f in by_month] == [
        ("2026-02", 2, 0.0),
        ("2026-03", 1, 100.0),
    ]
    assert [(s.segment_id, s.name, s.figures.nps) for s in by_segment] == [
        (segment_id, "VIP", 100.0)
    ]


def test_csat_average_and_exit_reasons(settings: Settings, db: Session, world: World) -> None:
    # given a CSAT survey answered 5, 4 and 3, and an exit survey with two "price" answers
    # and one "moved"
    csat = world.survey(SurveyKind.CSAT, name="CSAT")
    for score in [5, 4, 3]:
        _answer(settings.database_url, csat, world.contact(), score)
    exit_id = world.survey(SurveyKind.EXIT, name="Exit")
    for reason in ["price", "price", "moved"]:
        _answer(settings.database_url, exit_id, world.contact(), None, reason=reason)

    # when the figures are read
    reasons = queries.exit_reasons(db, service.get_survey(db, exit_id))

    # then the average is 4 and one answer is natural, two preventable
    assert queries.csat_average(db, csat) == 4.0
    assert [(r.key, r.answers) for r in reasons] == [("moved", 1), ("price", 2)]
    assert queries.preventable_split(reasons) == (1, 2)


def test_a_detractor_creates_exactly_one_task_for_the_owner(
    settings: Settings, db: Session, world: World
) -> None:
    # given a contact with an owner and an NPS survey
    owner_id = world.owner()
    contact_id = world.contact(owner_id=owner_id)
    survey_id = world.survey()

    # when the contact answers 3, and the same send is answered again with 10
    first = _answer(settings.database_url, survey_id, contact_id, 3, comment="Долго везли")
    second = _answer(settings.database_url, survey_id, contact_id, 10)

    # then the first answer stands and one task waits for the owner
    assert (first, second) == (True, False)
    responses = db.scalars(select(Response)).all()
    assert [(r.score, r.comment) for r in responses] == [(3, "Долго везли")]
    tasks = db.scalars(select(Activity)).all()
    assert [(t.owner_id, t.contact_id, t.origin) for t in tasks] == [
        (owner_id, contact_id, f"survey:{survey_id}:{responses[0].id}")
    ]
    assert tasks[0].due_at == NOW + timedelta(days=1)


def test_a_promoter_or_passive_creates_no_task(
    settings: Settings, db: Session, world: World
) -> None:
    # given an NPS survey
    survey_id = world.survey()

    # when a promoter and a passive answer
    _answer(settings.database_url, survey_id, world.contact(owner_id=world.owner()), 9)
    _answer(settings.database_url, survey_id, world.contact(owner_id=world.owner()), 7)

    # then nobody gets a task
    assert db.scalars(select(Activity)).all() == []


def test_each_send_takes_one_answer(settings: Settings, db: Session, world: World) -> None:
    # given a contact sent the survey twice
    survey_id = world.survey()
    contact_id = world.contact()

    # when both sends are answered, the first one twice
    results = [
        _answer(settings.database_url, survey_id, contact_id, 8, occurrence="m1"),
        _answer(settings.database_url, survey_id, contact_id, 9, occurrence="m1"),
        _answer(settings.database_url, survey_id, contact_id, 9, occurrence="m2"),
    ]

    # then each send keeps its first answer
    assert results == [True, False, True]
    rows = db.execute(select(Response.occurrence, Response.score).order_by(Response.id)).all()
    assert [tuple(r) for r in rows] == [("m1", 8), ("m2", 9)]


@pytest.mark.parametrize(("kind", "score"), [(SurveyKind.NPS, 11), (SurveyKind.CSAT, 0)])
def test_a_score_off_the_scale_is_refused(
    settings: Settings, db: Session, world: World, kind: SurveyKind, score: int
) -> None:
    # given a survey of the kind
    survey_id = world.survey(kind)

    # when a score off its scale is sent, then it is refused naming the field
    with pytest.raises(InvalidInput) as refused:
        _answer(settings.database_url, survey_id, world.contact(), score)
    assert refused.value.details == {"field": "score"}
    assert db.scalars(select(Response)).all() == []
