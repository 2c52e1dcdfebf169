"""Journey engine benchmark (issue #8): steps per second when 100,000 enrollments fall due at
once with one worker on PostgreSQL, and the time from an ingested event to its enrollment.

    .venv/bin/python benchmarks/journeys.py                    # 100,000 enrollments, 200 events
    .venv/bin/python benchmarks/journeys.py --enrollments 10000 --events 50   # a quick run
    RETENTIO_BENCH_PG_URL=postgresql+psycopg://… .venv/bin/python benchmarks/journeys.py

The server is RETENTIO_BENCH_PG_URL, else the one `scripts/test-services.sh` starts. The data
(contacts, consent, an active journey, its enrollments all due now) is written with COPY once
into a template database named after the size and kept; each measurement runs on a copy
(`CREATE DATABASE … TEMPLATE`) that is dropped afterwards.

1. Throughput: the journey is "condition on a segment rule (Moscow and reachable by e-mail) →
   yes: send → wait 2 days; no: wait 2 days", with a 10 % holdout, an order goal and exit on
   unsubscribe, as marketers build them. One worker is `tick()` called in this process in a
   loop, in the batches `retentio worker` uses (1,000), at a fixed clock; steps/s = step runs
   written / wall seconds, with the CPU seconds of this process and of PostgreSQL. Target:
   ≥ 5,000 steps/s. The baseline, from the same run, is the same work in batches of 50.
2. Latency: the real app (uvicorn) and one `retentio worker` process on a fresh database (queue:
   the SQLite file in their shared data directory, the single-box set-up); a journey triggered
   by `cart_add` is activated and `--events` events are posted one by one through the HTTP API
   at `--rate` per second. For each, the time from the POST's response to its enrollment row
   (polled) is measured; p50/p95/max are printed against the target p95 ≤ 5 s.

Exits non-zero on errors only, never because a target was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from retentio import migrate
from retentio.auth import service as auth_service
from retentio.auth.models import Role
from retentio.consent.models import Channel
from retentio.db import get_engine, get_sessionmaker, session_scope
from retentio.journeys import service as journeys
from retentio.journeys.engine import BATCH
from retentio.journeys.models import Enrollment, StepRun
from retentio.journeys.schemas import JourneyIn
from retentio.journeys.tick import tick
from retentio.messaging import service as messaging
from retentio.messaging.models import AccountKind

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path("/tmp/retentio-bench")  # noqa: S108 - a cache the issue names, not a secret
# A Monday, 12:00 in Moscow: inside everyone's active hours, whatever the wall clock says.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGET_STEPS = 5_000
TARGET_P95 = 5.0
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - signs nothing real
CITIES = ["Москва", "Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск"]
ZONES = ["Europe/Moscow", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", None]
RULE = {"all": [{"field": "contact.city", "op": "eq", "value": "Москва"}, {"reachable": "email"}]}
POLICY = {"holdout_share": 0.1, "active_hours": {"start": "09:00", "end": "21:00"}}
console = Console()


def _steps(account_id: int) -> list[dict[str, Any]]:
    def wait(key: str, next_: str | None) -> dict[str, Any]:
        duration = {"amount": 2, "unit": "days"}
        return {"key": key, "kind": "wait", "mode": "duration", "duration": duration, "next": next_}

    send = {
        "key": "offer",
        "kind": "send",
        "account_id": account_id,
        "subject": "{{ contact.first_name }}, для вас скидка",
        "text": "Здравствуйте, {{ contact.first_name }}! {{ links.unsubscribe }}",
        "next": "pause_yes",
    }
    condition = {"key": "check", "kind": "condition", "rule": RULE, "yes": "offer"}
    return [{**condition, "no": "pause_no"}, send, wait("pause_yes", None), wait("pause_no", None)]


# --- data ----------------------------------------------------------------------------------


def _url(server_url: str, database: str) -> str:
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


def _admin(server_url: str, *statements: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        admin.dispose()


def _exists(server_url: str, database: str) -> bool:
    admin = create_engine(server_url)
    try:
        with admin.connect() as connection:
            found = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}
            )
            return found.first() is not None
    finally:
        admin.dispose()


def build_template(server_url: str, enrollments: int) -> str:
    """The database every throughput run copies: built once, under a partial name renamed when
    complete, so an interrupted build is redone."""
    name = f"retentio_bench_journeys_{enrollments}"
    if _exists(server_url, name):
        return name
    partial = f"{name}_partial"
    _admin(server_url, f'DROP DATABASE IF EXISTS "{partial}"', f'CREATE DATABASE "{partial}"')
    started = time.perf_counter()
    _load(_url(server_url, partial), enrollments)
    get_engine(_url(server_url, partial)).dispose()
    _admin(server_url, f'ALTER DATABASE "{partial}" RENAME TO "{name}"')
    console.print(f"built {name} in {time.perf_counter() - started:.0f} s")
    return name


def _load(url: str, n: int) -> None:
    migrate.upgrade(url)
    rng = random.Random(8)
    raw = get_engine(url).raw_connection()
    try:
        cursor = raw.cursor()
        columns = "id, first_name, email, city, timezone, custom, available_to_all, is_anonymous, "
        with cursor.copy(f"COPY contacts ({columns} created_at, updated_at) FROM STDIN") as copy:
            for cid in range(1, n + 1):
                name, email = f"Покупатель {cid}", f"c{cid}@example.org"
                city, zone = rng.choice(CITIES), rng.choice(ZONES)
                copy.write_row((cid, name, email, city, zone, "{}", False, False, NOW, NOW))
        cursor.execute("SELECT setval('contacts_id_seq', %s)", (n,))
        # Consent states point at one consent event (of contact 1): the rule reads states only.
        cursor.execute(
            "INSERT INTO consent_events (id, contact_id, channel, purpose, granted, source, "
            "occurred_at) VALUES (1, 1, 'email', 'marketing', true, 'bench', %s)",
            (NOW - timedelta(days=60),),
        )
        with cursor.copy(
            "COPY consent_states (contact_id, channel, purpose, granted, updated_at, event_id) "
            "FROM STDIN"
        ) as copy:
            for cid in range(1, n + 1):
                if rng.random() < 0.85:
                    granted = rng.random() < 0.9
                    copy.write_row((cid, "email", "marketing", granted, NOW - timedelta(60), 1))
        raw.commit()
    finally:
        raw.close()
    with session_scope(url) as session:
        account = messaging.create_account(
            session,
            name="sink",
            kind=AccountKind.FILE,
            channel=Channel.EMAIL,
            from_address="news@shop.example",
            settings={"directory": str(CACHE / "journeys-outbox")},
        )
        data = JourneyIn(
            name="Скидка москвичам",
            trigger={"kind": "api"},
            steps=_steps(account.id),
            goal={"kind": "order"},
            policy=POLICY,
        )
        journey = journeys.create_journey(session, data, user=None, now=NOW - timedelta(hours=1))
        journeys.activate(session, journey.id, now=NOW - timedelta(hours=1))
        journey_id, version_id = journey.id, journey.version_id
    raw = get_engine(url).raw_connection()
    try:
        cursor = raw.cursor()
        entered = NOW - timedelta(minutes=1)
        trigger_data = json.dumps({"source": "bench"})
        with cursor.copy(
            'COPY journey_enrollments (journey_id, version_id, contact_id, occurrence, "group", '
            "state, step, step_entered_at, next_run_at, steps_done, data, entered_at) FROM STDIN"
        ) as copy:
            for cid in range(1, n + 1):
                group = "holdout" if rng.random() < POLICY["holdout_share"] else "treated"  # type: ignore[operator]
                start = (journey_id, version_id, cid, "api:bench", group, "active", "check")
                copy.write_row((*start, entered, entered, 0, trigger_data, entered))
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


@contextmanager
def _copy_of(server_url: str, template: str) -> Iterator[str]:
    name = f"retentio_bench_run_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = _url(server_url, name)
    try:
        # A template cached by an older checkout gains the tables added since.
        migrate.upgrade(url)
        yield url
    finally:
        get_engine(url).dispose()
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- throughput ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    batch: int
    claimed: int
    steps: int
    messages: int
    seconds: float
    cpu_seconds: float
    db_cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.steps / self.seconds


def _backend_cpu(url: str) -> float:
    """CPU seconds of every PostgreSQL backend serving this database (Linux /proc)."""
    with get_engine(url).connect() as connection:
        pids = connection.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    return sum(_cpu_seconds(pid) for pid in pids)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(url: str, *, batch: int, label: str) -> Throughput:
    """One worker: `tick()` in a loop until nothing is due, at the fixed clock."""
    sessions = get_sessionmaker(url)
    with session_scope(url, write=False) as session:
        due = int(session.scalar(select(func.count()).select_from(Enrollment)) or 0)
    _backend_cpu(url)  # opens the pool's connection, so its backend is counted from the start
    db_before = _backend_cpu(url)
    claimed = steps = messages = 0
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=due)
        started, cpu = time.perf_counter(), time.process_time()
        while True:
            report = tick(sessions, clock=lambda: NOW, seconds=1.0, batch=batch, triggers=False)
            claimed += report.claimed
            steps += report.steps
            messages += report.messages
            progress.update(task, completed=claimed)
            if report.claimed == 0:
                break
        seconds, used = time.perf_counter() - started, time.process_time() - cpu
    db_used = _backend_cpu(url) - db_before
    with session_scope(url, write=False) as session:
        written = int(session.scalar(select(func.count()).select_from(StepRun)) or 0)
    assert written == steps, f"{written} step runs written, the engine reported {steps}"
    return Throughput(batch, claimed, steps, messages, seconds, used, db_used)


# --- latency -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _latency_setup(url: str, folder: Path) -> str:
    """A fresh shop: an API token and a live journey triggered by `cart_add`. Returns the
    token's secret."""
    migrate.upgrade(url)
    now = datetime.now(UTC)
    with session_scope(url) as session:
        user = auth_service.create_user(
            session, email="bench@example.com", name="Bench", role=Role.ADMIN, password="x" * 12
        )
        _token, secret = auth_service.create_token(session, user, name="bench")
        account = messaging.create_account(
            session,
            name="sink",
            kind=AccountKind.FILE,
            channel=Channel.EMAIL,
            from_address="news@shop.example",
            settings={"directory": str(folder / "outbox")},
        )
        steps = [
            {"key": "pause", "kind": "wait", "mode": "duration", "next": "reminder"}
            | {"duration": {"amount": 1, "unit": "hours"}},
            _steps(account.id)[1] | {"key": "reminder", "next": None},
        ]
        data = JourneyIn(
            name="Брошенная корзина",
            trigger={"kind": "event", "event_type": "cart_add"},
            steps=steps,
        )
        journey = journeys.create_journey(session, data, user=None, now=now)
        journeys.activate(session, journey.id, now=now)
    return secret


@contextmanager
def _processes(url: str, folder: Path) -> Iterator[str]:
    """The app under uvicorn and one `retentio worker`, sharing the data directory (and so the
    SQLite queue file); yields the app's base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "RETENTIO_DATABASE_URL": url,
        "RETENTIO_DATA_DIR": str(folder / "data"),
        "RETENTIO_SECRET_KEY": SECRET,
        "RETENTIO_REDIS_URL": "",
    }
    server = [sys.executable, "-m", "uvicorn", "retentio.app:create_app", "--factory"]
    server += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    worker = [str(Path(sys.executable).with_name("retentio")), "worker"]
    log = (folder / "processes.log").open("ab")
    children = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log)
        for command in (server, worker)
    ]
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if any(child.poll() is not None for child in children):
                raise RuntimeError(f"a process exited while starting; see {log.name}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the app did not start within 30 s") from None
                time.sleep(0.1)
        yield base_url
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)
        log.close()


def latency(url: str, folder: Path, *, events: int, rate: float) -> list[float]:
    """Seconds from each `cart_add` POST's response to its enrollment row, in event order."""
    token = _latency_setup(url, folder)
    headers = {"Authorization": f"Bearer {token}"}
    answered: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        # Each event's properties become its enrollment's data: `n` names the event.
        last = 0
        with get_engine(url).connect() as connection:
            while not stop.is_set():
                rows = connection.execute(
                    select(Enrollment.id, Enrollment.data).where(Enrollment.id > last)
                ).all()
                connection.rollback()
                moment = time.perf_counter()
                for enrollment_id, data in rows:
                    seen.setdefault(int(data["n"]), moment)
                    last = max(last, enrollment_id)
                time.sleep(0.01)

    with (
        _processes(url, folder) as base_url,
        httpx.Client(base_url=base_url, headers=headers) as http,
    ):
        identify = [
            {"message_id": f"id-{n}", "type": "identify", "user_id": f"u{n}"}
            | {"email": f"buyer{n}@example.org"}
            for n in range(events)
        ]
        for start in range(0, events, 1000):  # the API takes up to 1000 events a request
            chunk = {"events": identify[start : start + 1000]}
            http.post("/api/v1/events/batch", json=chunk, timeout=60).raise_for_status()
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        columns = (TextColumn("events"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("events", total=events)
            started = time.perf_counter()
            for n in range(events):
                time.sleep(max(0.0, started + n / rate - time.perf_counter()))
                event = {"message_id": str(uuid.uuid4()), "type": "cart_add", "user_id": f"u{n}"}
                response = http.post("/api/v1/events", json=event | {"properties": {"n": n}})
                response.raise_for_status()
                answered[n] = time.perf_counter()
                progress.update(task, completed=n + 1)
            deadline = time.perf_counter() + 60
            while len(seen) < events and time.perf_counter() < deadline:
                time.sleep(0.1)
        stop.set()
        poller.join()
    missing = events - len(seen)
    if missing:
        raise RuntimeError(f"{missing} events were not enrolled within 60 s")
    return [seen[n] - answered[n] for n in range(events)]


# --- the run -------------------------------------------------------------------------------


def _pg_server() -> str:
    url = os.environ.get("RETENTIO_BENCH_PG_URL")
    if url:
        return url
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "test-services.sh")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def _percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def _print_throughput(result: Throughput, note: str) -> None:
    console.print(
        f"  batch {result.batch:>4}: {result.steps:,} steps ({result.claimed:,} enrollments, "
        f"{result.messages:,} messages) in {result.seconds:.1f} s = "
        f"[bold]{result.rate:,.0f} steps/s[/bold]; CPU {result.cpu_seconds:.1f} s worker + "
        f"{result.db_cpu_seconds:.1f} s PostgreSQL {note}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--baseline-batch", type=int, default=50, help="0: no baseline")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0, help="events per second")
    args = parser.parse_args()
    server_url = _pg_server()
    template = build_template(server_url, args.enrollments)
    console.print(f"throughput, one worker, {args.enrollments:,} enrollments due at once:")
    with _copy_of(server_url, template) as url:
        result = throughput(url, batch=BATCH, label=f"batch {BATCH}")
    verdict = "met" if result.rate >= TARGET_STEPS else "NOT met"
    _print_throughput(result, f"(target ≥ {TARGET_STEPS:,} steps/s: {verdict})")
    if args.baseline_batch:
        with _copy_of(server_url, template) as url:
            base = throughput(url, batch=args.baseline_batch, label=f"batch {args.baseline_batch}")
        _print_throughput(base, "(baseline)")
    console.print(f"latency, event → enrollment, {args.events} events at {args.rate:g}/s:")
    folder = Path(tempfile.mkdtemp(prefix="retentio-bench-journeys-"))
    name = f"retentio_bench_latency_{uuid.uuid4().hex[:8]}"
    _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        seconds = latency(_url(server_url, name), folder, events=args.events, rate=args.rate)
    finally:
        get_engine(_url(server_url, name)).dispose()
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)
    p95 = _percentile(seconds, 0.95)
    verdict = "met" if p95 <= TARGET_P95 else "NOT met"
    console.print(
        f"  p50 {statistics.median(seconds):.2f} s, [bold]p95 {p95:.2f} s[/bold], "
        f"max {max(seconds):.2f} s (target p95 ≤ {TARGET_P95:g} s: {verdict})"
    )


if __name__ == "__main__":
    main()
