"""Event ingestion through the real HTTP API: events per second per server process.

Run: .venv/bin/python benchmarks/ingest.py [--events 100000] [--single 2000] [--contacts 10000]
     [--clients 4]

For SQLite (a fresh file in a temporary folder) and, when reachable, PostgreSQL (a temporary
database on the server named by RETENTIO_BENCH_PG_URL, else the one scripts/test-services.sh
starts; dropped afterwards), it migrates the database, creates a user and an API token, starts
`uvicorn retentio.app:create_app` in a subprocess on loopback (one process), seeds a pool of
known customers with identify events (not timed), then times:

- `batch`: POST /api/v1/events/batch with 1000 events per request;
- `single`: POST /api/v1/events with one event per request (the baseline).

Events are a shop's mix: page and product views, cart adds, checkouts and orders, mostly of
known customers (by user id, some also by e-mail), some of anonymous visitors, a few of them new.
A batch of 1000 such events is ~250 KB, within Segment's limits (500 KB a batch, 32 KB an event).
Request bodies are serialised before the clock starts and sent by `--clients` concurrent
keep-alive connections (as several shop backends or SDK instances would), so the server always
has the next request waiting: what is measured is the server process, not one client's round
trips. `--clients 1` gives the strictly sequential figure. The server's own CPU time is printed
too, since on a shared machine wall time also counts other programs. The target is >= 20,000
events/s on SQLite in batches.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from retentio import migrate
from retentio.auth import service as auth_service
from retentio.auth.models import Role
from retentio.db import get_engine, session_scope, utcnow
from retentio.events.schemas import EventBatch
from retentio.events.service import ingest

ROOT = Path(__file__).resolve().parent.parent
TARGET = 20_000
BATCH = 1000
TYPES = [("page_view", 55), ("product_view", 25), ("cart_add", 12), ("checkout_start", 5)]
TYPES += [("order_placed", 3)]


@dataclass(frozen=True)
class Result:
    engine: str
    mode: str
    events: int
    seconds: float
    # CPU time of the server process: on a busy machine wall time overstates the cost.
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_rate(self) -> float:
        return self.events / self.cpu_seconds if self.cpu_seconds else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events sent in batches")
    parser.add_argument("--single", type=int, default=2_000, help="events sent one by one")
    parser.add_argument("--contacts", type=int, default=10_000, help="known customers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clients", type=int, default=4, help="concurrent connections")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument(
        "--profile", metavar="DIR", help="run the server under py-spy; collapsed stacks go here"
    )
    args = parser.parse_args()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="retentio-bench-") as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        results += run_engine("sqlite", sqlite_url, Path(folder), args)
        pg_server = None if args.skip_pg else _pg_server()
        if pg_server:
            with _pg_database(pg_server) as pg_url:
                results += run_engine("postgresql", pg_url, Path(folder), args)
        else:
            print("PostgreSQL: not reachable, skipped", file=sys.stderr)
    _print_table(results)


def run_engine(engine: str, url: str, folder: Path, args: argparse.Namespace) -> list[Result]:
    migrate.upgrade(url)
    token = _api_token(url)
    rng = random.Random(args.seed)
    profile = Path(args.profile) / f"{engine}.txt" if args.profile else None
    with _server(url, folder) as (base_url, pid):
        clients = [_client(base_url, token) for _ in range(max(1, args.clients))]
        try:
            _post_all(clients[:1], "/api/v1/events/batch", _seed_bodies(args.contacts))
            batches = _batch_bodies(rng, args.events, args.contacts)
            singles = _single_bodies(rng, args.single, args.contacts)
            with _profiled(pid, profile):
                batch = _timed(engine, f"batch of {BATCH}", pid, args.events, clients, batches)
            single = _timed(engine, "one per request", pid, args.single, clients, singles)
        finally:
            for http in clients:
                http.close()
    in_process = _service_only(
        engine, url, _batch_bodies(rng, min(args.events, 20_000), args.contacts)
    )
    get_engine(url).dispose()
    return [batch, single, in_process]


def _service_only(engine: str, url: str, bodies: list[bytes]) -> Result:
    """The ingestion service called in this process, one transaction per batch: what the HTTP
    layer (body, validation, framework) costs is the gap between this row and the batch row."""
    batches = [EventBatch.model_validate_json(body).events for body in bodies]
    # As `create_app()` does in the server: long-lived objects out of the collector's way.
    gc.freeze()
    started, cpu = time.perf_counter(), time.process_time()
    for events in batches:
        with session_scope(url) as session:
            ingest(session, events, source_id=None, default_region="RU", now=utcnow())
    seconds, used = time.perf_counter() - started, time.process_time() - cpu
    return Result(engine, "service only, no HTTP", sum(map(len, batches)), seconds, used)


def _timed(
    engine: str, mode: str, pid: int, events: int, clients: list[httpx.Client], bodies: list[bytes]
) -> Result:
    path = "/api/v1/events/batch" if "batch" in mode else "/api/v1/events"
    cpu_before = _cpu_seconds(pid)
    seconds = _post_all(clients, path, bodies)
    return Result(engine, mode, events, seconds, _cpu_seconds(pid) - cpu_before)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0 where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # Fields 14 and 15 of stat(5), counted after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _api_token(url: str) -> str:
    with session_scope(url) as session:
        user = auth_service.create_user(
            session, email="bench@example.com", name="Bench", role=Role.ADMIN, password="x" * 12
        )
        _token, secret = auth_service.create_token(session, user, name="bench")
    return secret


def _event(rng: random.Random, contacts: int) -> dict[str, object]:
    kind = rng.choices([t for t, _ in TYPES], weights=[w for _, w in TYPES])[0]
    event: dict[str, object] = {
        "message_id": str(uuid.uuid4()),
        "type": kind,
        "properties": {"sku": f"SKU-{rng.randrange(2000)}", "price": rng.randrange(100, 20000)},
        "context": {
            "page": {"url": f"https://shop.example/p/{rng.randrange(2000)}"},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0",
            "ip": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
        },
    }
    roll = rng.random()
    customer = rng.randrange(contacts)
    if roll < 0.80:
        event["user_id"] = str(customer)
    elif roll < 0.88:
        event.update(user_id=str(customer), email=f"customer{customer}@example.ru")
    else:
        # Anonymous visitors: a pool a little larger than the seeded one, so a few are new.
        event["anonymous_id"] = f"visitor-{rng.randrange(contacts // 2 + contacts // 20)}"
    return event


def _seed_bodies(contacts: int) -> list[bytes]:
    """Identify events creating the known customers and half as many tracked visitors."""
    events: list[dict[str, object]] = [
        {
            "message_id": f"seed-{i}",
            "type": "identify",
            "user_id": str(i),
            "email": f"customer{i}@example.ru",
            "traits": {"firstName": f"Name{i}"},
        }
        for i in range(contacts)
    ]
    events += [
        {"message_id": f"seed-v{i}", "type": "page_view", "anonymous_id": f"visitor-{i}"}
        for i in range(contacts // 2)
    ]
    return [
        json.dumps({"events": events[i : i + BATCH]}).encode() for i in range(0, len(events), BATCH)
    ]


def _batch_bodies(rng: random.Random, count: int, contacts: int) -> list[bytes]:
    bodies = []
    for start in range(0, count, BATCH):
        chunk = [_event(rng, contacts) for _ in range(min(BATCH, count - start))]
        bodies.append(json.dumps({"events": chunk}).encode())
    return bodies


def _single_bodies(rng: random.Random, count: int, contacts: int) -> list[bytes]:
    return [json.dumps(_event(rng, contacts)).encode() for _ in range(count)]


def _post_all(clients: list[httpx.Client], path: str, bodies: list[bytes]) -> float:
    """Every body posted, shared out among the clients, each on its own connection."""

    def post(client: int) -> None:
        for body in bodies[client :: len(clients)]:
            response = clients[client].post(path, content=body)
            # PostgreSQL: two concurrent batches that both bring one new person — one of them is
            # refused whole (503 concurrent_newcomer with Retry-After) and is sent again, as
            # the SDKs do (at once here: the other batch has committed by then).
            for _ in range(5):
                if response.status_code != 503:
                    break
                response = clients[client].post(path, content=body)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:500]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(post, range(len(clients))))
    return time.perf_counter() - started


def _client(base_url: str, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.Client(base_url=base_url, headers=headers, timeout=120)


@contextmanager
def _server(url: str, folder: Path) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "RETENTIO_DATABASE_URL": url,
        "RETENTIO_DATA_DIR": str(folder / "data"),
        "RETENTIO_SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
    }
    command = [sys.executable, "-m", "uvicorn", "retentio.app:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    command += ["--no-access-log"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process)
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def _profiled(pid: int, profile: Path | None) -> Iterator[None]:
    """py-spy attached to the server for the timed part only (collapsed stacks, `--profile`)."""
    if profile is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--format", "raw", "-o", str(profile), "--pid", str(pid)]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    time.sleep(1)  # let it attach
    try:
        yield
    finally:
        # SIGINT makes py-spy stop and write the profile.
        recorder.send_signal(signal.SIGINT)
        recorder.wait(timeout=60)


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server exited while starting")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start within 30 s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_server() -> str | None:
    url = os.environ.get("RETENTIO_BENCH_PG_URL")
    if url:
        return url
    try:
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "test-services.sh")],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    return done.stdout.strip() or None


@contextmanager
def _pg_database(server_url: str) -> Iterator[str]:
    name = f"retentio_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _print_table(results: list[Result]) -> None:
    head = f"{'engine':<12}{'mode':<18}{'events':>9}{'seconds':>10}{'events/s':>11}"
    print(f"\n{head}{'server CPU s':>14}{'events/CPU s':>14}")
    for r in results:
        row = f"{r.engine:<12}{r.mode:<18}{r.events:>9,}{r.seconds:>10.2f}{r.rate:>11,.0f}"
        print(f"{row}{r.cpu_seconds:>14.2f}{r.cpu_rate:>14,.0f}")
    print(f"(load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    sqlite_batch = next((r for r in results if r.engine == "sqlite" and "batch" in r.mode), None)
    if sqlite_batch:
        verdict = "met" if sqlite_batch.rate >= TARGET else "NOT met"
        print(f"\ntarget: >= {TARGET:,} events/s per process on SQLite in batches: {verdict}")


if __name__ == "__main__":
    main()
