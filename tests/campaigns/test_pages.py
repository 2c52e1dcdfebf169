"""The campaign pages: the list with each campaign's figures, the form with its variants and
inline errors, the card's actions by status, the test send, the report on the card, and who
may do what."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role
from retentio.campaigns import service
from retentio.campaigns.models import Campaign, CampaignStatus
from retentio.consent.models import Channel
from retentio.db import session_scope, utcnow
from retentio.messaging.models import MessageContent
from retentio.settings import Settings
from tests.campaigns.conftest import Shop, campaign_in
from tests.conftest import UserFactory, log_in
from tests.imports.page_helpers import immediate_worker

ROW = re.compile(
    r'<tr data-campaign-id="(\d+)">\s*<td><a href="/campaigns/\d+">([^<]+)</a></td>\s*'
    r'<td><span class="status status-\w+" data-status="(\w+)">.*?data-recipients="(\d+)".*?'
    r'data-sent="(\d+)"',
    re.S,
)
FIGURE = re.compile(r'data-figure="(\w+)">([^<]*)<')
FIELD_ERROR = re.compile(r'data-field-error="([^"]+)">([^<]*)<')


@pytest.fixture(autouse=True)
def _worker() -> Iterator[None]:
    """Starts and sends enqueued by the pages run at once, after the request's commit."""
    with immediate_worker():
        yield


def _login(
    client: TestClient, make_user: UserFactory, role: Role, email: str | None = None
) -> None:
    client.headers.pop("X-CSRF-Token", None)
    client.headers["X-CSRF-Token"] = log_in(client, make_user(role, email=email).email)


def _draft(shop: Shop, contacts: int = 3, **overrides: Any) -> int:
    account = overrides.pop("account_id", None) or shop.account()
    segment = overrides.pop("segment_id", None) or shop.segment(shop.contacts(contacts))
    with session_scope(shop.url) as session:
        return service.create_campaign(
            session, campaign_in(account, segment, **overrides), user=None
        ).id


def _campaign(url: str, campaign_id: int) -> Campaign:
    with session_scope(url) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        session.expunge(campaign)
        return campaign


def _figures(page: str) -> dict[str, str]:
    return {name: html.unescape(value).strip() for name, value in FIGURE.findall(page)}


def _form(account: int, segment: int, **fields: str) -> dict[str, str]:
    form = {
        "name": "Весна",
        "channel": "email",
        "purpose": "marketing",
        "account_id": str(account),
        "segment_id": str(segment),
        "holdout_share": "10",
        "attribution_days": "7",
        "variants-0-label": "A",
        "variants-0-weight": "1",
        "variants-0-subject": "Скидки",
        "variants-0-text": "Весна!",
    }
    return form | fields


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_campaign_with_its_status_and_figures(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given a draft and a campaign sent to 10 contacts without a holdout
    draft = _draft(shop, name="Черновик")
    sent = _draft(shop, contacts=10, name="Отправленная", holdout_share=0.0)
    _login(client, make_user, Role.MARKETER)
    assert client.post(f"/campaigns/{sent}/send-now").status_code == 200
    _login(client, make_user, Role.ANALYST)

    # when an analyst opens the list, then filters it by status
    page = client.get("/campaigns")
    drafts = client.get("/campaigns?status=draft")

    # then both are there, newest first, with the sent one's recipients and sends
    assert page.status_code == 200
    assert ROW.findall(page.text) == [
        (str(sent), "Отправленная", "sending", "10", "10"),
        (str(draft), "Черновик", "draft", "0", "0"),
    ]
    assert [r[0] for r in ROW.findall(drafts.text)] == [str(draft)]
    assert 'data-testid="new-campaign"' not in page.text
    assert 'data-area="campaigns"' in page.text


def test_a_writer_sees_the_new_campaign_button(client: TestClient, make_user: UserFactory) -> None:
    _login(client, make_user, Role.MARKETER)
    assert 'data-testid="new-campaign"' in client.get("/campaigns").text


# --- the form ------------------------------------------------------------------------------


def test_the_form_offers_the_accounts_segments_and_topics(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    email, sms = shop.account(), shop.account(Channel.SMS)
    segment = shop.segment(shop.contacts(1), name="Постоянные")
    _login(client, make_user, Role.MARKETER)

    page = client.get("/campaigns/new")

    assert page.status_code == 200
    assert f'<option value="{email}" data-channel="email">' in page.text
    assert f'<option value="{sms}" data-channel="sms">' in page.text
    assert f'<option value="{segment}">Постоянные</option>' in page.text
    assert page.text.count('data-testid="variant"') == 1
    assert 'data-testid="ab-test"' not in page.text


def test_creating_through_the_form_stores_the_campaign_with_its_variants(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given an account and two segments
    account = shop.account()
    everyone, vip = shop.segment(shop.contacts(4)), shop.segment(shop.contacts(1), name="VIP")
    _login(client, make_user, Role.MARKETER)
    form = _form(
        account,
        everyone,
        exclude_segment_ids=str(vip),
        holdout_share="15",
        ab_test_share="20",
        ab_wait_hours="6",
        ab_metric="opens",
        local_time="10:00",
        per_hour="500",
        utm_campaign="spring",
        **{
            "variants-1-label": "B",
            "variants-1-weight": "2",
            "variants-1-subject": "Весна пришла",
            "variants-1-html": "<p>Весна</p>",
        },
    )

    # when the form is posted
    answer = client.post("/campaigns/new", data=form, follow_redirects=False)

    # then the draft is stored as typed, percentages as shares, and the card opens
    assert answer.status_code == 303
    campaign = db.scalars(select(Campaign)).one()
    assert answer.headers["location"] == f"/campaigns/{campaign.id}"
    assert (campaign.name, campaign.status, campaign.segment_id) == (
        "Весна",
        CampaignStatus.DRAFT,
        everyone,
    )
    assert campaign.exclude_segment_ids == [vip]
    assert (campaign.holdout_share, campaign.ab_test_share, campaign.ab_wait_hours) == (
        0.15,
        0.2,
        6.0,
    )
    assert (campaign.ab_metric.value, campaign.local_time, campaign.per_hour) == (
        "opens",
        "10:00",
        500,
    )
    assert campaign.utm == {"utm_campaign": "spring"}
    variants = service.variants_of(db, campaign.id)
    contents = [db.get(MessageContent, v.content_id) for v in variants]
    assert [(v.label, v.weight) for v in variants] == [("A", 1.0), ("B", 2.0)]
    assert [(c.subject, c.html) for c in contents if c] == [
        ("Скидки", ""),
        ("Весна пришла", "<p>Весна</p>"),
    ]


def test_add_variant_gives_the_form_back_with_one_more_and_saves_nothing(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    account, segment = shop.account(), shop.segment(shop.contacts(1))
    _login(client, make_user, Role.MARKETER)

    form = _form(account, segment, add_variant="1", ab_wait_hours="6", ab_metric="opens")
    page = client.post("/campaigns/new", data=form)

    assert page.status_code == 200
    assert page.text.count('data-testid="variant"') == 2
    assert 'name="variants-1-label" value="B"' in page.text
    assert 'name="variants-0-subject" value="Скидки"' in page.text
    assert 'data-testid="ab-test"' in page.text
    assert 'name="ab_wait_hours" value="6"' in page.text
    assert '<option value="opens" selected>' in page.text
    assert db.scalars(select(Campaign)).all() == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"variants-0-subject": "Пусто", "variants-0-text": ""},
            "variants-0",
            "A message needs a text or an HTML body.",
        ),
        ({"variants-0-label": ""}, "variants-0-label", "String should have at least 1 character"),
        ({"holdout_share": "80"}, "holdout_share", "Between 0 and 50 percent."),
        ({"per_hour": "many"}, "per_hour", "Enter a whole number."),
        ({"segment_id": ""}, "segment_id", "Choose one."),
        ({"variants-0-text": "{{ oops"}, "variants-0-text", None),
    ],
)
def test_a_rejected_form_comes_back_with_the_message_beside_the_field(
    client: TestClient,
    make_user: UserFactory,
    shop: Shop,
    db: Session,
    fields: dict[str, str],
    field: str,
    message: str | None,
) -> None:
    account, segment = shop.account(), shop.segment(shop.contacts(1))
    _login(client, make_user, Role.MARKETER)

    page = client.post("/campaigns/new", data=_form(account, segment, name="Осень", **fields))

    assert page.status_code == 422
    errors = dict(FIELD_ERROR.findall(page.text))
    assert list(errors) == [field]
    if message is not None:
        assert html.unescape(errors[field]) == message
    assert 'name="name" value="Осень"' in page.text
    assert db.scalars(select(Campaign)).all() == []


def test_an_account_of_another_channel_is_refused_beside_the_account(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    sms, segment = shop.account(Channel.SMS), shop.segment(shop.contacts(1))
    _login(client, make_user, Role.MARKETER)

    page = client.post("/campaigns/new", data=_form(sms, segment))

    assert page.status_code == 422
    assert dict(FIELD_ERROR.findall(page.text)) == {
        "account_id": "The account sends sms, the campaign is email."
    }


def test_editing_a_draft_replaces_it_and_a_started_campaign_cannot_be_edited(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    # given a draft
    campaign_id = _draft(shop)
    _login(client, make_user, Role.MARKETER)
    form_page = client.get(f"/campaigns/{campaign_id}/edit")
    assert 'name="name" value="Весенняя распродажа"' in form_page.text
    assert 'name="holdout_share" value="10"' in form_page.text
    campaign = _campaign(settings.database_url, campaign_id)

    # when it is saved with another name
    form = _form(campaign.account_id, campaign.segment_id, name="Летняя")
    saved = client.post(f"/campaigns/{campaign_id}/edit", data=form, follow_redirects=False)

    # then it is renamed; once sent, the edit page sends back to the card with the reason
    assert saved.status_code == 303
    assert _campaign(settings.database_url, campaign_id).name == "Летняя"
    client.post(f"/campaigns/{campaign_id}/send-now")
    refused = client.get(f"/campaigns/{campaign_id}/edit")
    assert str(refused.url).endswith(f"/campaigns/{campaign_id}")
    assert "Only a draft or a scheduled campaign can be edited." in refused.text
    again = client.post(f"/campaigns/{campaign_id}/edit", data=form)
    assert again.status_code == 409
    assert "Only a draft or a scheduled campaign can be edited." in again.text


# --- the card's actions --------------------------------------------------------------------


def test_schedule_unschedule_send_pause_resume_and_cancel_move_the_status(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    campaign_id = _draft(shop, contacts=5, holdout_share=0.0)
    url = settings.database_url
    _login(client, make_user, Role.MARKETER)
    card = client.get(f"/campaigns/{campaign_id}").text
    assert 'data-testid="send-now"' in card
    assert 'data-testid="pause"' not in card

    # schedule for a local time next year: Moscow, three hours ahead of UTC
    year = utcnow().year + 1
    client.post(f"/campaigns/{campaign_id}/schedule", data={"at": f"{year}-06-01T10:30"})
    scheduled = _campaign(url, campaign_id)
    assert scheduled.status == CampaignStatus.SCHEDULED
    assert scheduled.scheduled_at == datetime(year, 6, 1, 7, 30, tzinfo=UTC)

    client.post(f"/campaigns/{campaign_id}/unschedule")
    assert _campaign(url, campaign_id).status == CampaignStatus.DRAFT

    page = client.post(f"/campaigns/{campaign_id}/send-now")
    assert _campaign(url, campaign_id).status == CampaignStatus.SENDING
    assert "The campaign is starting." in page.text
    assert len(list(shop.outbox.glob("*.eml"))) == 5
    assert 'data-testid="pause"' in page.text

    client.post(f"/campaigns/{campaign_id}/pause")
    assert _campaign(url, campaign_id).status == CampaignStatus.PAUSED
    client.post(f"/campaigns/{campaign_id}/resume")
    assert _campaign(url, campaign_id).status == CampaignStatus.SENDING
    page = client.post(f"/campaigns/{campaign_id}/cancel")
    assert _campaign(url, campaign_id).status == CampaignStatus.CANCELLED
    assert "Campaign cancelled." in page.text
    assert 'data-testid="campaign-actions"' not in page.text


def test_an_action_the_status_does_not_allow_shows_the_reason(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    campaign_id = _draft(shop)
    _login(client, make_user, Role.MARKETER)

    page = client.post(f"/campaigns/{campaign_id}/pause")

    assert page.status_code == 200
    assert "Only a sending campaign can be paused." in page.text


def test_a_test_send_goes_to_the_author_and_a_bad_address_is_reported(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    campaign_id = _draft(shop)
    _login(client, make_user, Role.MARKETER, email="author@shop.example")

    sent = client.post(f"/campaigns/{campaign_id}/test", data={})
    refused = client.post(f"/campaigns/{campaign_id}/test", data={"address": "nope"})
    not_an_id = client.post(f"/campaigns/{campaign_id}/test", data={"contact_id": "x"})

    assert "Test sent to author@shop.example." in sent.text
    assert "The test was not sent: That is not an e-mail address." in refused.text
    assert "The test was not sent: An id is a whole number." in not_an_id.text
    assert len(list(shop.outbox.glob("*.eml"))) == 1


def test_an_analyst_reads_the_card_but_every_change_is_refused(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    campaign_id = _draft(shop)
    campaign = _campaign(settings.database_url, campaign_id)
    _login(client, make_user, Role.ANALYST)

    card = client.get(f"/campaigns/{campaign_id}")

    assert card.status_code == 200
    assert 'data-testid="campaign-actions"' not in card.text
    assert 'data-testid="test-form"' not in card.text
    assert client.get("/campaigns/new").status_code == 403
    assert client.get(f"/campaigns/{campaign_id}/edit").status_code == 403
    form = _form(campaign.account_id, campaign.segment_id)
    assert client.post("/campaigns/new", data=form).status_code == 403
    assert client.post(f"/campaigns/{campaign_id}/edit", data=form).status_code == 403
    for action in ("send-now", "schedule", "unschedule", "pause", "resume", "cancel", "test"):
        assert client.post(f"/campaigns/{campaign_id}/{action}").status_code == 403, action
    assert _campaign(settings.database_url, campaign_id).status == CampaignStatus.DRAFT
    assert not shop.outbox.exists()


# --- the report on the card ----------------------------------------------------------------


def test_the_card_reports_sends_opens_conversions_and_the_effect_against_the_holdout(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    # given 100 contacts, a fifth held out, sent now
    campaign_id = _draft(shop, contacts=100, holdout_share=0.2)
    _login(client, make_user, Role.MARKETER)
    client.post(f"/campaigns/{campaign_id}/send-now")
    shop.engage(campaign_id, opens=30, clicks=10)
    treated, holdout = shop.groups(campaign_id)
    # and 20 treated and 2 held-out contacts buy for 1000 each
    shop.orders(treated[:20] + holdout[:2], total=1000)
    _login(client, make_user, Role.ANALYST)

    # when an analyst opens the card
    page = client.get(f"/campaigns/{campaign_id}").text

    # then the figures, the holdout comparison and the charts' data are there
    figures = _figures(page)
    assert {k: figures[k] for k in ("audience", "sent", "delivered", "failed")} == {
        "audience": "100",
        "sent": "80",
        "delivered": "80",
        "failed": "0",
    }
    assert (figures["unique_opens"], figures["unique_clicks"], figures["ctr"]) == (
        "30",
        "10",
        "12.5%",
    )
    assert (figures["conversions"], figures["revenue"]) == ("20", "RUB20,000.00")
    assert 'data-testid="progress-text">80 of 80 messages processed, 0 waiting<' in page
    conversions = re.search(r'data-testid="incremental-conversions">([^<]+)<', page)
    assert conversions is not None
    assert conversions.group(1).strip() == "12"
    charts = json.loads(
        html.unescape(re.search(r'id="campaign-charts">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    )
    assert charts["effect"]["conversions"]["estimate"] == pytest.approx(12.0)
    assert charts["effect"]["conversions"]["low"] < 12.0 < charts["effect"]["conversions"]["high"]
    assert sum(charts["timeline"]["opens"]) == 30
    assert sum(charts["timeline"]["clicks"]) == 10
    assert 'data-chart="effect"' in page
    assert 'data-chart="timeline"' in page

    # and the list shows the same campaign's rates and incremental revenue
    listed = client.get("/campaigns").text
    assert re.search(r"data-open-rate>37.5%<", listed)
    assert re.search(r"data-click-rate>12.5%<", listed)
    assert re.search(r"data-incremental-revenue>RUB12,000.00<", listed)


def test_a_draft_card_has_no_report_yet(
    client: TestClient, make_user: UserFactory, shop: Shop, tmp_path: Path
) -> None:
    campaign_id = _draft(shop)
    _login(client, make_user, Role.ANALYST)

    page = client.get(f"/campaigns/{campaign_id}").text

    assert 'data-testid="progress"' not in page
    assert _figures(page)["sent"] == "0"
    assert 'data-testid="no-effect"' in page
    assert 'data-testid="no-timeline"' in page
    assert "Весенняя распродажа" in page


def test_an_unknown_campaign_is_a_404_page(client: TestClient, make_user: UserFactory) -> None:
    _login(client, make_user, Role.ANALYST)
    assert client.get("/campaigns/999999").status_code == 404


def test_a_campaign_scheduled_for_the_past_starts_at_once(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    campaign_id = _draft(shop, contacts=2, holdout_share=0.0)
    _login(client, make_user, Role.MARKETER)
    past = (utcnow() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    client.post(f"/campaigns/{campaign_id}/schedule", data={"at": past})

    assert _campaign(settings.database_url, campaign_id).status == CampaignStatus.SENDING
    assert len(list(shop.outbox.glob("*.eml"))) == 2
