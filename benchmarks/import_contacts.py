"""Benchmark: import a generated CSV of contacts into a fresh SQLite database.

Prints rows/s for the real import path (`run_job`, as `retentio import` runs it) next to the
baseline of creating contacts one by one through the contacts service, and the resident memory
at each quarter of the file: flat memory means the file is streamed, not loaded.

    python benchmarks/import_contacts.py [--rows 1000000] [--batch-size 20000]
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import tempfile
import time
from pathlib import Path

from retentio import migrate
from retentio.contacts.schemas import ContactFields
from retentio.contacts.service import WriteContext, create_contact
from retentio.db import session_scope
from retentio.imports import service
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob
from retentio.imports.runner import run_job

TARGET_ROWS_PER_SECOND = 50_000
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "Самара", "Омск"]
FIRST = ["Анна", "Мария", "Елена", "Ольга", "Иван", "Пётр", "Сергей", "Дмитрий", "Алексей"]
# Mobile codes in use (libphonenumber accepts every number in them); the rest of the digits
# come from the row number, so every phone is unique.
MOBILE = ["912", "916", "926", "903", "905", "915", "925", "985", "999", "977"]
LAST = ["Иванова", "Петрова", "Смирнова", "Кузнецов", "Попов", "Волков", "Соколов", "Лебедев"]


def write_file(path: Path, rows: int) -> None:
    rng = random.Random(1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, delimiter=";")
        out.writerow(
            ["Код клиента", "Имя", "Фамилия", "E-mail", "Телефон", "Город", "Дата рождения"]
        )
        for i in range(rows):
            out.writerow(
                [
                    f"C{i}",
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    f"client{i}@example.ru",
                    phone(i),
                    rng.choice(CITIES),
                    f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.19{rng.randint(50, 99)}",
                ]
            )


def phone(i: int) -> str:
    """A unique phone for row i, typed the Russian way: 8 (912) 034-56-78."""
    code = MOBILE[i % len(MOBILE)]
    return f"8 ({code}) {i // 10000:03d}-{i // 100 % 100:02d}-{i % 100:02d}"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_import(url: str, path: Path, rows: int, batch_size: int) -> tuple[float, list[str]]:
    with session_scope(url) as session:
        job_id = service.create_job(
            session, entity=ImportEntity.CONTACTS, path=path, filename=path.name
        ).id
    marks: list[str] = []
    quarter = max(rows // 4, 1)

    def progress(done: int, _total: int | None) -> None:
        if done // quarter > len(marks) - 1 or not marks:
            marks.append(f"{done:>9,} rows: peak RSS {rss_mib():7.0f} MiB")

    started, cpu = time.perf_counter(), time.process_time()
    run_job(url, job_id, region="RU", batch_size=batch_size, progress=progress)
    elapsed = time.perf_counter() - started
    marks.append(
        f"CPU time of the import: {time.process_time() - cpu:.1f} s "
        f"(wall {elapsed:.1f} s; a gap means the machine was busy or waiting on disk)"
    )
    with session_scope(url) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        assert job.inserted == rows, job.inserted
    return elapsed, marks


def run_baseline(url: str, rows: int) -> float:
    started = time.perf_counter()
    ctx = WriteContext(actor_id=None, default_region="RU")
    with session_scope(url) as session:
        for i in range(rows):
            create_contact(
                session,
                ContactFields(
                    first_name="Анна",
                    email=f"base{i}@example.ru",
                    phone=f"+7912{i:07d}",
                    external_ids={"import": f"B{i}"},
                ),
                ctx,
            )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "contacts.csv"
        write_file(path, args.rows)
        url = f"sqlite:///{folder}/bench.db"
        migrate.upgrade(url)
        print(
            f"file: {args.rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB; "
            f"RSS before import {rss_mib():.0f} MiB"
        )
        elapsed, marks = run_import(url, path, args.rows, args.batch_size)
        baseline_url = f"sqlite:///{folder}/baseline.db"
        migrate.upgrade(baseline_url)
        baseline = run_baseline(baseline_url, args.baseline_rows)
    print("\n".join(marks))
    print(f"{'path':<34}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    print(
        f"{'import (run_job, SQLite)':<34}{args.rows:>12,}{elapsed:>10.1f}"
        f"{args.rows / elapsed:>12,.0f}"
    )
    print(
        f"{'baseline: service, row by row':<34}{args.baseline_rows:>12,}{baseline:>10.1f}"
        f"{args.baseline_rows / baseline:>12,.0f}"
    )
    print(f"target: >= {TARGET_ROWS_PER_SECOND:,} rows/s on SQLite; peak RSS {rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
