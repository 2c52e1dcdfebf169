"""The segment pages: the list with sizes, the builder, the card and its members, static
segments from a file and from the contact list's bulk action, and who may do what."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from retentio.db import session_scope, utcnow
from retentio.segments import service
from retentio.segments.models import Segment, SegmentKind, SegmentMember, SegmentSize
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.imports.page_helpers import immediate_worker
from tests.page_factories import Shop

SEGMENT_ROW = re.compile(
    r'<tr data-segment-id="(\d+)">\s*<td><a href="/segments/\d+">([^<]+)</a>.*?'
    r'data-kind="(\w+)".*?data-size="(\d+)"',
    re.S,
)
MEMBER_ROW = re.compile(r'<tr data-contact-id="(\d+)"')
UNMATCHED = re.compile(r"<td data-unmatched>([^<]*)</td>")


@pytest.fixture
def shop(settings: Settings) -> Shop:
    return Shop(settings.database_url)


@pytest.fixture(autouse=True)
def _worker() -> Iterator[None]:
    """Refreshes enqueued by the pages run at once, after the request's commit."""
    with immediate_worker():
        yield


def _login(client: TestClient, user: User) -> str:
    client.headers.pop("X-CSRF-Token", None)  # a previous user's token would be sent first
    token = log_in(client, user.email)
    client.headers["X-CSRF-Token"] = token
    return token


def _segment(url: str, name: str, *, rule: Any = None, members: list[int] | None = None) -> int:
    """A segment written through the service and refreshed, as the worker would."""
    kind = SegmentKind.DYNAMIC if rule is not None else SegmentKind.STATIC
    with session_scope(url) as session:
        segment = service.create_segment(session, name=name, kind=kind, rule=rule)
        if members:
            service.add_contacts(session, segment.id, members, now=utcnow())
        service.refresh_segment(session, segment.id, now=utcnow())
        return segment.id


def _members(db: Session, segment_id: int) -> list[int]:
    return sorted(
        db.scalars(select(SegmentMember.contact_id).where(SegmentMember.segment_id == segment_id))
    )


def _builder_config(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="segment-builder-data">(.*?)</script>', page, re.S
    )
    assert match, "no builder configuration on the page"
    loaded: dict[str, Any] = json.loads(match.group(1))
    return loaded


# --- the list ------------------------------------------------------------------------------


def test_list_shows_each_segment_with_its_kind_and_size(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    # given: two contacts in Kazan, one in Perm; a dynamic and a static segment
    kazan = shop.contacts(2, city="Kazan")
    shop.contact(first_name="Pavel", city="Perm")
    city_rule = {"field": "contact.city", "op": "eq", "value": "Kazan"}
    dynamic = _segment(settings.database_url, "Kazan", rule={"all": [city_rule]})
    static = _segment(settings.database_url, "Hand-picked", members=kazan[:1])
    _login(client, make_user(Role.ANALYST))

    # when
    page = client.get("/segments")

    # then: sorted by name, with sizes as stored by the refresh (the prebuilt ones besides)
    assert page.status_code == 200
    rows = [r for r in SEGMENT_ROW.findall(page.text) if int(r[0]) in (dynamic, static)]
    assert rows == [
        (str(static), "Hand-picked", "static", "1"),
        (str(dynamic), "Kazan", "dynamic", "2"),
    ]
    by_size = SEGMENT_ROW.findall(client.get("/segments?sort=-size").text)
    assert [int(r[0]) for r in by_size if int(r[0]) in (dynamic, static)] == [dynamic, static]


def test_the_first_visit_creates_the_prebuilt_segments(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given: a fresh install with one contact signed up today
    shop.contact(first_name="Anna")
    _login(client, make_user(Role.ANALYST))

    # when
    page = client.get("/segments").text

    # then: they are listed, translated, and counted by the refresh after the response
    names = {r[1]: r[0] for r in SEGMENT_ROW.findall(page)}
    assert {"Champions", "New this month", "No consent yet"} <= set(names)
    new_this_month = db.scalars(select(Segment).where(Segment.key == "new_this_month")).one()
    assert new_this_month.size == 1


def test_list_draws_a_trend_once_two_days_of_sizes_exist(
    client: TestClient, make_user: UserFactory, db: Session, settings: Settings
) -> None:
    # given: a segment whose size went from 5 to 8 over two days
    segment_id = _segment(settings.database_url, "Growing", members=[])
    today = utcnow().date()
    db.merge(SegmentSize(segment_id=segment_id, day=today - timedelta(days=1), size=5))
    db.merge(SegmentSize(segment_id=segment_id, day=today, size=8))
    db.commit()
    _login(client, make_user(Role.ANALYST))

    # when
    page = client.get("/segments").text

    # then
    assert page.count('<svg class="sparkline"') == 1
    assert 'aria-label="From 5 to 8"' in page
    assert ">+3</span>" in page


# --- the builder ---------------------------------------------------------------------------


def test_the_builder_carries_the_engines_field_catalogue(
    client: TestClient, make_user: UserFactory
) -> None:
    # given
    _login(client, make_user(Role.MARKETER))

    # when
    config = _builder_config(client.get("/segments/new").text)

    # then: fields come grouped, with the operators of their type and labelled choices
    fields = {f["name"]: f for f in config["fields"]}
    assert fields["profile.rfm_segment"]["group"] == "profile"
    assert ["at_risk", "At Risk"] in fields["profile.rfm_segment"]["choices"]
    assert fields["contact.city"]["type"] == "string"
    assert ["eq", "is"] in config["operators"]["string"]
    assert [c[0] for c in config["channels"]] == ["email", "sms", "telegram"]
    assert config["preview_url"] == "/api/v1/segments/preview"


def test_saving_a_rule_creates_the_segment_and_counts_its_members(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given
    kazan = shop.contacts(3, city="Kazan")
    shop.contact(first_name="Pavel", city="Perm")
    _login(client, make_user(Role.MARKETER))
    rule = {"all": [{"field": "contact.city", "op": "eq", "value": "Kazan"}]}

    # when
    response = client.post(
        "/segments/new",
        data={"name": "Kazan", "description": "", "rule": json.dumps(rule)},
        follow_redirects=False,
    )

    # then: stored with its rule; the refresh after the response filled the members
    assert response.status_code == 303
    segment = db.scalars(select(Segment).where(Segment.name == "Kazan")).one()
    assert response.headers["location"] == f"/segments/{segment.id}"
    assert segment.kind == SegmentKind.DYNAMIC
    assert segment.rule == rule
    assert _members(db, segment.id) == sorted(kazan)


def test_an_invalid_rule_comes_back_with_the_error_on_its_condition(
    client: TestClient, make_user: UserFactory, db: Session
) -> None:
    # given
    _login(client, make_user(Role.MARKETER))
    rule = {
        "all": [
            {"reachable": "email"},
            {"field": "contact.shoe_size", "op": "eq", "value": "42"},
        ]
    }

    # when
    response = client.post(
        "/segments/new",
        data={"name": "Broken", "rule": json.dumps(rule)},
    )

    # then: nothing stored; the builder gets the rule back and the error's path
    assert response.status_code == 422
    assert db.scalars(select(Segment)).all() == []
    config = _builder_config(response.text)
    assert config["rule"] == rule
    assert [e["field"] for e in config["errors"]] == ["rule.all[1].field"]
    assert 'value="Broken"' in response.text


def test_a_segment_needs_a_name(client: TestClient, make_user: UserFactory, db: Session) -> None:
    _login(client, make_user(Role.MARKETER))
    response = client.post("/segments/new", data={"name": " ", "rule": '{"all": []}'})
    assert response.status_code == 422
    assert 'data-field-error="name">Give the segment a name.<' in response.text
    assert db.scalars(select(Segment)).all() == []


def test_editing_changes_the_rule_and_refreshes_the_members(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session, settings: Settings
) -> None:
    # given
    kazan = shop.contact(first_name="Anna", city="Kazan")
    perm = shop.contact(first_name="Pavel", city="Perm")
    rule = {"field": "contact.city", "op": "eq", "value": "Kazan"}
    segment_id = _segment(settings.database_url, "City", rule=rule)
    assert _members(db, segment_id) == [kazan]
    _login(client, make_user(Role.MARKETER))

    # when
    new_rule = {"any": [{"field": "contact.city", "op": "eq", "value": "Perm"}]}
    response = client.post(
        f"/segments/{segment_id}/edit",
        data={"name": "Perm", "rule": json.dumps(new_rule)},
        follow_redirects=False,
    )

    # then
    assert response.status_code == 303
    db.expire_all()
    segment = db.get(Segment, segment_id)
    assert segment is not None
    assert (segment.name, segment.rule) == ("Perm", new_rule)
    assert _members(db, segment_id) == [perm]


# --- the card ------------------------------------------------------------------------------


def test_card_members_respect_the_sales_roles_visibility(
    client: TestClient, make_user: UserFactory, shop: Shop, settings: Settings
) -> None:
    # given: three members, one owned by the seller
    seller = make_user(Role.SALES)
    mine = shop.contact(first_name="Mine", city="Kazan", owner_id=seller.id)
    others = [shop.contact(first_name=n, city="Kazan") for n in ("Other", "Third")]
    rule = {"field": "contact.city", "op": "eq", "value": "Kazan"}
    segment_id = _segment(settings.database_url, "Kazan", rule=rule)

    # when: the seller opens the card
    _login(client, seller)
    page = client.get(f"/segments/{segment_id}").text

    # then: only the seller's contact, and the size as the seller sees it
    assert [int(i) for i in MEMBER_ROW.findall(page)] == [mine]
    assert re.search(r'data-testid="segment-size">1<', page)
    assert "of 3; you see your contacts only" in page

    # when: an admin opens it
    client.post("/logout")
    _login(client, make_user(Role.ADMIN))
    page = client.get(f"/segments/{segment_id}").text

    # then: everyone
    assert sorted(int(i) for i in MEMBER_ROW.findall(page)) == sorted([mine, *others])
    assert re.search(r'data-testid="segment-size">3<', page)


def test_card_tells_the_rule_in_words_and_links_the_exports(
    client: TestClient, make_user: UserFactory, settings: Settings
) -> None:
    # given
    rule = {
        "all": [
            {"field": "profile.rfm_segment", "op": "in", "value": ["at_risk", "cant_lose"]},
            {"event": "email_click", "within_days": 30, "negate": True},
            {"reachable": "email"},
        ]
    }
    segment_id = _segment(settings.database_url, "Win-back", rule=rule)
    _login(client, make_user(Role.ANALYST))

    # when
    page = html.unescape(client.get(f"/segments/{segment_id}").text)

    # then
    assert "<li>All of these:" in page
    assert "<li>RFM segment is one of At Risk, Can't Lose</li>" in page
    assert "<li>did not do “email_click” at least 1 times in the last 30 days</li>" in page
    assert "<li>is reachable by E-mail</li>" in page
    assert f'href="/api/v1/segments/{segment_id}/export?format=csv"' in page
    assert f'href="/api/v1/segments/{segment_id}/export?format=xlsx"' in page


def test_deleting_a_segment_archives_it(
    client: TestClient, make_user: UserFactory, db: Session, settings: Settings
) -> None:
    # given
    segment_id = _segment(settings.database_url, "Old list", members=[])
    _login(client, make_user(Role.MARKETER))

    # when
    response = client.post(f"/segments/{segment_id}/delete", follow_redirects=False)

    # then
    assert (response.status_code, response.headers["location"]) == (303, "/segments")
    segment = db.get(Segment, segment_id)
    assert segment is not None
    assert segment.archived_at is not None
    assert client.get(f"/segments/{segment_id}").status_code == 404


# --- static segments -----------------------------------------------------------------------


def test_upload_creates_a_static_segment_and_reports_the_unmatched_rows(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    # given: two known people and a file naming them, a stranger and a header
    anna = shop.contact(first_name="Anna", email="anna@example.ru")
    boris = shop.contact(first_name="Boris", phone="+7 912 345-67-89")
    _login(client, make_user(Role.MARKETER))
    body = "email;note\nAnna@Example.ru;first\n8 912 345 67 89\nnobody@example.com\n"

    # when
    response = client.post(
        "/segments/new/static",
        data={"name": "Fair visitors"},
        files={"file": ("list.csv", body.encode("utf-8-sig"), "text/csv")},
    )

    # then
    assert response.status_code == 200
    segment = db.scalars(select(Segment).where(Segment.name == "Fair visitors")).one()
    assert segment.kind == SegmentKind.STATIC
    assert _members(db, segment.id) == sorted([anna, boris])
    assert UNMATCHED.findall(response.text) == ["email", "nobody@example.com"]
    assert 'data-count="listed">4<' in response.text
    assert 'data-count="added">2<' in response.text


def test_upload_without_values_is_refused(
    client: TestClient, make_user: UserFactory, db: Session
) -> None:
    _login(client, make_user(Role.MARKETER))
    response = client.post("/segments/new/static", data={"name": "Empty", "values": "\n \n"})
    assert response.status_code == 422
    assert 'data-field-error="file"' in response.text
    assert db.scalars(select(Segment)).all() == []


def test_bulk_action_adds_the_selected_contacts_to_a_static_segment(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session, settings: Settings
) -> None:
    # given
    a, b, _c = shop.contacts(3)
    segment_id = _segment(settings.database_url, "Call list", members=[a])
    _login(client, make_user(Role.MARKETER))
    assert 'data-testid="bulk-segment"' in client.get("/contacts").text

    # when
    response = client.post(
        "/contacts/bulk",
        data={"action": "segment", "segment_id": str(segment_id), "ids": [str(a), str(b)]},
    )

    # then: b joined, a stayed, c was not selected
    assert response.status_code == 200
    assert "Added to segment “Call list”: 1." in html.unescape(response.text)
    assert _members(db, segment_id) == sorted([a, b])
    db.expire_all()
    segment = db.get(Segment, segment_id)
    assert segment is not None
    assert segment.size == 2


def test_bulk_action_refuses_a_dynamic_segment(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session, settings: Settings
) -> None:
    a = shop.contact(first_name="Anna", city="Kazan")
    rule = {"field": "contact.city", "op": "eq", "value": "Perm"}
    segment_id = _segment(settings.database_url, "Perm", rule=rule)
    _login(client, make_user(Role.MARKETER))
    response = client.post(
        "/contacts/bulk", data={"action": "segment", "segment_id": str(segment_id), "ids": [a]}
    )
    assert "is dynamic" in html.unescape(response.text)
    assert _members(db, segment_id) == []


# --- permissions ---------------------------------------------------------------------------


def test_analysts_read_segments_but_change_nothing(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session, settings: Settings
) -> None:
    # given
    shop.contact(first_name="Anna")
    segment_id = _segment(settings.database_url, "List", members=[])
    _login(client, make_user(Role.ANALYST))

    # when / then: reading works, without buttons that change anything
    listing = client.get("/segments").text
    card = client.get(f"/segments/{segment_id}").text
    assert 'data-testid="new-segment"' not in listing
    assert 'data-testid="edit-segment"' not in card
    assert 'data-testid="delete-segment"' not in card
    assert 'data-testid="add-list-form"' not in card
    assert 'data-testid="export-csv"' in card
    # and every change is refused
    assert client.get("/segments/new").status_code == 403
    assert client.get(f"/segments/{segment_id}/edit").status_code == 403
    assert client.get("/segments/new/static").status_code == 403
    rule = json.dumps({"all": []})
    assert client.post("/segments/new", data={"name": "X", "rule": rule}).status_code == 403
    assert client.post(f"/segments/{segment_id}/delete").status_code == 403
    listed = client.post(f"/segments/{segment_id}/list", data={"values": "anna@example.ru"})
    assert listed.status_code == 403
    assert db.scalars(select(Segment.name).where(Segment.key.is_(None))).all() == ["List"]


def test_sales_users_get_no_static_segment_bulk_action(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session, settings: Settings
) -> None:
    # given: a seller's own contact and a static segment
    seller = make_user(Role.SALES)
    mine = shop.contact(first_name="Mine", owner_id=seller.id)
    segment_id = _segment(settings.database_url, "List", members=[])
    _login(client, seller)

    # when
    page = client.get("/contacts").text
    response = client.post(
        "/contacts/bulk",
        data={"action": "segment", "segment_id": str(segment_id), "ids": [str(mine)]},
    )

    # then
    assert 'data-testid="bulk-segment"' not in page
    assert "Your role does not allow changing segments." in response.text
    assert _members(db, segment_id) == []


def test_a_static_segment_is_edited_without_a_rule(
    client: TestClient, make_user: UserFactory, db: Session, settings: Settings
) -> None:
    # given
    segment_id = _segment(settings.database_url, "Fair", members=[])
    _login(client, make_user(Role.MARKETER))

    # when
    form = client.get(f"/segments/{segment_id}/edit").text
    response = client.post(
        f"/segments/{segment_id}/edit",
        data={"name": "Fair 2026", "description": "Visitors of the stand"},
        follow_redirects=False,
    )

    # then: no builder on the page; name and description saved, still no rule
    assert "segment-builder-data" not in form
    assert response.status_code == 303
    db.expire_all()
    segment = db.get(Segment, segment_id)
    assert segment is not None
    assert (segment.name, segment.description, segment.rule) == (
        "Fair 2026",
        "Visitors of the stand",
        None,
    )
