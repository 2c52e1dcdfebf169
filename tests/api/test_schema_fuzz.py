"""Every operation of the OpenAPI schema, fuzzed with schemathesis as an admin holding an API
token, against a small demo shop: no 5xx, responses match their declared schema and status.

Examples are bounded and derandomised so the run takes the same (short) time in CI on both
engines; a failure reproduces with the same command.
"""

from __future__ import annotations

from datetime import date

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from sqlalchemy import text

from retentio.auth import service as auth_service
from retentio.auth.models import Role
from retentio.db import get_engine, session_scope
from retentio.demo.build import build_demo
from retentio.settings import Settings
from tests.conftest import _empty_all_tables

EXAMPLES = 15
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Operations that remove or retire rows: after one of them the shop is rebuilt, so the
# operations that follow still find the rows they aim at.
DESTRUCTIVE_SUFFIXES = ("/erase", "/archive", "/merge", "/cancel", "/rotate-key")

# Path parameters that name a row, and the table they name.
ID_TABLES = {
    "contact_id": "contacts",
    "company_id": "companies",
    "order_id": "orders",
    "product_id": "products",
    "field_id": "custom_field_definitions",
    "source_id": "sources",
    "form_id": "web_forms",
    "mapping_id": "import_mappings",
    "schedule_id": "scheduled_imports",
    "job_id": "import_jobs",
    "segment_id": "segments",
    "campaign_id": "campaigns",
    "journey_id": "journeys",
    "survey_id": "surveys",
    "ticket_id": "tickets",
    "tier_id": "loyalty_tiers",
    "topic_id": "topics",
    "account_id": "sending_accounts",
    "pipeline_id": "pipelines",
    "deal_id": "deals",
    "lead_id": "leads",
    "task_id": "activities",
    "user_id": "users",
    "token_id": "api_tokens",
}


class FuzzShop:
    """A demo shop of a few dozen customers plus the rows the demo lacks (a campaign, a deal,
    a lead, a survey, a ticket), an admin's API token, and the ids to aim path parameters at."""

    def __init__(self, url: str, app: FastAPI) -> None:
        self.url = url
        self.app = app
        self.token = ""
        self.admin_id = self.token_id = 0
        self.ids: dict[str, list[int]] = {}

    def build(self) -> None:
        _empty_all_tables(self.url)
        with session_scope(self.url) as session:
            build_demo(
                session,
                customers=40,
                seed=7,
                admin_password="fuzz-password-1",
                today=date(2026, 3, 1),
            )
            admin = auth_service.create_user(
                session, email="fuzz@example.com", name="Fuzz", role=Role.ADMIN, password="x" * 12
            )
            row, self.token = auth_service.create_token(session, admin, name="fuzz")
            auth_service.create_token(session, admin, name="spare")
            self.admin_id, self.token_id = admin.id, row.id
        with TestClient(self.app, headers=self.headers) as client:
            self._extras(client)
        self.ids = self._ids()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _extras(self, client: TestClient) -> None:
        segment = client.get("/api/v1/segments").json()[0]["id"]
        account = client.get("/api/v1/messaging/accounts").json()[0]["id"]
        contact = client.get("/api/v1/contacts").json()["items"][0]["id"]
        pipeline = client.get("/api/v1/pipelines").json()[0]["id"]
        created = [
            client.post(
                "/api/v1/campaigns",
                json={
                    "name": "Весна",
                    "account_id": account,
                    "segment_id": segment,
                    "variants": [{"label": "A", "content": {"subject": "Весна", "text": "!"}}],
                },
            ),
            client.post(
                "/api/v1/deals",
                json={"title": "Поставка", "pipeline_id": pipeline, "contact_id": contact},
            ),
            client.post("/api/v1/leads", json={"title": "Заявка", "email": "lead@example.com"}),
            client.post(
                "/api/v1/feedback/surveys", json={"kind": "nps", "name": "NPS", "question": "?"}
            ),
            client.post("/api/v1/tickets", json={"subject": "Где заказ?", "contact_id": contact}),
        ]
        for response in created:
            assert response.status_code in (200, 201), response.text

    def _ids(self) -> dict[str, list[int]]:
        with get_engine(self.url).connect() as connection:
            ids = {
                name: list(connection.scalars(text(f"SELECT id FROM {table} ORDER BY id")))  # noqa: S608 - names from ID_TABLES
                for name, table in ID_TABLES.items()
            }
        # Never the fuzzing admin or its token: demoting or revoking them would turn every
        # later example into a 401. Other users and a spare token stand in.
        ids["user_id"] = [i for i in ids["user_id"] if i != self.admin_id]
        ids["token_id"] = [i for i in ids["token_id"] if i != self.token_id]
        return ids

    def aim(self, case: schemathesis.Case) -> None:
        """Point id parameters at real rows for two examples in three; the third keeps the
        generated value, so unknown ids are exercised too."""
        for name, value in (case.path_parameters or {}).items():
            rows = self.ids.get(name)
            if rows and isinstance(value, int) and value % 3:
                case.path_parameters[name] = rows[value % len(rows)]


def _destructive(label: str) -> bool:
    method, path = label.split(" ", 1)
    return method == "DELETE" or path.endswith(DESTRUCTIVE_SUFFIXES)


@pytest.fixture
def fuzz_shop(app: FastAPI, settings: Settings) -> FuzzShop:
    shop = FuzzShop(settings.database_url, app)
    shop.build()
    return shop


def _operations(app: FastAPI) -> list[APIOperation]:
    """Every operation, the destructive ones last (each of them is followed by a rebuild)."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda operation: _destructive(operation.label))


def _fuzz(operation: APIOperation, shop: FuzzShop) -> None:
    """Bounded and derandomised; no shrinking phase, so a failure costs no extra time."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=operation.as_strategy())
    def run(case: schemathesis.Case) -> None:
        shop.aim(case)
        case.call_and_validate(headers=shop.headers, checks=CHECKS)

    run()


def test_every_operation_answers_within_its_schema(app: FastAPI, fuzz_shop: FuzzShop) -> None:
    # given the shop and every operation of the schema
    failures = []
    for operation in _operations(app):
        # when each is fuzzed (the shop rebuilt after a destructive one)
        try:
            _fuzz(operation, fuzz_shop)
        # Collected, not raised: one run lists every failing operation.
        except (Exception, BaseExceptionGroup) as error:
            failures.append(f"{operation.label}: {error}")
        if _destructive(operation.label):
            fuzz_shop.build()
    # then no check failed
    assert failures == [], "\n\n".join(failures)
