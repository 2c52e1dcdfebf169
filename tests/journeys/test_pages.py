"""The journey pages: the list with counts, the gallery of ready-made journeys, the new form,
the card drawing the flow with live counts per step, the editor with its errors beside the
step they name, the actions by status, enrollments, the contact card's block, and who may do
what."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from retentio.auth.models import Role
from retentio.db import session_scope
from retentio.journeys import page_data, queries, service
from retentio.journeys.models import JourneyStatus
from retentio.journeys.schemas import JourneyIn
from tests.conftest import UserFactory, log_in
from tests.imports.page_helpers import immediate_worker
from tests.journeys.conftest import START, Shop, send

FIELD_ERROR = re.compile(r'data-field-error="([^"]+)">([^<]*)<')
COUNT = re.compile(r'data-count="([\w:]+)">([^<]*)<')
ROW = re.compile(
    r'<tr data-journey-id="(\d+)">.*?<a href="/journeys/\d+">([^<]+)</a>.*?'
    r'data-status="(\w+)".*?<td>([^<]*)</td>.*?data-enrolled="(\d+)"',
    re.S,
)
CART = {"kind": "event", "event_type": "cart_add"}


@pytest.fixture(autouse=True)
def _worker() -> Iterator[None]:
    with immediate_worker():
        yield


def _login(client: TestClient, make_user: UserFactory, role: Role) -> None:
    client.headers.pop("X-CSRF-Token", None)
    client.headers["X-CSRF-Token"] = log_in(client, make_user(role).email)


def _watching(shop: Shop) -> int:
    """An active journey: wait up to an hour for a `view`, then an e-mail either way."""
    account = shop.account()
    steps = [
        {
            "key": "watch",
            "kind": "wait_event",
            "event_type": "view",
            "timeout": {"amount": 1, "unit": "hours"},
            "next": "mail",
            "timeout_next": "mail",
        },
        send(account, "mail"),
    ]
    return shop.journey(CART, steps, name="Корзина")


def _values(shop: Shop, journey_id: int) -> dict[str, str]:
    with session_scope(shop.url) as session:
        journey = service.get(session, journey_id)
        steps = [s.model_dump(mode="json") for s in queries.steps_of(session, journey).steps]
        return page_data.values_of(journey, steps)


def _status(shop: Shop, journey_id: int) -> JourneyStatus:
    with session_scope(shop.url) as session:
        return service.get(session, journey_id).status


def test_list_shows_each_journey_with_its_trigger_and_counts(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given an active journey two contacts entered by adding to their carts
    journey_id = _watching(shop)
    for contact_id in shop.contacts(2):
        shop.event(contact_id, "cart_add")
    shop.run()
    _login(client, make_user, Role.ANALYST)

    # when the list is opened
    response = client.get("/journeys")

    # then its row names it, its status, its trigger in words and who entered
    assert response.status_code == 200
    assert ROW.findall(response.text) == [
        (str(journey_id), "Корзина", "active", "Event «cart_add»", "2")
    ]


def test_gallery_creates_a_draft_from_a_scenario(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given an e-mail account and a marketer in the gallery
    shop.account()
    _login(client, make_user, Role.MARKETER)
    gallery = client.get("/journeys/templates")
    assert "Abandoned cart" in gallery.text

    # when the abandoned cart is created
    response = client.post("/journeys/templates/abandoned_cart", follow_redirects=False)

    # then the editor of the new draft opens with its four steps in order
    assert response.status_code == 303
    card = client.get(response.headers["location"])
    assert re.findall(r'data-testid="step-box"', card.text).__len__() == 4
    assert re.findall(r'data-step="(\w+)"', card.text) == [
        "wait_2h",
        "reminder",
        "wait_24h",
        "second",
    ]
    assert "Wait 2 hours" in card.text
    assert 'data-status="draft"' in card.text


def test_gallery_without_an_email_account_says_what_to_do(
    client: TestClient, make_user: UserFactory
) -> None:
    # given no sending account at all
    _login(client, make_user, Role.MARKETER)

    # when a ready-made journey is created
    response = client.post("/journeys/templates/abandoned_cart")

    # then the gallery comes back with the reason
    assert response.url.path == "/journeys/templates"
    assert "Add an e-mail sending account in Settings first" in response.text


def test_new_journey_is_an_empty_draft_opened_in_the_editor(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    _login(client, make_user, Role.MARKETER)

    # when a name and an event trigger are posted
    form = page_data.new_values() | {"name": "Просмотры", "trigger-event_type": "view"}
    response = client.post("/journeys/new", data=form, follow_redirects=False)

    # then the draft exists without steps and the card says so
    assert response.status_code == 303
    card = client.get(response.headers["location"])
    assert 'data-testid="no-steps"' in card.text
    assert "Event «view»" in card.text


def test_new_journey_without_its_event_type_is_refused_beside_the_field(
    client: TestClient, make_user: UserFactory
) -> None:
    _login(client, make_user, Role.MARKETER)
    form = page_data.new_values() | {"name": "Просмотры", "trigger-event_type": ""}

    response = client.post("/journeys/new", data=form)

    assert response.status_code == 422
    assert [name for name, _ in FIELD_ERROR.findall(response.text)] == ["trigger-event_type"]


def test_card_draws_the_flow_with_branches_counts_and_enrollments(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given two contacts waiting in the wait-for-event step
    journey_id = _watching(shop)
    contacts = shop.contacts(2)
    for contact_id in contacts:
        shop.event(contact_id, "cart_add")
    shop.run()
    _login(client, make_user, Role.ANALYST)

    # when the card is opened
    response = client.get(f"/journeys/{journey_id}")

    # then both branches are drawn with their labels, each leading to the e-mail (drawn once)
    text = response.text
    assert response.status_code == 200
    assert 'data-branch="Event came"' in text
    assert 'data-branch="Timed out"' in text
    assert re.findall(r'data-step="(\w+)"', text) == ["watch", "mail"]
    assert "continues at mail" in text
    assert "Wait up to 1 hours for «view»" in text
    # and the live counts per step
    counts = dict(COUNT.findall(text))
    assert counts["watch:waiting"] == "2"
    assert counts["mail:waiting"] == "0"
    # and the enrollments table links both contacts; a reader gets no editor
    linked = sorted(int(i) for i in re.findall(r'<a href="/contacts/(\d+)">', text))
    assert linked == sorted(contacts)
    assert 'data-testid="journey-editor"' not in text


def test_edit_with_a_next_step_that_does_not_exist_is_shown_beside_that_step(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given an active journey whose first step is changed to lead nowhere
    journey_id = _watching(shop)
    _login(client, make_user, Role.MARKETER)
    values = _values(shop, journey_id) | {"steps-0-next": "nowhere", "name": "Новое имя"}

    # when the definition is posted
    response = client.post(f"/journeys/{journey_id}/edit", data=values)

    # then it is refused beside the step's field, keeping what was typed
    assert response.status_code == 422
    assert FIELD_ERROR.findall(response.text) == [
        ("steps-0-next", "there is no step &#39;nowhere&#39;.")
    ]
    assert '<option value="nowhere" selected>nowhere</option>' in response.text
    assert 'value="Новое имя"' in response.text
    assert _values(shop, journey_id)["name"] == "Корзина"


def test_edit_saves_the_definition_and_settings(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    journey_id = _watching(shop)
    _login(client, make_user, Role.MARKETER)
    values = _values(shop, journey_id) | {
        "steps-1-subject": "Новая тема",
        "policy-holdout_share": "10",
        "goal-kind": "order",
        "goal-attribution_days": "5",
    }

    response = client.post(f"/journeys/{journey_id}/edit", data=values, follow_redirects=False)

    assert response.status_code == 303
    saved = _values(shop, journey_id)
    assert (saved["steps-1-subject"], saved["policy-holdout_share"]) == ("Новая тема", "10")
    assert saved["goal-attribution_days"] == "5"


def test_adding_and_deleting_steps_returns_the_editor_unsaved(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    journey_id = _watching(shop)
    _login(client, make_user, Role.MARKETER)
    values = _values(shop, journey_id)

    # when an exit step is added on the timeout branch of the first step
    added = client.post(
        f"/journeys/{journey_id}/edit",
        data=values
        | {"add_step": "0", "steps-0-add_kind": "exit", "steps-0-add_exit": "timeout_next"},
    )

    # then it appears after it, on that branch, and nothing is saved yet
    assert added.status_code == 200
    assert re.findall(r'data-step="(\w+)"', added.text) == ["watch", "mail", "exit_3"]
    assert 'name="steps-1-key" value="exit_3"' in added.text
    assert 'data-testid="unsaved-note"' in added.text
    assert "steps-2-key" in added.text
    assert "exit_3" not in str(_values(shop, journey_id))

    # when the e-mail step is deleted instead
    removed = client.post(f"/journeys/{journey_id}/edit", data=values | {"delete_step": "1"})

    # then only the first step is left, its branches ending
    assert re.findall(r'data-step="(\w+)"', removed.text) == ["watch"]


def test_actions_move_the_journey_through_its_statuses(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    journey_id = _watching(shop)
    _login(client, make_user, Role.MARKETER)

    seen = []
    for action in ("pause", "resume", "pause", "archive"):
        response = client.post(f"/journeys/{journey_id}/{action}", follow_redirects=False)
        assert response.status_code == 303
        seen.append(_status(shop, journey_id))

    assert seen == [
        JourneyStatus.PAUSED,
        JourneyStatus.ACTIVE,
        JourneyStatus.PAUSED,
        JourneyStatus.ARCHIVED,
    ]


def test_activating_an_invalid_draft_shows_the_reason(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given a draft without steps
    with session_scope(shop.url) as session:
        data = JourneyIn(name="Пусто", trigger=CART, steps=[])
        journey_id = service.create_journey(session, data, user=None, now=START).id
    _login(client, make_user, Role.MARKETER)

    # when it is activated
    response = client.post(f"/journeys/{journey_id}/activate")

    # then it stays a draft and the card says why
    assert "add at least one step before activating" in response.text
    assert _status(shop, journey_id) == JourneyStatus.DRAFT
    assert client.post(f"/journeys/{journey_id}/archive").status_code == 200


def test_contact_card_lists_the_contacts_journeys(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    _watching(shop)
    [contact_id] = shop.contacts(1)
    shop.event(contact_id, "cart_add")
    shop.run()
    _login(client, make_user, Role.ADMIN)

    response = client.get(f"/contacts/{contact_id}")

    block = response.text.split('data-testid="contact-journeys"')[1].split("</section>")[0]
    assert "Корзина" in block
    assert "In the journey" in block
    assert "watch" in block


def test_an_analyst_may_read_but_every_change_is_refused(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    journey_id = _watching(shop)
    values = _values(shop, journey_id)
    _login(client, make_user, Role.ANALYST)

    assert client.get(f"/journeys/{journey_id}").status_code == 200
    assert client.get("/journeys/templates").status_code == 200
    refused = [
        client.post(path, data=values).status_code
        for path in (
            "/journeys/new",
            "/journeys/templates/abandoned_cart",
            f"/journeys/{journey_id}/edit",
            f"/journeys/{journey_id}/activate",
            f"/journeys/{journey_id}/pause",
            f"/journeys/{journey_id}/resume",
            f"/journeys/{journey_id}/archive",
        )
    ]
    assert refused == [403] * 7
    assert client.get("/journeys/new").status_code == 403
    assert _status(shop, journey_id) == JourneyStatus.ACTIVE
