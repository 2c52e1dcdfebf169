"""Full profile recompute on SQLite: wall and CPU seconds, peak memory, rows written.

Run: .venv/bin/python benchmarks/recompute.py [--contacts 1000000] [--orders-per-contact 6]
     [--profile] [--source DIR]

Builds (once; cached under /tmp/retentio-bench/, keyed by size, seed and GENERATOR_VERSION) a
SQLite database of contacts and orders drawn from a BG/NBD purchase process with Gamma-Gamma
order values: a fifth of the contacts never ordered, about 5 % of the orders are cancelled and
3 % partly refunded; orders are stored in time order, as a shop receives them. Rows go in with
the raw sqlite3 driver, secondary indexes built after the load. Each run copies the cached file,
brings its schema up to date, and times, each in a fresh child process:

- `first`: the first recompute ever (no profiles yet: every row inserted, every contact's
  first lifecycle stage appended to the history);
- `nightly`: the next night's recompute over the profiles the first one wrote.

For each it prints wall seconds and CPU seconds of the recompute call (SQLite runs in the
child, so its CPU time is the database's too; on a shared machine wall time overstates the
cost), the child's peak RSS (ru_maxrss) and the rows written, against the issue's targets
(<= 60 s, <= 2 GiB for 1,000,000 contacts and 6,000,000 orders). `--profile` adds each
child's cProfile top functions; `--source DIR` times another tree's `src/` (for before/after:
`mkdir /tmp/before && git archive HEAD src | tar -x -C /tmp/before`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0
TARGET_MIB = 2048.0
NOW = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
HISTORY_DAYS = 3 * 365
BUYER_SHARE = 0.8
CANCELLED_SHARE = 0.05
REFUNDED_SHARE = 0.03
# BG/NBD (rate per day) and Gamma-Gamma (roubles) truths; the rate is rescaled to hit the size.
R, ALPHA, A, B = 0.9, 60.0, 0.6, 3.0
P, Q, GAMMA = 6.0, 3.8, 1500.0
CHUNK = 200_000
# Bump when the generated data change, so cached databases are rebuilt.
GENERATOR_VERSION = "2"


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    cpu_seconds: float
    peak_mib: float
    result: dict[str, Any]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--orders-per-contact", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("/tmp/retentio-bench"),  # noqa: S108 - a cache
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="time the recompute of another tree's src/ (e.g. `git archive HEAD` unpacked)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print the children's cProfile top functions"
    )
    parser.add_argument("--child", nargs=2, metavar=("DB", "NOW"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], datetime.fromisoformat(args.child[1]), profile=args.profile)
        return
    orders = int(args.contacts * args.orders_per_contact)
    base = _cached_database(args.cache, args.contacts, orders, args.seed)
    work = base.with_name(base.stem + "-work.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base, work)
    _bring_up_to_date(work)
    runs = [
        _run_child("first", work, NOW, args.source, profile=args.profile),
        _run_child("nightly", work, NOW + timedelta(days=1), args.source, profile=args.profile),
    ]
    _print(args.contacts, orders, runs)


def _cached_database(cache: Path, contacts: int, orders: int, seed: int) -> Path:
    path = cache / f"recompute-{contacts}-{orders}-{seed}-v{GENERATOR_VERSION}.db"
    if path.exists():
        print(f"database: {path} (cached)")
        return path
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    _generate(partial, contacts, orders, np.random.default_rng(seed))
    partial.rename(path)
    print(f"database: {path} (generated in {time.perf_counter() - started:.0f} s)")
    return path


def _bring_up_to_date(database: Path) -> None:
    """The cached copy may predate the code: apply newer migrations, then create tables that
    an unreleased migration gained since (its revision id did not change)."""
    from retentio import migrate
    from retentio.db import get_engine
    from retentio.models_registry import Base

    url = f"sqlite:///{database}"
    migrate.upgrade(url)
    Base.metadata.create_all(get_engine(url))
    get_engine(url).dispose()


def _generate(path: Path, contacts: int, orders: int, rng: np.random.Generator) -> None:
    from retentio import migrate
    from retentio.db import get_engine

    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    get_engine(url).dispose()
    owner, placed_us = _purchases(rng, contacts, orders)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=OFF")
    connection.execute("PRAGMA synchronous=OFF")
    indexes = _drop_indexes(connection, ("contacts", "orders"))
    connection.execute("BEGIN")
    created = _sqlite_time(np.array([int(NOW.timestamp() * 1e6) - 86_400_000_000 * 4000]))[0]
    connection.executemany(
        "INSERT INTO contacts (id, first_name, available_to_all, is_anonymous, custom, "
        "created_at, updated_at) VALUES (?, ?, 0, 0, '{}', ?, ?)",
        ((i, f"C{i}", created, created) for i in range(1, contacts + 1)),
    )
    _insert_orders(connection, rng, owner, placed_us)
    connection.execute("COMMIT")
    for sql in indexes:
        connection.execute(sql)
    connection.execute("ANALYZE")
    connection.close()


def _purchases(
    rng: np.random.Generator, contacts: int, orders: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Every order's contact id and moment (epoch microseconds), in time order (as a shop's
    orders arrive, so one contact's orders are scattered over the table)."""
    buyers = rng.choice(np.arange(1, contacts + 1), size=int(contacts * BUYER_SHARE), replace=False)
    buyers.sort()
    age = rng.uniform(0.0, HISTORY_DAYS, buyers.size)
    lam = rng.gamma(R, 1.0 / ALPHA, buyers.size)
    drop = rng.beta(A, B, buyers.size)
    scale = 1.0
    for _ in range(6):  # rescale the purchase rates until the shop has (a little over) the size
        who, offset = _repeat_purchases(rng, lam * scale, drop, age)
        total = buyers.size + who.size
        if orders <= total <= orders * 1.1:
            break
        scale *= (orders - buyers.size) / max(who.size, 1) * 1.03
    keep = np.sort(rng.choice(who.size, size=max(orders - buyers.size, 0), replace=False))
    who, offset = who[keep], offset[keep]
    first_us = ((NOW.timestamp() - age * 86_400) * 1e6).astype(np.int64)
    owner = np.concatenate([np.arange(buyers.size), who])
    placed = first_us[owner] + np.concatenate([np.zeros(buyers.size), offset * 86_400e6]).astype(
        np.int64
    )
    order = np.lexsort((owner, placed))
    return buyers[owner[order]], placed[order]


def _repeat_purchases(
    rng: np.random.Generator, lam: NDArray[np.float64], drop: NDArray[np.float64], age: NDArray[Any]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    clock = np.zeros(lam.size)
    active = np.arange(lam.size)
    owners, offsets = [np.zeros(0, np.int64)], [np.zeros(0)]
    with np.errstate(divide="ignore"):
        while active.size:
            moment = clock[active] + rng.standard_exponential(active.size) / lam[active]
            inside = moment < age[active]
            active, moment = active[inside], moment[inside]
            owners.append(active)
            offsets.append(moment)
            clock[active] = moment
            active = active[rng.random(active.size) >= drop[active]]
    return np.concatenate(owners), np.concatenate(offsets)


def _insert_orders(
    connection: sqlite3.Connection,
    rng: np.random.Generator,
    owner: NDArray[np.int64],
    placed_us: NDArray[np.int64],
) -> None:
    # Gamma-Gamma: each contact's rate nu, then each order's value ~ Gamma(p, nu).
    nu = rng.gamma(Q, 1.0 / GAMMA, int(owner.max()) + 1)
    sql = (
        "INSERT INTO orders (id, external_id, contact_id, status, channel, currency, total, "
        "refunded_total, placed_at, custom, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, 'online', 'RUB', ?, ?, ?, '{}', ?, ?)"
    )
    for start in range(0, owner.size, CHUNK):
        who = owner[start : start + CHUNK]
        total = np.round(rng.gamma(P, 1.0 / nu[who]), 2)
        luck = rng.random(who.size)
        status = np.where(luck < CANCELLED_SHARE, "cancelled", "paid")
        refunded = np.where(
            (luck >= CANCELLED_SHARE) & (luck < CANCELLED_SHARE + REFUNDED_SHARE),
            np.round(total * 0.3, 2),
            0.0,
        )
        when = _sqlite_time(placed_us[start : start + CHUNK])
        ids = range(start + 1, start + who.size + 1)
        connection.executemany(
            sql,
            zip(
                ids,
                (f"B{i:09d}" for i in ids),
                who.tolist(),
                status.tolist(),
                total.tolist(),
                refunded.tolist(),
                when,
                when,
                when,
                strict=True,
            ),
        )


def _drop_indexes(connection: sqlite3.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' secondary indexes (rebuilt after the load: sorting beats B-tree inserts)."""
    marks = ", ".join("?" * len(tables))
    query = f"SELECT name, sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND type = 'index'"  # noqa: S608 - placeholders only
    rows = connection.execute(f"{query} AND sql IS NOT NULL", tables).fetchall()
    for name, _sql in rows:
        connection.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in rows]


def _sqlite_time(micros: NDArray[np.int64]) -> list[str]:
    # SQLAlchemy's SQLite DATETIME text format, as `UTCDateTime` stores UTC moments.
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return [value.replace("T", " ") for value in text.tolist()]


def _run_child(
    name: str, database: Path, now: datetime, source: Path | None, *, profile: bool
) -> Run:
    command = [sys.executable, __file__, "--child", str(database), now.isoformat()]
    command += ["--profile"] if profile else []
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source.resolve() / "src")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=ROOT, env=env)
    assert process.stdout is not None
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{name}: the recompute failed (status {status})")
    figures = json.loads(output.decode().strip().splitlines()[-1])
    # ru_maxrss is in KiB on Linux.
    return Run(name, figures["seconds"], figures["cpu_seconds"], usage.ru_maxrss / 1024, figures)


def _child(database: str, now: datetime, *, profile: bool) -> None:
    """The product's own full recompute, as `retentio recompute` runs it (one transaction)."""
    import cProfile
    import pstats
    from dataclasses import asdict

    from retentio.db import session_scope
    from retentio.profiles import service

    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    with session_scope(f"sqlite:///{database}") as session:
        result = service.recompute(session, now=now)
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    figures = asdict(result)
    figures.update(seconds=time.perf_counter() - started, cpu_seconds=time.process_time() - cpu)
    print(json.dumps(figures))


def _print(contacts: int, orders: int, runs: list[Run]) -> None:
    print(f"\nfull recompute, SQLite: {contacts:,} contacts, {orders:,} orders")
    print(f"{'run':<9}{'wall s':>9}{'CPU s':>9}{'peak MiB':>10}  rows written")
    for run in runs:
        written = {k: v for k, v in run.result.items() if k not in ("seconds", "cpu_seconds")}
        verdict = "ok" if run.seconds <= TARGET_SECONDS and run.peak_mib <= TARGET_MIB else "MISS"
        print(
            f"{run.name:<9}{run.seconds:>9.1f}{run.cpu_seconds:>9.1f}{run.peak_mib:>10.0f}  "
            f"{written}  [{verdict}]"
        )
    print(f"targets: <= {TARGET_SECONDS:.0f} s wall, <= {TARGET_MIB:.0f} MiB peak")


if __name__ == "__main__":
    main()
