"""The company pages: list, card with its people and history, forms with INN checks."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.auth.models import Role, User
from retentio.companies.models import Company
from retentio.settings import Settings
from tests.conftest import UserFactory, log_in
from tests.page_factories import Shop

ROW = re.compile(r'<tr data-company-id="(\d+)"')
VALID_INN = "7707083893"
OTHER_INN = "500100732259"


@pytest.fixture
def shop(settings: Settings) -> Shop:
    return Shop(settings.database_url)


def _login(client: TestClient, user: User) -> str:
    return log_in(client, user.email)


def _ids(page: str) -> list[int]:
    return [int(i) for i in ROW.findall(page)]


def _field_error(page: str, name: str) -> str:
    match = re.search(rf'data-field-error="{name}">([^<]*)<', page)
    assert match, f"no error shown next to {name}"
    return html.unescape(match.group(1))


def test_list_searches_filters_and_sorts(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given
    romashka = shop.company("ООО «Ромашка»", inn=VALID_INN, city="Москва", industry="retail")
    vector = shop.company("АО Вектор", city="Казань", industry="logistics")
    lastochka = shop.company("Ласточка", city="Москва", industry="logistics")
    _login(client, make_user(Role.ANALYST))

    def found(**params: Any) -> list[int]:
        return _ids(client.get("/companies", params=params).text)

    # then
    assert found(q="ромашка") == [romashka]
    assert found(q="770708") == [romashka]
    assert found(city="Москва") == [lastochka, romashka]
    assert found(industry="logistics", city="Москва") == [lastochka]
    assert found() == [vector, lastochka, romashka]
    assert found(sort="-name") == [romashka, lastochka, vector]
    assert found(sort="city") == [vector, romashka, lastochka]  # ties by age


def test_list_pages_by_fifty(client: TestClient, make_user: UserFactory, shop: Shop) -> None:
    ids = [shop.company(f"Company {n:02}") for n in range(1, 52)]
    _login(client, make_user(Role.ADMIN))
    first = client.get("/companies").text
    second = client.get("/companies", params={"page": 2}).text
    assert (_ids(first), _ids(second)) == (ids[:50], ids[50:])
    assert "51–51 of 51" in second


def test_card_shows_details_people_and_history(
    client: TestClient, make_user: UserFactory, shop: Shop
) -> None:
    # given
    admin = make_user(Role.ADMIN)
    seller = make_user(Role.SALES)
    company = shop.company("ООО «Ромашка»", inn=VALID_INN)
    mine = shop.contact(first_name="Мой", company_id=company, owner_id=seller.id)
    shop.contact(first_name="Чужой", company_id=company, owner_id=admin.id)
    token = _login(client, admin)
    client.post(
        f"/companies/{company}/edit",
        data={"csrf_token": token, "name": "ООО «Ромашка»", "inn": VALID_INN, "city": "Тула"},
    )
    # when
    admin_view = html.unescape(client.get(f"/companies/{company}").text)
    client.cookies.clear()
    _login(client, seller)
    seller_view = client.get(f"/companies/{company}").text
    # then
    assert f'data-testid="inn">{VALID_INN}<' in admin_view
    assert admin_view.count("data-contact-id=") == 2
    assert re.findall(r'data-contact-id="(\d+)"', seller_view) == [str(mine)]
    history = admin_view[admin_view.index('data-testid="history"') :]
    assert 'Changes</span> <span class="muted">· ' + admin.name in history
    assert "<ins>Тула</ins>" in history
    assert "INN" not in history.split("</ol>")[0].split("Changes")[1]  # only what changed


@pytest.mark.parametrize(
    ("inn", "message"), [("7707083894", "not a valid INN"), ("12345", "not a valid INN")]
)
def test_a_bad_inn_is_shown_next_to_the_field_and_nothing_is_stored(
    client: TestClient, make_user: UserFactory, db: Session, inn: str, message: str
) -> None:
    token = _login(client, make_user(Role.MARKETER))
    response = client.post(
        "/companies/new", data={"csrf_token": token, "name": "ООО «Ромашка»", "inn": inn}
    )
    assert response.status_code == 422
    assert message in _field_error(response.text, "inn")
    assert f'value="{inn}"' in response.text
    assert db.scalar(select(func.count()).select_from(Company)) == 0


def test_a_taken_inn_and_a_missing_name_are_refused(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    shop.company("First", inn=OTHER_INN)
    token = _login(client, make_user(Role.MARKETER))
    taken = client.post("/companies/new", data={"csrf_token": token, "name": "B", "inn": OTHER_INN})
    nameless = client.post("/companies/new", data={"csrf_token": token, "name": " "})
    assert taken.status_code == 409
    assert "already has INN" in _field_error(taken.text, "inn")
    assert nameless.status_code == 422
    assert "name" in _field_error(nameless.text, "name")
    assert db.scalar(select(func.count()).select_from(Company)) == 1


def test_create_and_edit_through_the_forms(
    client: TestClient, make_user: UserFactory, db: Session
) -> None:
    # given
    token = _login(client, make_user(Role.SALES))
    # when
    created = client.post(
        "/companies/new",
        data={"csrf_token": token, "name": "ООО «Ромашка»", "inn": VALID_INN, "size": "11-50"},
        follow_redirects=False,
    )
    company = db.scalars(select(Company)).one()
    form = client.get(f"/companies/{company.id}/edit").text
    client.post(
        f"/companies/{company.id}/edit",
        data={"csrf_token": token, "name": "ООО «Ромашка плюс»", "size": "11-50"},
    )
    # then
    assert created.headers["location"] == f"/companies/{company.id}"
    assert f'value="{VALID_INN}"' in form
    db.refresh(company)
    assert (company.name, company.inn, company.size) == ("ООО «Ромашка плюс»", None, "11-50")


def test_analyst_cannot_change_companies(
    client: TestClient, make_user: UserFactory, shop: Shop, db: Session
) -> None:
    company = shop.company("Kept")
    token = _login(client, make_user(Role.ANALYST))
    assert "new-company" not in client.get("/companies").text
    assert "edit-company" not in client.get(f"/companies/{company}").text
    responses = [
        client.get("/companies/new"),
        client.post("/companies/new", data={"csrf_token": token, "name": "X"}),
        client.post(f"/companies/{company}/edit", data={"csrf_token": token, "name": "X"}),
        client.post(f"/companies/{company}/delete", data={"csrf_token": token}),
    ]
    assert [r.status_code for r in responses] == [403] * 4
    assert db.scalars(select(Company.name)).all() == ["Kept"]


def test_delete_hides_the_company(client: TestClient, make_user: UserFactory, shop: Shop) -> None:
    company = shop.company("Gone")
    token = _login(client, make_user(Role.MARKETER))
    response = client.post(
        f"/companies/{company}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/companies")
    assert _ids(client.get("/companies").text) == []
    assert client.get(f"/companies/{company}").status_code == 404
