"""Benchmark: import a generated CSV of contacts into a fresh SQLite database, then again.

Prints, in one run: the plain `csv` module reading the same file and SQLite alone inserting
the same contacts already built as tuples (the two floors no import can beat), rows/s of the
real import path (`run_job`, as `retentio import` runs it) for the fresh
import and for re-importing the same file (every row unchanged), each in wall seconds and per
CPU-second, the peak resident memory at 100k rows and at each quarter of the file (flat memory
means the file is streamed, not loaded), and two baselines: the same import of the first
100,000 rows and creating contacts one by one through the contacts service.

    python benchmarks/import_contacts.py [--rows 1000000] [--batch-size 50000]

Generated files are kept under /tmp/retentio-bench/ and reused by later runs. The machine is
shared: compare CPU-seconds, and repeat.
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from retentio import migrate
from retentio.contacts.schemas import ContactFields
from retentio.contacts.service import WriteContext, create_contact
from retentio.db import get_engine, session_scope
from retentio.imports import service
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob
from retentio.imports.runner import run_job

TARGET_ROWS_PER_SECOND = 50_000
# Shared with the other benchmarks; only generated inputs live there, reused across runs.
CACHE = Path("/tmp/retentio-bench")  # noqa: S108
QUICK_ROWS = 100_000
CITIES = ["Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург", "Самара", "Омск"]
FIRST = ["Анна", "Мария", "Елена", "Ольга", "Иван", "Пётр", "Сергей", "Дмитрий", "Алексей"]
# Mobile codes in use (libphonenumber accepts every number in them); the rest of the digits
# come from the row number, so every phone is unique.
MOBILE = ["912", "916", "926", "903", "905", "915", "925", "985", "999", "977"]
LAST = ["Иванова", "Петрова", "Смирнова", "Кузнецов", "Попов", "Волков", "Соколов", "Лебедев"]


@dataclass(frozen=True)
class Timing:
    rows: int
    wall: float
    cpu: float

    def line(self, label: str) -> str:
        return (
            f"{label:<40}{self.rows:>10,}{self.wall:>9.1f}{self.rows / self.wall:>11,.0f}"
            f"{self.cpu:>9.1f}{self.rows / self.cpu:>11,.0f}"
        )


def contacts_file(rows: int) -> Path:
    """The generated file of `rows` contacts, written once and reused."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"import-contacts-{rows}.csv"
    if not path.exists():
        partial = path.with_suffix(".partial")
        write_file(partial, rows)
        partial.rename(path)
    return path


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


def read_floor(path: Path) -> Timing:
    """The plain csv module reading every row: no import can be faster."""
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("r", encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle, delimiter=";")) - 1
    return Timing(rows, time.perf_counter() - started, time.process_time() - cpu)


def sqlite_floor(url: str, rows: int, batch_size: int) -> Timing:
    """SQLite's own work for these contacts: each contact row (with the table's indexes) and
    its three identities (e-mail, phone, external id: the unique key imports match by), built
    before the clock starts for each batch, sorted as the importer sorts them, inserted by
    `executemany` and committed per batch. Only the SQLite calls are timed."""
    now = "2026-01-01 00:00:00.000000"
    connection = get_engine(url).raw_connection()
    wall = cpu = 0.0
    try:
        cursor = connection.cursor()
        for start in range(0, rows, batch_size):
            contacts, identities = floor_batch(range(start, min(rows, start + batch_size)), now)
            began, began_cpu = time.perf_counter(), time.process_time()
            cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(FLOOR_CONTACT_SQL, contacts)
            cursor.executemany(FLOOR_IDENTITY_SQL, identities)
            cursor.execute("COMMIT")
            wall += time.perf_counter() - began
            cpu += time.process_time() - began_cpu
    finally:
        connection.close()
    return Timing(rows, wall, cpu)


FLOOR_CONTACT_SQL = (
    "INSERT INTO contacts (id, first_name, last_name, email, phone, city, birthday, custom, "
    "available_to_all, is_anonymous, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, '{}', 0, 0, ?, ?)"
)
FLOOR_IDENTITY_SQL = (
    "INSERT INTO contact_identities (contact_id, kind, value, created_at) VALUES (?, ?, ?, ?)"
)


def floor_batch(
    numbers: range, now: str
) -> tuple[list[tuple[object, ...]], list[tuple[int, str, str, str]]]:
    """Rows as the generated file holds them (names and cities from the same pools), in the
    form the importer sends them to the driver."""
    contacts: list[tuple[object, ...]] = []
    identities: list[tuple[int, str, str, str]] = []
    for i in numbers:
        email, phone_e164 = f"client{i}@example.ru", f"+7{phone(i)[3:].translate(DIGITS_ONLY)}"
        person = (FIRST[i % 9], LAST[i % 8], email, phone_e164, CITIES[i % 7], "1970-01-05")
        contacts.append((i + 1, *person, now, now))
        identities += [
            (i + 1, "email", email, now),
            (i + 1, "external", f"import:C{i}", now),
            (i + 1, "phone", phone_e164, now),
        ]
    identities.sort(key=lambda row: (row[1], row[2]))
    return contacts, identities


DIGITS_ONLY = str.maketrans("", "", " ()-")


def run_import(
    url: str, path: Path, rows: int, batch_size: int, marks: list[str] | None = None
) -> tuple[Timing, ImportJob]:
    with session_scope(url) as session:
        job_id = service.create_job(
            session, entity=ImportEntity.CONTACTS, path=path, filename=path.name
        ).id
    checkpoints = sorted({min(QUICK_ROWS, rows), *(rows * q // 4 for q in (1, 2, 3, 4))})

    def progress(done: int, _total: int | None) -> None:
        while marks is not None and checkpoints and done >= checkpoints[0]:
            checkpoints.pop(0)
            marks.append(f"{done:>11,} rows: peak RSS {rss_mib():6.0f} MiB")

    started, cpu = time.perf_counter(), time.process_time()
    run_job(url, job_id, region="RU", batch_size=batch_size, progress=progress)
    timing = Timing(rows, time.perf_counter() - started, time.process_time() - cpu)
    with session_scope(url) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
    return timing, job


def run_service_baseline(url: str, rows: int) -> Timing:
    started, cpu = time.perf_counter(), time.process_time()
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
    return Timing(rows, time.perf_counter() - started, time.process_time() - cpu)


def fresh_database(folder: str, name: str) -> str:
    url = f"sqlite:///{folder}/{name}.db"
    migrate.upgrade(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    args = parser.parse_args()
    path = contacts_file(args.rows)
    print(f"file: {args.rows:,} rows, {path.stat().st_size / 2**20:.0f} MiB ({path})")
    floor = read_floor(path)
    print(f"RSS before the import {rss_mib():.0f} MiB")
    marks: list[str] = []
    results: list[str] = [floor.line("floor: csv module reads the file")]
    with tempfile.TemporaryDirectory(dir=CACHE) as folder:
        sqlite_alone = sqlite_floor(fresh_database(folder, "floor"), args.rows, args.batch_size)
        results += [sqlite_alone.line("floor: SQLite alone, rows pre-built")]
        url = fresh_database(folder, "bench")
        fresh, job = run_import(url, path, args.rows, args.batch_size, marks)
        assert (job.inserted, job.rejected) == (args.rows, 0), (job.inserted, job.rejected)
        again, job = run_import(url, path, args.rows, args.batch_size)
        assert job.unchanged == args.rows, (job.inserted, job.updated, job.unchanged)
        results += [fresh.line("import, fresh (run_job, SQLite)")]
        results += [again.line("re-import, all rows unchanged")]
        if args.rows > QUICK_ROWS:
            quick_url = fresh_database(folder, "quick")
            quick, _job = run_import(
                quick_url, contacts_file(QUICK_ROWS), QUICK_ROWS, args.batch_size
            )
            results += [quick.line(f"baseline: fresh import of {QUICK_ROWS:,}")]
        service_url = fresh_database(folder, "service")
        results += [
            run_service_baseline(service_url, args.baseline_rows).line(
                "baseline: service, row by row"
            )
        ]
    print("\n".join(marks))
    print(f"{'path':<40}{'rows':>10}{'wall s':>9}{'rows/s':>11}{'CPU s':>9}{'rows/CPU-s':>11}")
    print("\n".join(results))
    verdict = "met" if args.rows / fresh.wall >= TARGET_ROWS_PER_SECOND else "NOT met"
    print(
        f"target: >= {TARGET_ROWS_PER_SECOND:,} rows/s on SQLite (wall, fresh import): {verdict}; "
        f"peak RSS {rss_mib():.0f} MiB"
    )


if __name__ == "__main__":
    main()
