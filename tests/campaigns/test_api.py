"""The campaigns JSON API end to end: create, send now through the worker (Huey immediate)
into a file sink, opens and orders, then the report with its incremental estimate; a test
send to myself; permissions; errors that name the field."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.commerce.models import OrderStatus
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.settings import Settings
from retentio.worker import huey
from tests.campaigns.conftest import Shop
from tests.conftest import UserFactory, log_in


@pytest.fixture
def immediate() -> Iterator[None]:
    huey.immediate = True
    try:
        yield
    finally:
        huey.immediate = False


def _login(
    client: TestClient, make_user: UserFactory, role: Role, email: str | None = None
) -> None:
    user = make_user(role, email=email)
    client.headers["X-CSRF-Token"] = log_in(client, user.email)


def _body(account_id: int, segment_id: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Весенняя распродажа",
        "account_id": account_id,
        "segment_id": segment_id,
        "holdout_share": 0.2,
        "variants": [
            {
                "label": "A",
                "content": {
                    "subject": "Скидки, {{ contact.first_name }}",
                    "html": '<p>Весна! <a href="https://shop.example/sale">Смотреть</a></p>',
                    "text": "Весна!",
                },
            }
        ],
    }
    body.update(overrides)
    return body


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def test_send_now_sends_through_the_worker_and_reports_the_effect_against_the_holdout(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings, immediate: None
) -> None:
    # given 100 contacts with consent in a segment, an account writing to files
    _login(client, make_user, Role.MARKETER)
    contacts = shop.contacts(100)
    body = _body(shop.account(), shop.segment(contacts))
    created = client.post("/api/v1/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]

    # when it is sent now
    launched = client.post(f"/api/v1/campaigns/{campaign_id}/schedule", json={})

    # then the worker drew 20 holdout contacts and sent the other 80
    assert launched.status_code == 200, launched.text
    assert len(_files(shop.outbox)) == 80
    shop.engage(campaign_id, opens=30, clicks=10, repeat=2)  # unique opens count once
    treated, holdout = shop.groups(campaign_id)
    assert (len(treated), len(holdout)) == (80, 20)

    # and 20 treated and 2 holdout contacts buy for 1000 each; a cancelled order and one placed
    # before the campaign are no conversions
    shop.orders(treated[:20] + holdout[:2], total=1000)
    shop.orders(treated[20:25], total=500, status=OrderStatus.CANCELLED)
    shop.orders(treated[25:30], total=700, days=-3)

    report = client.get(f"/api/v1/campaigns/{campaign_id}/report").json()

    total = report["total"]
    assert total["recipients"] == 80
    assert (total["sent"], total["delivered"], total["failed"], total["skipped"]) == (80, 80, 0, 0)
    assert (total["unique_opens"], total["unique_clicks"]) == (30, 10)
    assert total["click_rate"] == pytest.approx(10 / 80)
    assert (total["conversions"], total["revenue"]) == (20, 20000.0)
    assert report["treated"] == {"group": "main", "size": 80, "converted": 20, "revenue": 20000.0}
    assert report["holdout"] == {"group": "holdout", "size": 20, "converted": 2, "revenue": 2000.0}
    # 25 % vs 10 % of the 80 treated: 12 conversions and 12,000 ₽ the campaign made
    incremental = report["incremental"]
    assert incremental["rate_lift"]["estimate"] == pytest.approx(0.15)
    assert incremental["conversions"]["estimate"] == pytest.approx(12.0)
    assert incremental["revenue"]["estimate"] == pytest.approx(12000.0)
    low, high = incremental["conversions"]["low"], incremental["conversions"]["high"]
    assert low < 12.0 < high
    assert [v["label"] for v in report["variants"]] == ["A"]
    assert sum(point["opens"] for point in report["timeline"]) == 60  # every hit, per hour


def test_a_test_send_goes_to_the_author_filled_with_a_contacts_data(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given a draft campaign and a contact whose data fills the test
    _login(client, make_user, Role.MARKETER, email="author@shop.example")
    contacts = shop.contacts(3)
    body = _body(shop.account(), shop.segment(contacts))
    campaign_id = client.post("/api/v1/campaigns", json=body).json()["id"]

    # when the author sends a test to themself
    answer = client.post(f"/api/v1/campaigns/{campaign_id}/test", json={"contact_id": contacts[1]})

    # then one message reaches the author's address, marked as a test, with the contact's name,
    # and the outbox and the report know nothing of it
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"address": "author@shop.example"}
    [file] = _files(shop.outbox)
    email = message_from_bytes(file.read_bytes(), policy=policy.default)
    assert email["To"] == "author@shop.example"
    assert email["Subject"].startswith("[Test] Скидки, Покупатель ")
    assert email["List-Unsubscribe"] is not None
    report = client.get(f"/api/v1/campaigns/{campaign_id}/report").json()
    assert report["total"]["sent"] == 0


def test_a_test_send_names_what_is_wrong(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    _login(client, make_user, Role.MARKETER)
    body = _body(shop.account(), shop.segment(shop.contacts(1)))
    campaign_id = client.post("/api/v1/campaigns", json=body).json()["id"]

    bad_address = client.post(f"/api/v1/campaigns/{campaign_id}/test", json={"address": "nope"})
    no_contact = client.post(f"/api/v1/campaigns/{campaign_id}/test", json={"contact_id": 10**9})

    assert bad_address.status_code == 422
    assert bad_address.json()["error"]["details"] == [
        {"field": "address", "message": "That is not an e-mail address."}
    ]
    assert no_contact.status_code == 422
    assert no_contact.json()["error"]["details"] == [
        {"field": "contact_id", "message": "There is no such contact."}
    ]
    assert _files(shop.outbox) == []


def test_an_analyst_reads_campaigns_but_cannot_create_launch_or_test_them(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given a campaign a marketer made
    _login(client, make_user, Role.MARKETER)
    body = _body(shop.account(), shop.segment(shop.contacts(2)))
    campaign_id = client.post("/api/v1/campaigns", json=body).json()["id"]

    # when an analyst uses the API
    _login(client, make_user, Role.ANALYST)

    # then reading works and every write is refused
    assert client.get(f"/api/v1/campaigns/{campaign_id}").status_code == 200
    assert client.get(f"/api/v1/campaigns/{campaign_id}/report").status_code == 200
    assert client.post("/api/v1/campaigns", json=body).status_code == 403
    for action in ("schedule", "pause", "resume", "cancel", "test"):
        assert client.post(f"/api/v1/campaigns/{campaign_id}/{action}", json={}).status_code == 403
    assert client.put(f"/api/v1/campaigns/{campaign_id}", json=body).status_code == 403
    assert _files(shop.outbox) == []


def test_a_campaign_that_names_an_unknown_segment_is_refused_naming_the_field(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    _login(client, make_user, Role.MARKETER)

    answer = client.post("/api/v1/campaigns", json=_body(shop.account(), 10**9))

    assert answer.status_code == 422
    assert [d["field"] for d in answer.json()["error"]["details"]] == ["segment_id"]


def test_the_preview_renders_a_variant_with_a_contacts_data_and_sends_nothing(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    # given a campaign and a contact
    _login(client, make_user, Role.MARKETER)
    contacts = shop.contacts(2)
    body = _body(shop.account(), shop.segment(contacts))
    campaign_id = client.post("/api/v1/campaigns", json=body).json()["id"]
    _login(client, make_user, Role.ANALYST)

    # when a reader previews it with the second contact, through the API and the page
    answer = client.get(f"/api/v1/campaigns/{campaign_id}/preview?contact_id={contacts[1]}")
    page = client.get(f"/campaigns/{campaign_id}/preview", params={"contact_id": str(contacts[1])})
    unknown = client.get(f"/campaigns/{campaign_id}/preview", params={"contact_id": "999999999"})

    # then both show the contact's message, untracked, on a sandboxed page, and nothing is sent
    assert answer.status_code == 200
    preview = answer.json()
    with session_scope(settings.database_url) as session:
        contact = session.get(Contact, contacts[1])
        assert contact is not None
        assert preview["subject"] == f"Скидки, {contact.first_name}"
    assert preview["html"] == '<p>Весна! <a href="https://shop.example/sale">Смотреть</a></p>'
    assert preview["text"] == "Весна!"
    assert page.status_code == 200
    assert page.text == preview["html"]
    assert page.headers["content-security-policy"] == "sandbox"
    assert unknown.status_code == 422
    assert "There is no such contact." in unknown.text
    assert _files(shop.outbox) == []
