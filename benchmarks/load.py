"""Load test of a running server on the 100k-contact demo shop: throughput, p50/p95/p99 latency
and errors of the ingest API, the tracker, the open/click links and the main pages.

Run: .venv/bin/python benchmarks/load.py [--customers 100000] [--engine sqlite|postgresql|both]
     [--phase-seconds 10] [--phase-requests 3000] [--mix-seconds 30] [--mix-requests 20000]
     [--connections 8]

It builds the demo shop once with `retentio demo --customers N` (kept under
/tmp/retentio-bench/<engine>-<N>/ and reused by later runs; PostgreSQL: a database
`retentio_load_<N>` on RETENTIO_BENCH_PG_URL, else the server of scripts/test-services.sh),
adds what the test needs (an admin user, an API token, a tracking source's write key, outbox
rows of one message per contact held back a year so nothing is sent, and their signed open and
click links), then starts `retentio serve` on 127.0.0.1 — one process with its embedded worker,
as a single box runs — with RETENTIO_PUBLIC_RATE_PER_MINUTE raised so the per-IP limit of the
public endpoints does not answer 429 to a generator whose every request comes from one address.

The generator is an asyncio httpx client with `--connections` keep-alive connections (one
logged-in session shared by them). It runs one phase per endpoint group, then a mix of all of
them, each phase bounded by time and by a request cap; loopback only:

- `batch`: POST /api/v1/events/batch, 100 events of known customers and visitors;
- `collect`: POST /collect, the website tracker's batch of 3 events with the write key;
- `open`: GET /o/{token}.gif; `click`: GET /c/{token} (a 302 to the shop);
- `pages`: logged-in GET of /, /contacts, /segments, /campaigns, /journeys, /deals.

Any answer other than 2xx/3xx (or a failed connection) is an error; the acceptance is none.
The machine has few cores and the generator shares them with the server, so the CPU seconds of
both are printed with each phase: on a busy machine those, not the wall time, show the cost.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from retentio.auth import queries as auth_queries
from retentio.auth import service as auth_service
from retentio.auth.models import Role
from retentio.consent.models import Purpose
from retentio.contacts.models import Contact
from retentio.db import get_engine, session_scope, utcnow
from retentio.events.models import Source
from retentio.messaging import service as messaging_service
from retentio.messaging.models import AccountKind, Message, SendingAccount
from retentio.messaging.service import NewMessage, OutboxKey
from retentio.messaging.tracking import Links, Signer

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "retentio-bench"
SECRET = "load-test-secret-key-0123456789-0123456789-abcdef"  # noqa: S105 - loopback only
EMAIL = "load@example.com"
PASSWORD = "load-test-password"  # noqa: S105 - a throwaway user of a throwaway database
SOURCE_NAME = "Load test"
# Enough to never answer 429 within a run: the generator is one IP.
RATE_PER_MINUTE = 10_000_000
PAGES = ["/", "/contacts", "/segments", "/campaigns", "/journeys", "/deals"]
EVENTS_PER_BATCH = 100
EVENT_TYPES = ["page_view", "product_view", "cart_add", "checkout_start", "order_placed"]
EVENT_WEIGHTS = [55, 25, 12, 5, 3]
# Share of each endpoint group in the mixed phase (a shop's traffic: mostly tracking).
MIX = {"batch": 1, "collect": 6, "open": 6, "click": 4, "pages": 1}
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@dataclass(frozen=True)
class Fixture:
    """What the requests need from the database."""

    token: str
    write_key: str
    emails: list[str]
    open_urls: list[str]
    click_urls: list[str]


@dataclass
class Sample:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


@dataclass
class Phase:
    name: str
    seconds: float
    generator_cpu: float
    server_cpu: float
    samples: dict[str, Sample]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--phase-seconds", type=float, default=10.0, help="per endpoint group")
    parser.add_argument("--phase-requests", type=int, default=3_000, help="cap per group")
    parser.add_argument("--mix-seconds", type=float, default=30.0)
    parser.add_argument("--mix-requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
    failed = False
    for engine in engines:
        folder = CACHE / f"{engine}-{args.customers}"
        url = _database_url(engine, folder, args.customers)
        _build_demo(url, folder, args.customers)
        fixture = _prepare(url, random.Random(args.seed))
        get_engine(url).dispose()
        with _server(url, folder) as (base_url, pid):
            phases = asyncio.run(_drive(base_url, pid, fixture, args))
        _print_report(engine, args, phases)
        failed |= any(s.errors for p in phases for s in p.samples.values())
    sys.exit(1 if failed else 0)


def _database_url(engine: str, folder: Path, customers: int) -> str:
    if engine == "sqlite":
        return f"sqlite:///{folder / 'retentio.db'}"
    server = (
        os.environ.get("RETENTIO_BENCH_PG_URL")
        or subprocess.run(
            ["bash", str(ROOT / "scripts" / "test-services.sh")],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout.strip()
    )
    name = f"retentio_load_{customers}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first()
        if not exists:
            # A build cut short leaves no `ready` marker: start that database afresh too.
            (folder / "ready").unlink(missing_ok=True)
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _build_demo(url: str, folder: Path, customers: int) -> None:
    """`retentio demo` once per engine and size; the marker says the build finished."""
    marker = folder / "ready"
    if marker.exists():
        print(f"reusing the demo shop of {customers:,} customers in {folder}", file=sys.stderr)
        return
    folder.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        for leftover in folder.glob("retentio.db*"):
            leftover.unlink()
    print(f"building the demo shop of {customers:,} customers in {folder}…", file=sys.stderr)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "retentio", "demo", "--customers", str(customers)],
        env=_env(url, folder),
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    marker.touch()


def _env(url: str, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RETENTIO_DATABASE_URL": url,
        "RETENTIO_DATA_DIR": str(folder),
        "RETENTIO_SECRET_KEY": SECRET,
        "RETENTIO_PUBLIC_RATE_PER_MINUTE": str(RATE_PER_MINUTE),
    }


def _prepare(url: str, rng: random.Random) -> Fixture:
    """User, token, write key and held-back outbox rows; safe to run on every start."""
    with session_scope(url) as session:
        user = auth_queries.user_by_email(session, EMAIL)
        if user is None:
            user = auth_service.create_user(
                session, email=EMAIL, name="Load test", role=Role.ADMIN, password=PASSWORD
            )
        _token, secret = auth_service.create_token(session, user, name=f"load {uuid.uuid4()}")
        source = session.scalars(select(Source).where(Source.name == SOURCE_NAME)).first()
        if source is None:
            source = Source(
                name=SOURCE_NAME,
                write_key=uuid.uuid4().hex,
                allowed_origins=["https://shop.example"],
            )
            session.add(source)
            session.flush()
        contacts = session.execute(
            select(Contact.id, Contact.email).where(Contact.email.is_not(None)).limit(5000)
        ).all()
        message_ids = _held_back_messages(session, [c.id for c in contacts[:2000]])
        write_key = source.write_key
    links = Links(Signer(SECRET), "")
    shop = "https://shop.example/tea"
    return Fixture(
        token=secret,
        write_key=write_key,
        emails=[c.email for c in contacts],
        open_urls=[links.url("o", m) for m in message_ids],
        click_urls=[links.url("c", m, f"{shop}?item={rng.randrange(500)}") for m in message_ids],
    )


def _held_back_messages(session: Session, contact_ids: list[int]) -> list[int]:
    """One outbox row per contact, due in a year: real message ids to track, none sent."""
    account = session.scalars(
        select(SendingAccount).where(SendingAccount.name == SOURCE_NAME)
    ).first()
    if account is None:
        account = messaging_service.create_account(
            session,
            name=SOURCE_NAME,
            kind=AccountKind.FILE,
            from_address="news@shop.example",
            settings={"directory": str(CACHE / "outbox")},
        )
    now = utcnow()
    existing = session.scalars(select(Message.content_id).where(Message.source_kind == "load"))
    content_id = existing.first()
    if content_id is None:
        content_id = messaging_service.create_content(
            session, subject="Чай", html="<p>Чай</p>", text="Чай"
        ).id
    messaging_service.enqueue_many(
        session,
        [
            NewMessage(
                OutboxKey("load", 1, "", c),
                account.id,
                content_id,
                Purpose.MARKETING,
                not_before=now + timedelta(days=365),
            )
            for c in contact_ids
        ],
        now=now,
    )
    return list(session.scalars(select(Message.id).where(Message.source_kind == "load")))


@contextmanager
def _server(url: str, folder: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {**_env(url, folder), "RETENTIO_BASE_URL": base_url, "RETENTIO_ENV": "development"}
    command = [sys.executable, "-m", "retentio", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(command, env=env, cwd=folder, stdout=log, stderr=log)
    try:
        _wait_until_up(base_url, process)
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting (see serve.log)")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start within 60 s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Requests:
    """Builds the next request of a group; bodies are cheap JSON, made as they are sent."""

    def __init__(self, fixture: Fixture, rng: random.Random) -> None:
        self.fixture = fixture
        self.rng = rng
        self.page = 0

    def next(self, group: str) -> tuple[str, str, str, bytes | None]:
        """(label, method, path, body)."""
        if group == "batch":
            events = [self._event() for _ in range(EVENTS_PER_BATCH)]
            return "POST /api/v1/events/batch", "POST", "/api/v1/events/batch", _json(events)
        if group == "collect":
            events = [self._event() for _ in range(3)]
            body = {"writeKey": self.fixture.write_key, "events": events}
            return "POST /collect", "POST", "/collect", json.dumps(body).encode()
        if group == "open":
            return "GET /o/{token}.gif", "GET", self.rng.choice(self.fixture.open_urls), None
        if group == "click":
            return "GET /c/{token}", "GET", self.rng.choice(self.fixture.click_urls), None
        path = PAGES[self.page % len(PAGES)]
        self.page += 1
        return f"GET {path}", "GET", path, None

    def _event(self) -> dict[str, object]:
        rng = self.rng
        event: dict[str, object] = {
            "message_id": uuid.uuid4().hex,
            "type": rng.choices(EVENT_TYPES, weights=EVENT_WEIGHTS)[0],
            "properties": {"sku": f"SKU-{rng.randrange(500)}", "price": rng.randrange(100, 9000)},
            "context": {"page": {"url": f"https://shop.example/p/{rng.randrange(500)}"}},
        }
        if rng.random() < 0.8:
            event["email"] = rng.choice(self.fixture.emails)
        else:
            event["anonymous_id"] = f"load-visitor-{rng.randrange(20_000)}"
        return event


def _json(events: list[dict[str, object]]) -> bytes:
    return json.dumps({"events": events}).encode()


async def _drive(
    base_url: str, pid: int, fixture: Fixture, args: argparse.Namespace
) -> list[Phase]:
    limits = httpx.Limits(max_connections=args.connections)
    # Two clients: the pages' one carries the session cookie, the other is a shop backend or a
    # browser on another site, whose writes need no CSRF token.
    async with (
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as pages,
        httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as public,
    ):
        await _log_in(pages)
        client = Clients(pages=pages, public=public)
        requests = Requests(fixture, random.Random(args.seed))
        # Warm-up: first page renders compile templates and fill caches; not counted.
        for group in MIX:
            await _run(client, requests, {group: 1}, 30.0, 5, 1, pid, f"warm-up {group}")
        phases = [
            await _run(
                client,
                requests,
                {group: 1},
                args.phase_seconds,
                args.phase_requests,
                args.connections,
                pid,
                group,
            )
            for group in MIX
        ]
        phases.append(
            await _run(
                client,
                requests,
                MIX,
                args.mix_seconds,
                args.mix_requests,
                args.connections,
                pid,
                "mix",
            )
        )
    return phases


async def _log_in(client: httpx.AsyncClient) -> None:
    match = CSRF_META.search((await client.get("/login")).text)
    if not match:
        raise RuntimeError("no CSRF token on /login")
    data = {"email": EMAIL, "password": PASSWORD, "csrf_token": match.group(1)}
    response = await client.post("/login", data=data)
    if response.status_code != 303:
        raise RuntimeError(f"login failed: {response.status_code}")


@dataclass(frozen=True)
class Clients:
    pages: httpx.AsyncClient
    public: httpx.AsyncClient


async def _run(
    client: Clients,
    requests: Requests,
    weights: dict[str, int],
    seconds: float,
    cap: int,
    connections: int,
    pid: int,
    name: str,
) -> Phase:
    """`connections` loops sending back to back until the time is up or `cap` were sent."""
    groups, shares = list(weights), list(weights.values())
    samples: dict[str, Sample] = {}
    sent = 0
    headers = {"Authorization": f"Bearer {requests.fixture.token}"}
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal sent
        while sent < cap and time.perf_counter() < deadline:
            sent += 1
            label, method, path, body = requests.next(requests.rng.choices(groups, shares)[0])
            sample = samples.setdefault(label, Sample())
            started = time.perf_counter()
            try:
                if label.startswith("GET /") and path in PAGES:
                    response = await client.pages.request(method, path)
                else:
                    response = await client.public.request(
                        method, path, content=body, headers=headers
                    )
                status, detail = response.status_code, response.text[:200]
            except httpx.HTTPError as error:
                status, detail = 0, repr(error)
            sample.latencies.append(time.perf_counter() - started)
            if not 200 <= status < 400:
                sample.errors += 1
                sample.first_error = sample.first_error or f"{status} {detail}"

    server_cpu, generator_cpu = _cpu_seconds(pid), time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(connections)))
    return Phase(
        name=name,
        seconds=time.perf_counter() - started,
        generator_cpu=time.process_time() - generator_cpu,
        server_cpu=_cpu_seconds(pid) - server_cpu,
        samples=samples,
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its finished children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Fields 14-17 of stat(5) (utime, stime, cutime, cstime), counted after the command name.
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def _print_report(engine: str, args: argparse.Namespace, phases: list[Phase]) -> None:
    print(f"\n{engine}, {args.customers:,} customers, {args.connections} connections")
    head = f"{'phase':<8}{'endpoint':<28}{'requests':>9}{'req/s':>9}"
    print(f"{head}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for phase in phases:
        for label, sample in sorted(phase.samples.items()):
            ordered = sorted(sample.latencies)
            row = f"{phase.name:<8}{label:<28}{len(ordered):>9,}"
            row += f"{len(ordered) / phase.seconds:>9.1f}"
            row += "".join(f"{_percentile(ordered, q):>9.1f}" for q in (0.50, 0.95, 0.99))
            print(f"{row}{sample.errors:>8}")
            if sample.first_error:
                print(f"    first error: {sample.first_error}")
        total = sum(len(s.latencies) for s in phase.samples.values())
        print(
            f"{phase.name:<8}{'(all) ' + f'{phase.seconds:.1f} s wall':<28}{total:>9,}"
            f"{total / phase.seconds:>9.1f}   server CPU {phase.server_cpu:.1f} s, "
            f"generator CPU {phase.generator_cpu:.1f} s"
        )
    errors = sum(s.errors for p in phases for s in p.samples.values())
    print(f"errors: {errors}  (load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
