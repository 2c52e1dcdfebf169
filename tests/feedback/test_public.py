"""The public answer page `/s/{token}`: the scale shown, the answer stored once per send with
"already answered" after, and a tampered or foreign token refused with nothing stored."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.activities.models import Activity
from retentio.feedback.links import survey_link
from retentio.feedback.models import Response, SurveyKind
from retentio.messaging.tracking import Links, Token
from tests.feedback.conftest import BASE_URL, World


def _path(links: Links, survey_id: int, contact_id: int, occurrence: str = "m7") -> str:
    return survey_link(links, survey_id, contact_id, occurrence).removeprefix(BASE_URL)


def test_the_page_shows_the_question_and_the_scale(
    client: TestClient, world: World, links: Links
) -> None:
    # given an NPS survey sent to a contact
    path = _path(links, world.survey(), world.contact())

    # when the link is opened
    page = client.get(path)

    # then it asks the question with buttons 0 to 10 and a comment box
    assert page.status_code == 200
    assert "Порекомендуете ли вы нас?" in page.text
    assert [f'data-testid="score-{n}"' in page.text for n in (0, 10, 11)] == [True, True, False]
    assert 'name="comment"' in page.text
    assert page.headers["cache-control"] == "no-store, private"


def test_an_answer_is_stored_once_and_a_second_post_says_already_answered(
    client: TestClient, db: Session, world: World, links: Links
) -> None:
    # given a detractor's link
    contact_id = world.contact(owner_id=world.owner())
    survey_id = world.survey()
    path = _path(links, survey_id, contact_id)

    # when the form is posted with 4, then again with 10, and the link opened again
    first = client.post(path, data={"score": "4", "comment": "Грубый курьер"})
    second = client.post(path, data={"score": "10"})
    again = client.get(path)

    # then the first answer and its one task are stored; the rest say "already answered"
    assert first.status_code == 200
    assert 'data-state="thanks"' in first.text
    assert 'data-state="answered"' in second.text
    assert 'data-state="answered"' in again.text
    rows = db.execute(select(Response.occurrence, Response.score, Response.comment)).all()
    assert [tuple(r) for r in rows] == [("m7", 4, "Грубый курьер")]
    assert len(db.scalars(select(Activity)).all()) == 1


def test_an_exit_answer_needs_a_reason_from_the_list(
    client: TestClient, db: Session, world: World, links: Links
) -> None:
    # given an exit survey's link
    survey_id = world.survey(SurveyKind.EXIT, name="Exit")
    path = _path(links, survey_id, world.contact())

    # when a reason not on the list is posted, then "price"
    refused = client.post(path, data={"reason": "weather"})
    stored = client.post(path, data={"reason": "price"})

    # then the first is refused and the second stored
    assert refused.status_code == 422
    assert 'data-testid="survey-error"' in refused.text
    assert stored.status_code == 200
    assert [tuple(r) for r in db.execute(select(Response.reason, Response.score)).all()] == [
        ("price", None)
    ]


def test_a_tampered_or_foreign_token_is_refused_and_nothing_stored(
    client: TestClient, db: Session, world: World, links: Links
) -> None:
    # given a valid link, the same link pointing at another contact, and a preference token
    survey_id, contact_id, other = world.survey(), world.contact(), world.contact()
    path = _path(links, survey_id, contact_id)
    encoded, mac = path.removeprefix("/s/").split(".")
    forged_payload = links.signer.sign(Token("s", survey_id, f"{other}:m7")).split(".")[0]
    forged = f"/s/{forged_payload}.{mac}"
    foreign = "/s/" + links.signer.sign(Token("p", survey_id))

    # when each is posted
    answers = [client.post(p, data={"score": "0"}) for p in (forged, foreign, "/s/garbage")]

    # then each gets the "not valid" page with 404 and nothing is stored
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert all('data-state="invalid"' in a.text for a in answers)
    assert db.scalars(select(Response)).all() == []
    assert db.scalars(select(Activity)).all() == []
    assert encoded != forged_payload
