"""Rate limits that hold across web processes: public endpoints counted in Redis, login
failures in the database; and a Redis outage that leaves the public endpoints open."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from retentio.app import create_app
from retentio.auth.models import Role
from retentio.settings import Settings
from retentio.web.security import PublicRateLimit
from tests.conftest import TEST_PASSWORD, UserFactory, csrf_from
from tests.processes import free_port, redis_server

# 40 s into a one-minute window.
WALL_CLOCK = 60 * 1_000_000 + 20.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _limited_app(settings: Settings, wall_clock: FakeClock) -> Starlette:
    """One web process: a public endpoint behind the rate limit."""

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/{path:path}", ok, methods=["POST"])])
    inner.state.settings = settings
    inner.add_middleware(PublicRateLimit, clock=FakeClock(0.0), wall_clock=wall_clock)
    return inner


def test_two_processes_share_the_public_limit_through_redis(
    settings: Settings, tmp_path: Path
) -> None:
    with redis_server(tmp_path) as url:
        # given two web processes sharing a Redis, and a limit of 2 a minute
        limited = settings.model_copy(update={"public_rate_per_minute": 2, "redis_url": url})
        wall_clock = FakeClock(WALL_CLOCK)
        first = TestClient(_limited_app(limited, wall_clock))
        second = TestClient(_limited_app(limited, wall_clock))
        with first, second:
            # when one client posts twice to the first and once more to the second
            codes = [first.post("/collect").status_code for _ in range(2)]
            refused = second.post("/collect")
            # then the third post is refused, saying when the window ends
            assert codes == [200, 200]
            assert refused.status_code == 429
            assert refused.headers["Retry-After"] == "40"
            # and another endpoint has a count of its own
            assert second.post("/u/token").status_code == 200
            # when the next window starts, then the client may post again, to either process
            wall_clock.now += 40
            assert first.post("/collect").status_code == 200


def test_a_redis_outage_leaves_the_limit_in_memory_and_logs_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # given a Redis URL on which nothing answers, and a limit of 2 a minute
    down = f"redis://127.0.0.1:{free_port()}/0"
    limited = settings.model_copy(update={"public_rate_per_minute": 2, "redis_url": down})
    # when a client posts three times
    with (
        caplog.at_level(logging.WARNING, logger="retentio.web.security"),
        TestClient(_limited_app(limited, FakeClock(WALL_CLOCK))) as client,
    ):
        codes = [client.post("/collect").status_code for _ in range(3)]
    # then visitors are not locked out: the process's own bucket counts instead
    assert codes == [200, 200, 429]
    # and the outage is said once, not once per request
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("Public rate limits fall back to this process's memory")


def test_two_app_instances_share_the_login_lockout(
    settings: Settings, make_user: UserFactory
) -> None:
    # given an account, and two web processes (the test settings lock after 3 failures)
    user = make_user(Role.ADMIN)
    first = TestClient(create_app(settings), base_url="http://testserver")
    second = TestClient(create_app(settings), base_url="http://testserver")
    with first, second:
        forms = [
            {"email": user.email, "password": "wrong", "csrf_token": csrf_from(c)}
            for c in (first, second)
        ]
        # when someone guesses twice on one process and once on the other
        codes = [
            first.post("/login", data=forms[0]).status_code,
            first.post("/login", data=forms[0]).status_code,
            second.post("/login", data=forms[1]).status_code,
        ]
        # then the right password is refused on both: the failures were counted together
        right = [
            client.post("/login", data={**form, "password": TEST_PASSWORD}).status_code
            for client, form in ((first, forms[0]), (second, forms[1]))
        ]
    assert codes == [401, 401, 401]
    assert right == [429, 429]
