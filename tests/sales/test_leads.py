"""Leads through the API: intake (idempotent by external id, repeat sales), web-form intake,
status, duplicates and conversion — a known person is never created twice."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from retentio.commerce.models import OrderStatus
from retentio.companies.models import Company
from retentio.contacts.models import Contact
from retentio.db import session_scope
from retentio.forms import service as forms
from retentio.forms.schemas import FormIn, SubmissionIn
from retentio.sales.models import Lead
from tests.sales.conftest import REGION, START, Sales


def _contacts(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Contact)) or 0


def test_converting_a_new_person_makes_a_contact_a_company_and_a_deal(
    sales: Sales, db: Session
) -> None:
    # given a lead from someone unknown
    user = sales.user()
    client = sales.client(user)
    lead = sales.lead(
        name="Анна Иванова",
        email="anna@example.ru",
        company_name="ООО Ромашка",
        source="yandex",
        owner_id=user.id,
    )
    # when it is converted
    response = client.post(f"/api/v1/leads/{lead}/convert", json={"amount": "5000"})
    # then a new contact with the lead's name and company, and a deal for them, exist
    assert response.status_code == 201, response.text
    deal = response.json()
    contact = db.get(Contact, deal["contact_id"])
    assert contact is not None
    assert (contact.first_name, contact.last_name, contact.email) == (
        "Анна",
        "Иванова",
        "anna@example.ru",
    )
    company = db.get(Company, deal["company_id"])
    assert company is not None
    assert company.name == "ООО Ромашка"
    assert contact.company_id == company.id
    assert (deal["title"], Decimal(deal["amount"]), deal["owner_id"], deal["source"]) == (
        "Заявка с сайта",
        Decimal("5000"),
        user.id,
        "yandex",
    )
    assert (deal["pipeline_id"], deal["stage_id"]) == (sales.pipeline.id, sales.pipeline.first)
    read = client.get(f"/api/v1/leads/{lead}").json()
    assert (read["status"], read["contact_id"], read["deal_id"]) == (
        "converted",
        contact.id,
        deal["id"],
    )
    again = client.post(f"/api/v1/leads/{lead}/convert", json={})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_converted")


def test_converting_a_known_person_lists_the_duplicates_then_attaches(
    sales: Sales, db: Session
) -> None:
    # given a known contact with an open deal, and two leads from the same e-mail
    contact = sales.contact(email="boris@example.ru", first_name="Борис")
    open_deal = sales.deal("Первая сделка", contact_id=contact)
    first = sales.lead(name="Борис", email="Boris@Example.ru")
    second = sales.lead(name="Борис", email="boris@example.ru", title="Ещё заявка")
    client = sales.client(sales.admin)
    before = _contacts(db)
    # when the first is converted without choosing
    refused = client.post(f"/api/v1/leads/{first}/convert", json={})
    # then 409 lists the contact and their open deal, and nothing is written
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "duplicates_found"
    assert error["details"] == {
        "field": "contact_id",
        "contacts": [contact],
        "open_deals": [open_deal],
    }
    assert client.get(f"/api/v1/leads/{first}/duplicates").json() == {
        "contacts": [contact],
        "open_deals": [open_deal],
    }
    # when it is converted onto the contact: a new deal of theirs
    onto_contact = client.post(f"/api/v1/leads/{first}/convert", json={"contact_id": contact})
    assert onto_contact.status_code == 201, onto_contact.text
    assert onto_contact.json()["contact_id"] == contact
    assert onto_contact.json()["id"] not in (open_deal,)
    # when the second is converted onto the open deal: that deal, no new one
    onto_deal = client.post(
        f"/api/v1/leads/{second}/convert", json={"contact_id": contact, "deal_id": open_deal}
    )
    assert onto_deal.status_code == 201, onto_deal.text
    assert onto_deal.json()["id"] == open_deal
    # then no second contact was created
    assert _contacts(db) == before
    assert client.get(f"/api/v1/leads/{second}").json()["deal_id"] == open_deal


def test_a_lead_from_a_past_buyer_is_a_repeat_sale(sales: Sales) -> None:
    # given a contact who bought, and one whose only order was cancelled
    buyer = sales.contact(email="buyer@example.ru")
    sales.order(buyer)
    cancelled = sales.contact(phone="+79120000001")
    sales.order(cancelled, status=OrderStatus.CANCELLED)
    client = sales.client(sales.admin)
    # when leads arrive from both and from a stranger
    leads = [
        client.post("/api/v1/leads", json={"title": "Повтор", "email": "BUYER@example.ru"}),
        client.post("/api/v1/leads", json={"title": "Отмена", "phone": "8 912 000-00-01"}),
        client.post("/api/v1/leads", json={"title": "Новый", "email": "new@example.ru"}),
    ]
    # then only the buyer's is a repeat sale; known people are linked
    assert [r.status_code for r in leads] == [201, 201, 201]
    assert [(r.json()["is_repeat"], r.json()["contact_id"]) for r in leads] == [
        (True, buyer),
        (False, cancelled),
        (False, None),
    ]


def test_api_intake_is_idempotent_by_external_id(sales: Sales, db: Session) -> None:
    # given a lead sent by an integration
    client = sales.client(sales.admin)
    body = {"title": "Звонок", "phone": "+79120000002", "external_id": "calltrack-17"}
    first = client.post("/api/v1/leads", json=body)
    # when the integration retries
    second = client.post("/api/v1/leads", json={**body, "title": "Повтор"})
    # then it is the same lead
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["title"] == "Звонок"
    assert db.scalar(select(func.count()).select_from(Lead)) == 1


def test_a_lead_for_an_unknown_owner_is_refused_by_its_field(sales: Sales, db: Session) -> None:
    # given an owner id that names no user
    client = sales.client(sales.admin)
    # when a lead is sent for that owner
    response = client.post("/api/v1/leads", json={"title": "Звонок", "name": "Ия", "owner_id": 999})
    # then it is refused by its field, and nothing is stored
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "owner_id", "message": "owner_id: 999 does not exist."}
    ]
    assert db.scalar(select(func.count()).select_from(Lead)) == 0


def test_leads_are_listed_with_filters_and_change_status(sales: Sales) -> None:
    # given three leads from two sources
    junk = sales.lead("Спам", email="spam@example.ru", source="form")
    call = sales.lead("Звонок", phone="+79120000003", source="phone")
    sales.lead("Письмо", email="mail@example.ru", source="form")
    client = sales.client(sales.admin)
    # when one is marked junk
    marked = client.post(f"/api/v1/leads/{junk}/status", json={"status": "junk"})
    assert (marked.status_code, marked.json()["status"]) == (200, "junk")
    # then the filters find what they say
    new_from_forms = client.get("/api/v1/leads", params={"status": "new", "source": "form"})
    assert [lead["title"] for lead in new_from_forms.json()["items"]] == ["Письмо"]
    found = client.get("/api/v1/leads", params={"q": "звон"}).json()
    assert (found["total"], [lead["id"] for lead in found["items"]]) == (1, [call])
    converted = client.post(f"/api/v1/leads/{call}/status", json={"status": "converted"})
    assert (converted.status_code, converted.json()["error"]["code"]) == (409, "already_converted")


def test_a_web_form_submission_becomes_a_lead_with_its_utm(sales: Sales) -> None:
    # given a form asking for e-mail, name and phone
    form_in = FormIn.model_validate(
        {
            "name": "Заявка на расчёт",
            "fields": [
                {
                    "name": "email",
                    "label": "E-mail",
                    "maps_to": "email",
                    "kind": "email",
                    "required": True,
                },
                {"name": "name", "label": "Имя", "maps_to": "first_name"},
                {"name": "phone", "label": "Телефон", "maps_to": "phone", "kind": "tel"},
            ],
        }
    )
    with session_scope(sales.url) as session:
        form = forms.create_form(session, form_in, actor_id=None)
        form_id = form.id
        # when a visitor from an ad submits it
        forms.submit(
            session,
            form,
            SubmissionIn(
                values={"email": "Vera@Example.ru", "name": "Вера", "phone": "8 912 000-00-04"},
                campaign={"source": "yandex", "medium": "cpc", "name": "spring"},
            ),
            ip=None,
            user_agent="test",
            default_region=REGION,
            now=START,
        )
    # then one lead carries the form, the person and the UTM
    client = sales.client(sales.admin)
    leads = client.get("/api/v1/leads").json()["items"]
    assert len(leads) == 1
    lead = leads[0]
    assert (lead["title"], lead["form_id"], lead["source"], lead["status"]) == (
        "Заявка на расчёт",
        form_id,
        "form",
        "new",
    )
    assert (lead["name"], lead["email"], lead["phone"]) == (
        "Вера",
        "vera@example.ru",
        "+79120000004",
    )
    assert lead["utm"] == {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "spring"}
    # and converting it attaches to the contact the form made, without asking
    deal = client.post(f"/api/v1/leads/{lead['id']}/convert", json={})
    assert deal.status_code == 201, deal.text
    with session_scope(sales.url) as session:
        contacts = session.scalars(select(Contact.id).where(Contact.email == "vera@example.ru"))
        assert deal.json()["contact_id"] == lead["contact_id"]
        assert contacts.all() == [lead["contact_id"]]
