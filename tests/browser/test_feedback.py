"""An NPS survey in real Chromium: the contact answers through the signed link from a message,
then a user logs in and finds the answer on the contact card and in the survey's NPS chart."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from retentio.auth.models import Role
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.feedback import service
from retentio.feedback.links import survey_link
from retentio.feedback.models import SurveyKind
from retentio.feedback.schemas import SurveyIn
from retentio.messaging.tracking import Links, Signer
from retentio.settings import Settings
from tests.browser.conftest import PageErrors, screenshot
from tests.browser.test_shell import _log_in
from tests.conftest import UserFactory
from tests.feedback.conftest import NOW

pytestmark = pytest.mark.browser


def test_an_nps_answer_through_its_link_shows_on_the_card_and_in_the_chart(
    page: Page, live_server: str, make_user: UserFactory, settings: Settings
) -> None:
    # given a contact and an NPS survey, and the link a message would carry
    with session_scope(settings.database_url) as session:
        contact = Contact(first_name="Вера", email="vera@example.org")
        session.add(contact)
        question = "How likely are you to recommend us?"
        data = SurveyIn(kind=SurveyKind.NPS, name="NPS spring", question=question)
        survey = service.create_survey(session, data, now=NOW)
        session.flush()
        contact_id, survey_id = contact.id, survey.id
    links = Links(Signer(settings.resolved_secret_key()), live_server)
    errors = PageErrors(page)

    # when the contact opens it, writes a comment and presses 9
    page.goto(survey_link(links, survey_id, contact_id, "m1"))
    expect(page.locator("h1")).to_have_text(question)
    page.fill("[data-testid=survey-comment]", "Fast delivery")
    page.click("[data-testid=score-9]")
    expect(page.locator("[data-testid=survey-thanks]")).to_be_visible()

    # then a user sees the answer on the contact card
    _log_in(page, live_server, make_user(Role.ANALYST).email)
    page.goto(f"{live_server}/contacts/{contact_id}")
    answers = page.locator("[data-testid=contact-answers] li")
    expect(answers).to_have_count(1)
    expect(answers.locator("[data-score]")).to_have_text("9")
    expect(answers).to_contain_text("Fast delivery")

    # and on the survey's page: NPS 100 and the chart drawn with one month's point
    page.goto(f"{live_server}/feedback/{survey_id}")
    expect(page.locator("[data-testid=nps-value]")).to_have_text("100")
    chart = page.locator("[data-testid=nps-chart]")
    expect(chart).to_have_attribute("data-rendered", "true")
    expect(chart).to_have_attribute("data-points", "1")
    expect(chart.locator(".scatterlayer .point")).to_have_count(1)
    screenshot(page, "nps-survey.png")
    assert errors.messages == []
