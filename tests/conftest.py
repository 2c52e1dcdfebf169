"""Shared fixtures: a real database (SQLite by default, PostgreSQL when
RETENTIO_TEST_DATABASE_URL names one), the app, clients and factories.

The same tests run on both engines; `make test` runs the suite once for each.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from huey import SqliteHuey
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from starlette.types import ASGIApp

from retentio import migrate
from retentio.app import create_app
from retentio.auth import passwords
from retentio.auth import service as auth_service
from retentio.auth.models import Role, User
from retentio.db import get_engine, is_sqlite, session_scope
from retentio.models_registry import Base
from retentio.settings import Settings, get_settings
from retentio.worker import huey

# The tests' receiving servers listen on 127.0.0.1 (env, so code outside an app sees it too).
os.environ.setdefault("RETENTIO_ALLOW_PRIVATE_TARGETS", "1")
get_settings.cache_clear()  # the imports above already read the settings once
TEST_PASSWORD = "correct horse battery"
T = TypeVar("T")


def run_in_own_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """`asyncio.run(main())` in a thread of its own: the browser tests' Playwright (sync API)
    keeps an event loop running in the main thread for the rest of the session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2id at its production cost takes ~0.1 s a hash; tests create hundreds of users.
    The format ($argon2id$) and the rehash-on-login logic are the same at any cost."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    passwords._hasher = original


@pytest.fixture(autouse=True, scope="session")
def _queue_in_a_temporary_file(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Jobs that tests enqueue without running them land in a queue of their own, not in the
    developer's `retentio-data/queue.db` (which `retentio serve` would then run)."""
    if isinstance(huey, SqliteHuey):
        huey.storage_kwargs["filename"] = str(tmp_path_factory.mktemp("queue") / "queue.db")
        huey.storage = huey.create_storage()


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def _create_pg_database(server_url: str) -> str:
    """A fresh, uniquely named database on the given PostgreSQL server."""
    name = f"retentio_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(server_url: str, url: str) -> None:
    get_engine(url).dispose()
    name = make_url(url).database
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def fresh_database_url(folder: Path) -> Iterator[str]:
    """An empty database on the engine under test, removed afterwards."""
    server_url = os.environ.get("RETENTIO_TEST_DATABASE_URL", "")
    if not server_url or is_sqlite(server_url):
        yield f"sqlite:///{folder / f'retentio-{uuid.uuid4().hex[:8]}.db'}"
        return
    url = _create_pg_database(server_url)
    try:
        yield url
    finally:
        _drop_pg_database(server_url, url)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database_url(tmp_path_factory.mktemp("db")) as url:
        migrate.upgrade(url)
        yield url


def _empty_all_tables(url: str) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with get_engine(url).begin() as connection:
        if is_sqlite(url):
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - table names from metadata
        else:
            quoted = ", ".join(f'"{t}"' for t in tables)
            connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    _empty_all_tables(database_url)
    return _test_settings(database_url, tmp_path)


def _test_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        login_max_failures=3,
        login_ip_max_failures=50,
        login_lockout_seconds=600,
        # Tests that send "now" run at any hour: quiet hours are tested with a frozen clock.
        quiet_hours="",
    )


@pytest.fixture(scope="session")
def _shared_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """Building the app costs ~0.3 s (FastAPI analyses every route): build it once."""
    return create_app(_test_settings(database_url, tmp_path_factory.mktemp("app")))


@pytest.fixture
def app(_shared_app: FastAPI, settings: Settings) -> FastAPI:
    # Everything reads settings from app.state per request, so each test gets its own.
    _shared_app.state.settings = settings
    return _shared_app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def db(settings: Settings) -> Iterator[Session]:
    """A session in autocommit mode: every query sees what the app committed a moment ago."""
    bind = get_engine(settings.database_url).execution_options(isolation_level="AUTOCOMMIT")
    with Session(bind=bind, expire_on_commit=False) as session:
        yield session


class UserFactory:
    def __init__(self, url: str) -> None:
        self.url = url
        self.count = 0

    def __call__(self, role: Role = Role.ADMIN, *, email: str | None = None) -> User:
        self.count += 1
        email = email or f"{role.value}{self.count}@example.com"
        with session_scope(self.url) as session:
            return auth_service.create_user(
                session,
                email=email,
                name=f"{role.value.title()} {self.count}",
                role=role,
                password=TEST_PASSWORD,
            )


@pytest.fixture
def make_user(settings: Settings) -> UserFactory:
    return UserFactory(settings.database_url)


def csrf_from(client: TestClient, path: str = "/login") -> str:
    match = CSRF_META.search(client.get(path).text)
    assert match, f"no CSRF meta tag on {path}"
    return match.group(1)


def log_in(client: TestClient, email: str, password: str = TEST_PASSWORD) -> str:
    """Log the client in through the real form; returns the session's CSRF token."""
    token = csrf_from(client)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client, "/")


@pytest.fixture
def admin_client(client: TestClient, make_user: UserFactory) -> TestClient:
    user = make_user(Role.ADMIN)
    client.headers["X-CSRF-Token"] = log_in(client, user.email)
    return client


@pytest.fixture
def app_client_pair(app: FastAPI) -> Iterator[tuple[TestClient, TestClient]]:
    """Two clients of one app with separate cookie jars: a browser and a script."""
    with TestClient(app) as browser, TestClient(app) as script:
        yield browser, script


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(asgi_app: ASGIApp) -> Iterator[str]:
    """A real Uvicorn server on loopback in a thread; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    with serving(app) as url:
        yield url
