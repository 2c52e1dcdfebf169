"""The sales pages: the board with its columns, cards and funnel, the move route (form and
JSON), the deal list, card and form, leads and conversion, my tasks, and pipeline settings —
with what each role may see and do."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from retentio.activities.models import Activity
from retentio.auth.models import Role
from retentio.db import utcnow
from retentio.sales.models import Deal, DealStageChange, Lead, LeadStatus, Pipeline
from tests.sales.conftest import Sales


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_board_shows_each_stage_with_its_count_sum_and_cards(sales: Sales) -> None:
    # given two deals in the first stage, one of them with an open task
    seller = sales.user(Role.SALES)
    now = utcnow()
    first = sales.deal("Поставка столов", owner_id=seller.id, amount="1000", at=now)
    sales.deal("Поставка стульев", owner_id=seller.id, amount="500", at=now)
    sales.task(owner_id=seller.id, deal_id=first)

    # when the seller opens the board
    response = sales.client(seller).get("/deals")

    # then the first column counts both with their sum, and only the second is flagged
    assert response.status_code == 200
    column = response.text.split(f'data-testid="column-{sales.pipeline.first}"')[1]
    column = column.split('data-testid="column-')[0]
    assert "<span data-column-count>2</span>" in column
    assert "Поставка столов" in column
    assert "Поставка стульев" in column
    assert f'data-testid="no-task-{first}"' not in response.text
    assert response.text.count('data-testid="no-task-') == 1
    # and the funnel counts both as having reached the first stage
    assert f'data-testid="reached-{sales.pipeline.first}">2<' in response.text


def test_a_sales_user_sees_only_their_deals_on_the_board(sales: Sales) -> None:
    # given a deal of another seller
    seller, other = sales.user(Role.SALES), sales.user(Role.SALES)
    sales.deal("Чужая сделка", owner_id=other.id, at=utcnow())

    # when the seller opens the board, and the other's deal card
    client = sales.client(seller)
    board = client.get("/deals")

    # then the deal is not there, and its card is a 404 page
    assert board.status_code == 200
    assert "Чужая сделка" not in board.text
    deal_id = sales.deal("Ещё одна", owner_id=other.id, at=utcnow())
    assert client.get(f"/deals/{deal_id}").status_code == 404


def test_the_move_form_moves_the_deal_and_redirects_to_the_board(sales: Sales, db: Session) -> None:
    # given a deal in the first stage
    deal_id = sales.deal("Поставка", at=utcnow())
    client = sales.client(sales.admin)
    token = _csrf(client.get("/deals").text)

    # when the keyboard's form posts the second stage
    second = sales.pipeline.stages[1]
    response = client.post(
        f"/deals/{deal_id}/move",
        data={"csrf_token": token, "stage_id": second, "version": 1, "next": "/deals"},
        follow_redirects=False,
    )

    # then it is moved, with a history row, and the browser goes back to the board
    assert response.status_code == 303
    assert response.headers["location"] == "/deals"
    deal = db.get(Deal, deal_id)
    assert deal is not None
    assert (deal.stage_id, deal.version) == (second, 2)
    changes = db.scalars(
        select(DealStageChange.to_stage_id)
        .where(DealStageChange.deal_id == deal_id)
        .order_by(DealStageChange.id)
    ).all()
    assert list(changes) == [sales.pipeline.first, second]


def test_a_stale_version_is_a_409_for_the_board_script(sales: Sales) -> None:
    # given a deal someone moved after the board was shown
    deal_id = sales.deal("Поставка", at=utcnow())
    sales.move(deal_id, sales.pipeline.stages[1], at=utcnow())
    client = sales.client(sales.admin)

    # when the board's script drops it with the version it saw
    response = client.post(
        f"/deals/{deal_id}/move",
        data={"stage_id": sales.pipeline.stages[2], "version": 1},
        headers={"Accept": "application/json"},
    )

    # then the answer is 409 stale_deal
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "stale_deal"


def test_the_board_script_gets_the_new_version(sales: Sales) -> None:
    deal_id = sales.deal("Поставка", at=utcnow())
    client = sales.client(sales.admin)

    response = client.post(
        f"/deals/{deal_id}/move",
        data={"stage_id": sales.pipeline.stages[1], "version": 1},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200
    assert response.json() == {"id": deal_id, "stage_id": sales.pipeline.stages[1], "version": 2}


def test_moving_to_lost_without_a_reason_sends_the_form_to_the_card(sales: Sales) -> None:
    deal_id = sales.deal("Поставка", at=utcnow())
    client = sales.client(sales.admin)
    token = _csrf(client.get("/deals").text)

    response = client.post(
        f"/deals/{deal_id}/move",
        data={"csrf_token": token, "stage_id": sales.pipeline.lost, "version": 1},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/deals/{deal_id}#move"


def test_an_analyst_reads_the_board_but_may_not_move(sales: Sales) -> None:
    deal_id = sales.deal("Поставка", at=utcnow())
    client = sales.client(sales.user(Role.ANALYST))

    board = client.get("/deals")
    response = client.post(
        f"/deals/{deal_id}/move",
        data={"stage_id": sales.pipeline.stages[1], "version": 1},
        headers={"Accept": "application/json"},
    )

    assert board.status_code == 200
    assert "data-move-form" not in board.text
    assert response.status_code == 403


def test_the_deal_card_shows_the_stage_history_and_tasks(sales: Sales) -> None:
    # given a deal moved once an hour after creation, with an open task
    now = utcnow()
    deal_id = sales.deal("Поставка", at=now - timedelta(hours=3))
    sales.move(deal_id, sales.pipeline.stages[1], at=now - timedelta(hours=2))
    sales.task("Позвонить клиенту", owner_id=sales.admin.id, deal_id=deal_id)

    # when the card is opened
    response = sales.client(sales.admin).get(f"/deals/{deal_id}")

    # then the history lists both stays, the first an hour long, and the task is listed
    assert response.status_code == 200
    rows = re.findall(r'data-testid="stay-(\d+)"[^>]*data-seconds="(\d+)"', response.text)
    assert rows[0] == (str(sales.pipeline.first), "3600")
    assert rows[1][0] == str(sales.pipeline.stages[1])
    assert "Позвонить клиенту" in response.text


def test_a_task_is_added_and_completed_from_the_deal_card(sales: Sales, db: Session) -> None:
    deal_id = sales.deal("Поставка", at=utcnow())
    client = sales.client(sales.admin)
    token = _csrf(client.get(f"/deals/{deal_id}").text)

    added = client.post(
        f"/deals/{deal_id}/tasks",
        data={"csrf_token": token, "title": "Отправить КП", "kind": "email", "due_at": ""},
        follow_redirects=False,
    )
    task = db.scalars(select(Activity).where(Activity.deal_id == deal_id)).one()
    done = client.post(
        f"/tasks/{task.id}/done",
        data={"csrf_token": token, "next": f"/deals/{deal_id}"},
        follow_redirects=False,
    )

    assert added.status_code == 303
    assert (task.title, task.owner_id) == ("Отправить КП", sales.admin.id)
    assert done.headers["location"] == f"/deals/{deal_id}"
    db.expire_all()
    assert db.get(Activity, task.id).done_at is not None  # type: ignore[union-attr]


def test_a_deal_is_created_and_edited_through_the_form(sales: Sales, db: Session) -> None:
    client = sales.client(sales.admin)
    token = _csrf(client.get("/deals/new").text)

    created = client.post(
        "/deals/new",
        data={
            "csrf_token": token,
            "title": "Новая сделка",
            "pipeline_id": sales.pipeline.id,
            "amount": "1500",
            "currency": "RUB",
        },
        follow_redirects=False,
    )
    deal = db.scalars(select(Deal).where(Deal.title == "Новая сделка")).one()
    edited = client.post(
        f"/deals/{deal.id}/edit",
        data={
            "csrf_token": token,
            "title": "Новая сделка (правка)",
            "pipeline_id": sales.pipeline.id,
            "stage_id": deal.stage_id,
            "amount": "2500",
            "currency": "RUB",
        },
        follow_redirects=False,
    )

    assert created.headers["location"] == f"/deals/{deal.id}"
    assert edited.headers["location"] == f"/deals/{deal.id}"
    db.expire_all()
    assert (deal.title, str(deal.amount), deal.stage_id) == (
        "Новая сделка (правка)",
        "2500.00",
        sales.pipeline.first,
    )


def test_the_deal_list_filters_by_text_and_status(sales: Sales) -> None:
    sales.deal("Поставка столов", at=utcnow())
    won = sales.deal("Поставка стульев", at=utcnow())
    sales.move(won, sales.pipeline.won, at=utcnow())
    client = sales.client(sales.admin)

    by_text = client.get("/deals/list", params={"q": "стол"})
    by_status = client.get("/deals/list", params={"status": "won"})

    assert re.findall(r'data-deal-row="\d+">\s*<td><a[^>]*>([^<]+)<', by_text.text) == [
        "Поставка столов"
    ]
    assert re.findall(r'data-deal-row="(\d+)"', by_status.text) == [str(won)]


def test_leads_list_filters_by_status(sales: Sales, db: Session) -> None:
    sales.lead("Заявка 1", name="Анна")
    junk = sales.lead("Заявка 2", name="Борис")
    db.get(Lead, junk).status = LeadStatus.JUNK  # type: ignore[union-attr]
    db.commit()

    response = sales.client(sales.admin).get("/leads", params={"status": "junk"})

    assert re.findall(r'data-lead-row="(\d+)"', response.text) == [str(junk)]


def test_a_known_person_s_lead_is_attached_to_their_contact(sales: Sales, db: Session) -> None:
    # given a contact with an open deal, and a lead with their e-mail
    contact_id = sales.contact(email="anna@example.org")
    open_deal = sales.deal("Открытая", contact_id=contact_id, at=utcnow())
    lead_id = sales.lead("Заявка", name="Анна", email="anna@example.org")
    client = sales.client(sales.admin)

    # when the card is opened, it offers the contact and the open deal
    card = client.get(f"/leads/{lead_id}")
    assert f'data-testid="duplicate-contact-{contact_id}"' in card.text
    assert f'data-testid="duplicate-deal-{open_deal}"' in card.text

    # and converting attaches to them
    response = client.post(
        f"/leads/{lead_id}/convert",
        data={"csrf_token": _csrf(card.text), "contact_id": contact_id, "deal_id": open_deal},
        follow_redirects=False,
    )

    # then the browser goes to that deal, and the lead is converted into it
    assert response.headers["location"] == f"/deals/{open_deal}"
    lead = db.get(Lead, lead_id)
    assert lead is not None
    assert (lead.status, lead.contact_id, lead.deal_id) == (
        LeadStatus.CONVERTED,
        contact_id,
        open_deal,
    )


def test_my_tasks_lists_overdue_first(sales: Sales) -> None:
    seller = sales.user(Role.SALES)
    now = utcnow()
    later = sales.task("Потом", owner_id=seller.id, due_at=now + timedelta(days=2))
    late = sales.task("Просрочено", owner_id=seller.id, due_at=now - timedelta(days=1))
    sales.task("Чужая", owner_id=sales.admin.id, due_at=now - timedelta(days=3))

    response = sales.client(seller).get("/tasks/my")

    assert re.findall(r'data-task-row="(\d+)"', response.text) == [str(late), str(later)]


def test_pipeline_settings_rename_a_stage_and_add_a_lost_reason(sales: Sales, db: Session) -> None:
    pipeline_id = sales.pipeline.id
    client = sales.client(sales.admin)
    form = client.get(f"/settings/pipelines/{pipeline_id}").text
    names = re.findall(r'name="stage_name" value="([^"]*)"', form)
    ids = re.findall(r'name="stage_id" value="([^"]*)"', form)
    names[0] = "Входящие"

    saved = client.post(
        f"/settings/pipelines/{pipeline_id}",
        data={
            "csrf_token": _csrf(form),
            "name": "Продажи",
            "stage_id": ids,
            "stage_name": names,
            "stage_probability": ["10"] * len(names),
            "stage_kind": ["open"] * 4 + ["won", "lost"] + ["open"] * (len(names) - 6),
            "stage_order": [str(i) for i in range(len(names))],
        },
        follow_redirects=False,
    )
    reason = client.post(
        "/settings/pipelines/lost-reasons",
        data={"csrf_token": _csrf(form), "name": "Сорвались сроки"},
        follow_redirects=False,
    )

    assert saved.status_code == 303
    assert reason.status_code == 303
    page = client.get("/settings/pipelines").text
    assert "Входящие" in page
    assert "Сорвались сроки" in page
    assert db.get(Pipeline, pipeline_id) is not None


def test_only_settings_managers_edit_pipelines(sales: Sales) -> None:
    response = sales.client(sales.user(Role.SALES)).get("/settings/pipelines")

    assert response.status_code == 403
