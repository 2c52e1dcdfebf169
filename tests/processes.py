"""Real processes for the tests that need more than one: a private `redis-server`, and
`retentio serve` / `retentio worker` started as a deployment would start them.

Used by the distributed journey test, the scale-out test and the fault tests. Everything a
test starts here is killed when it ends, and each process writes its output to a log file in
the test's folder, which `logs()` gathers for assertion messages.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import redis

from retentio.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RETENTIO = str(Path(sys.executable).with_name("retentio"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """Debian's `redis-server` on a free loopback port, with its data in `folder`. With
    `persistent`, every write goes to an append-only file first, so a restart keeps the queue
    (how production should run it, docs/operations/scale-out.md)."""

    def __init__(self, folder: Path, *, persistent: bool = False) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: run scripts/system-deps.sh"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.command = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""]
        self.command += ["--dir", str(folder)]
        self.command += (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if persistent
            else [
                "--appendonly",
                "no",
            ]
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


@contextmanager
def redis_server(folder: Path, *, persistent: bool = False) -> Iterator[str]:
    """A Redis URL for the test: RETENTIO_TEST_REDIS_URL (emptied first) when set, else a
    private server started for it. A missing Redis fails the test, it does not skip it."""
    given = os.environ.get("RETENTIO_TEST_REDIS_URL")
    if given and not persistent:
        redis.Redis.from_url(given).flushdb()  # the queue starts empty
        yield given
        return
    server = RedisServer(folder, persistent=persistent)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


class Processes:
    """`retentio` processes sharing one database and one Redis queue, as in production."""

    def __init__(self, settings: Settings, redis_url: str, folder: Path, **env: str) -> None:
        self.folder = folder
        self.env = {
            **os.environ,
            "RETENTIO_ENV": "test",
            "RETENTIO_DATABASE_URL": settings.database_url,
            "RETENTIO_REDIS_URL": redis_url,
            "RETENTIO_DATA_DIR": str(folder / "data"),
            "RETENTIO_SECRET_KEY": settings.resolved_secret_key(),
            "RETENTIO_QUIET_HOURS": "",
            **env,
        }
        self.started: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """`retentio ARGS…`; its output goes to `<name>.log`, its PostgreSQL connections are
        named `name` (libpq's application name), so a test can find them."""
        environment = {**self.env, "PGAPPNAME": name, **(env or {})}
        with (self.folder / f"{name}.log").open("ab") as output:
            child = subprocess.Popen(
                [RETENTIO, *args], cwd=ROOT, env=environment, stdout=output, stderr=output
            )
        self.started.append(child)
        return child

    def worker(self, name: str, threads: int = 2) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--workers", str(threads))

    def web(self, name: str, port: int) -> str:
        """A `retentio serve` process without the embedded worker; returns its base URL once
        it answers /readyz."""
        self.start(name, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"{name} did not start\n{self.logs()}"
            time.sleep(0.1)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )

    def stop_all(self) -> None:
        for child in self.started:
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                child.wait()


@contextmanager
def processes(settings: Settings, redis_url: str, folder: Path, **env: str) -> Iterator[Processes]:
    started = Processes(settings, redis_url, folder, **env)
    try:
        yield started
    finally:
        started.stop_all()
