"""An import killed with SIGKILL mid-way and resumed ends exactly like an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select, text

from retentio.contacts.models import Contact
from retentio.db import get_engine, session_scope
from retentio.imports.models import ImportJob, JobStatus
from retentio.settings import Settings
from tests.conftest import fresh_database_url
from tests.imports.files import write_csv

ROWS = 3_000
BATCH = 100


def _file(path: Path) -> Path:
    rows = [["id", "email", "phone", "first_name", "city", "tags"]]
    for i in range(ROWS):
        # Every 50th row repeats an earlier person: later rows update earlier ones.
        n = i - 25 if i % 50 == 49 else i
        rows.append(
            [
                str(n),
                f"user{n}@example.ru",
                f"+7912{n:07d}",
                f"Имя{i}",
                f"Город{i % 7}",
                "vip" if i % 3 == 0 else "",
            ]
        )
    rows.append(["x", "broken", "", "", "", ""])
    return write_csv(path, rows, delimiter=";")


def _cli(url: str, data_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RETENTIO_DATABASE_URL": url, "RETENTIO_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "retentio.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _state(url: str) -> tuple[object, ...]:
    """Everything the import wrote, independent of ids and row order."""
    with get_engine(url).connect() as connection:
        contacts = sorted(
            tuple(r)
            for r in connection.execute(text("SELECT email, phone, first_name, city FROM contacts"))
        )
        identities = sorted(
            tuple(r) for r in connection.execute(text("SELECT kind, value FROM contact_identities"))
        )
        tags = sorted(
            tuple(r)
            for r in connection.execute(
                text(
                    "SELECT c.email, t.name FROM contact_tags ct "
                    "JOIN contacts c ON c.id = ct.contact_id JOIN tags t ON t.id = ct.tag_id"
                )
            )
        )
        job = tuple(
            connection.execute(
                text("SELECT rows_read, inserted, updated, unchanged, rejected FROM import_jobs")
            ).one()
        )
    return contacts, identities, tags, job


def _wait_for_position(url: str, target: int, process: subprocess.Popen[bytes]) -> bool:
    """Poll the job until it has committed `target` rows; False if the process ended first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        with get_engine(url).connect() as connection:
            position = connection.execute(text("SELECT max(position) FROM import_jobs")).scalar()
        if position is not None and position >= target:
            return True
        time.sleep(0.005)
    return False


def _migrated(url: str) -> str:
    from retentio import migrate

    migrate.upgrade(url)
    return url


def test_killed_import_resumes_to_the_same_state(tmp_path: Path, settings: Settings) -> None:
    csv_file = _file(tmp_path / "big.csv")
    with fresh_database_url(tmp_path) as clean_url, fresh_database_url(tmp_path) as killed_url:
        # given: the same file imported without interruption into one database
        _migrated(clean_url)
        clean = _cli(clean_url, tmp_path, "import", str(csv_file), "--batch-size", str(BATCH))
        assert clean.wait(timeout=600) == 0, clean.stdout.read() if clean.stdout else ""
        # when: into another, the process is killed at three random points, then resumed
        _migrated(killed_url)
        rng = random.Random(11)
        targets = sorted(rng.sample(range(ROWS // 10, ROWS - ROWS // 10, BATCH), 3))
        kills = 0
        for target in targets:
            args = ["import", str(csv_file), "--batch-size", str(BATCH)]
            if kills:
                args += ["--resume", "1"]
            process = _cli(killed_url, tmp_path, *args)
            if _wait_for_position(killed_url, target, process):
                process.send_signal(signal.SIGKILL)
                kills += 1
            process.wait()
        with session_scope(killed_url) as session:
            job = session.scalars(select(ImportJob)).one()
            interrupted_at = job.position
        resumed = _cli(
            killed_url,
            tmp_path,
            "import",
            str(csv_file),
            "--resume",
            "1",
            "--batch-size",
            str(BATCH),
        )
        assert resumed.wait(timeout=600) == 0
        # then
        assert kills == 3, "the import finished before it could be killed: make the file larger"
        assert 0 < interrupted_at < ROWS + 1
        assert _state(killed_url) == _state(clean_url)
        with session_scope(killed_url) as session:
            job = session.scalars(select(ImportJob)).one()
            assert (job.status, job.rows_read, job.rejected) == (JobStatus.DONE, ROWS + 1, 1)
            assert session.scalar(select(Contact.id).where(Contact.email == "broken")) is None
