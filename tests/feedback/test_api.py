"""The feedback and tickets APIs: who may change what (marketing for surveys, edit_customers
for tickets, everyone reads), the NPS summary, and the pages rendering."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.db import session_scope
from retentio.feedback import service
from retentio.feedback.links import read_token
from retentio.feedback.schemas import AnswerIn
from retentio.messaging.tracking import Signer
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.feedback.conftest import NOW, World

SURVEY = {"kind": "nps", "name": "NPS", "question": "Порекомендуете?"}
TICKET = {"subject": "Не пришёл заказ", "kind": "claim", "priority": "high"}


def _client(client: TestClient, make_user: UserFactory, role: Role) -> TestClient:
    client.headers["X-CSRF-Token"] = log_in(client, make_user(role).email)
    return client


@pytest.mark.parametrize(
    ("role", "survey_status", "ticket_status"),
    [
        (Role.ADMIN, 201, 201),
        (Role.MARKETER, 201, 201),
        (Role.SALES, 403, 201),
        (Role.ANALYST, 403, 403),
    ],
)
def test_who_may_change_surveys_and_tickets(
    client: TestClient, make_user: UserFactory, role: Role, survey_status: int, ticket_status: int
) -> None:
    # given a user of the role
    api = _client(client, make_user, role)

    # when they create a survey and a ticket, and read both lists
    created = [
        api.post("/api/v1/feedback/surveys", json=SURVEY).status_code,
        api.post("/api/v1/tickets", json=TICKET).status_code,
    ]
    reads = [api.get(p).status_code for p in ("/api/v1/feedback/surveys", "/api/v1/tickets")]

    # then the permissions decide the writes; everyone reads
    assert created == [survey_status, ticket_status]
    assert reads == [200, 200]


def test_summary_notes_and_status_through_the_api(
    client: TestClient, make_user: UserFactory, settings: Settings, world: World
) -> None:
    # given an NPS survey with a promoter and a detractor
    api = _client(client, make_user, Role.ADMIN)
    survey_id = api.post("/api/v1/feedback/surveys", json=SURVEY).json()["id"]
    contacts = [world.contact(), world.contact()]
    with session_scope(settings.database_url) as session:
        for contact_id, score in zip(contacts, (10, 2), strict=True):
            service.answer(session, survey_id, contact_id, "m1", AnswerIn(score=score), now=NOW)

    # when the summary is read and a ticket gets a reply and is resolved
    summary = api.get(f"/api/v1/feedback/surveys/{survey_id}/summary").json()
    ticket_id = api.post("/api/v1/tickets", json=TICKET).json()["id"]
    note = api.post(f"/api/v1/tickets/{ticket_id}/notes", json={"body": "Ищем", "internal": False})
    resolved = api.post(f"/api/v1/tickets/{ticket_id}/status", json={"status": "resolved"}).json()
    csv = api.get(f"/api/v1/feedback/surveys/{survey_id}/responses.csv")

    # then NPS is 50 − 50 = 0, the reply is the first response, and the export has both
    assert summary["nps"] == {
        "answers": 2,
        "promoters": 1,
        "passives": 0,
        "detractors": 1,
        "nps": 0.0,
    }
    assert note.status_code == 201
    assert resolved["status"] == "resolved"
    assert resolved["first_response_at"] is not None
    assert resolved["resolved_at"] is not None
    assert csv.text.count("\n") == 3


def test_the_pages_render(client: TestClient, make_user: UserFactory, world: World) -> None:
    # given a survey, a ticket about a contact and an admin
    api = _client(client, make_user, Role.ADMIN)
    survey_id = world.survey()
    contact_id = world.contact()
    ticket_id = api.post("/api/v1/tickets", json={**TICKET, "contact_id": contact_id}).json()["id"]

    # when each page is opened
    paths = [
        "/feedback",
        f"/feedback/{survey_id}",
        "/feedback/new",
        f"/feedback/{survey_id}/edit",
        "/tickets",
        f"/tickets/{ticket_id}",
        "/tickets/new",
        f"/tickets/{ticket_id}/edit",
        f"/contacts/{contact_id}",
    ]
    pages = {p: api.get(p) for p in paths}

    # then each answers 200, and the contact card lists the ticket
    assert {p: r.status_code for p, r in pages.items()} == dict.fromkeys(paths, 200)
    assert f'data-ticket-id="{ticket_id}"' in pages[f"/contacts/{contact_id}"].text


def test_a_survey_created_through_the_form(client: TestClient, make_user: UserFactory) -> None:
    # given a marketer
    api = _client(client, make_user, Role.MARKETER)

    # when an exit survey is posted with two reasons, one preventable
    response = api.post(
        "/feedback/new",
        data={
            "kind": "exit",
            "name": "Уход",
            "question": "Почему?",
            "ask_comment": "true",
            "reasons": "moved | Переехал\nprice | Дорого | +",
        },
        follow_redirects=False,
    )

    # then it is created with its reasons
    assert response.status_code == 303
    survey = api.get(
        response.headers["location"].replace("/feedback/", "/api/v1/feedback/surveys/")
    ).json()
    assert survey["reasons"] == [
        {"key": "moved", "label": "Переехал", "preventable": False},
        {"key": "price", "label": "Дорого", "preventable": True},
    ]


def test_a_signed_link_for_the_shops_own_page_and_the_widget(
    client: TestClient, make_user: UserFactory, world: World, settings: Settings
) -> None:
    # given a survey and a contact
    api = _client(client, make_user, Role.MARKETER)
    survey_id, contact_id = world.survey(), world.contact()
    # when the shop asks for the link of one showing, and its page loads the widget
    made = api.post(
        f"/api/v1/feedback/surveys/{survey_id}/links",
        json={"contact_id": contact_id, "occurrence": "pos-2026-03-02"},
    )
    widget = client.get("/s/widget.js")
    # then the link answers this survey for this contact and showing, and the widget frames it
    url = made.json()["url"]
    token = read_token(Signer(settings.resolved_secret_key()), url.rsplit("/s/", 1)[1])
    assert (token.survey_id, token.contact_id, token.occurrence) == (
        survey_id,
        contact_id,
        "pos-2026-03-02",
    )
    assert client.get(url.removeprefix(settings.base_url.rstrip("/"))).status_code == 200
    assert widget.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "data-retentio-survey" in widget.text
    assert "iframe" in widget.text


def test_a_link_for_an_unknown_contact_or_survey_is_refused(
    client: TestClient, make_user: UserFactory, world: World
) -> None:
    api = _client(client, make_user, Role.MARKETER)
    survey_id = world.survey()
    no_contact = api.post(
        f"/api/v1/feedback/surveys/{survey_id}/links", json={"contact_id": 999, "occurrence": "x"}
    )
    bad_occurrence = api.post(
        f"/api/v1/feedback/surveys/{survey_id}/links",
        json={"contact_id": world.contact(), "occurrence": "has spaces"},
    )
    assert (no_contact.status_code, bad_occurrence.status_code) == (404, 422)
