"""Back up and restore the database behind `retentio backup` / `retentio restore`.

A backup is one tar file (gzip-compressed when its name ends in `.gz`) holding `manifest.json`
(schema revision, time, engine, Retentio version) and the database: an online copy made with
SQLite's backup API, or a `pg_dump --format=custom` archive. Only the database is saved: the
data directory's `queue.db` holds transient jobs and the dev secret key is not data.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from retentio import __version__, migrate
from retentio.db import get_engine, is_sqlite, utcnow
from retentio.errors import RetentioError

MANIFEST = "manifest.json"
SQLITE_MEMBER = "retentio.sqlite3"
POSTGRES_MEMBER = "retentio.pgdump"
FORMAT = 1

Report = Callable[[str], None]


class BackupError(RetentioError):
    code = "backup_error"


@dataclass(frozen=True)
class Manifest:
    format: int
    engine: str
    schema_revision: str | None
    created_at: str
    retentio_version: str


def backup(url: str, file: Path, *, report: Report = lambda _line: None) -> Manifest:
    """Write a consistent copy of the database at `url` to `file`; returns its manifest."""
    with _database_errors():
        return _backup(url, file, report)


def restore(url: str, file: Path, *, force: bool, report: Report = lambda _line: None) -> Manifest:
    """Replace the database at `url` with the backup in `file`, then migrate it to head."""
    with _database_errors():
        return _restore(url, file, force, report)


@contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except OperationalError as error:
        raise BackupError(f"Cannot use the database: {error.orig}") from error


def _backup(url: str, file: Path, report: Report) -> Manifest:
    manifest = Manifest(
        format=FORMAT,
        engine="sqlite" if is_sqlite(url) else "postgresql",
        schema_revision=migrate.current_revision(url),
        created_at=utcnow().isoformat(timespec="seconds"),
        retentio_version=__version__,
    )
    file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=file.parent, prefix=".retentio-backup-") as work:
        if manifest.engine == "sqlite":
            member, copy = SQLITE_MEMBER, Path(work) / SQLITE_MEMBER
            report("Copying the SQLite database (online backup API)")
            _sqlite_copy(_sqlite_path(url), copy)
        else:
            member, copy = POSTGRES_MEMBER, Path(work) / POSTGRES_MEMBER
            report("Dumping the PostgreSQL database (pg_dump --format=custom)")
            _run_pg_tool("pg_dump", url, ["--format=custom", f"--file={copy}"])
        report(f"Writing {file}")
        # Written beside the target and renamed: a crash never leaves a half backup under `file`.
        partial = Path(work) / "partial"
        with tarfile.open(partial, "w:gz" if file.name.endswith(".gz") else "w") as archive:
            body = json.dumps(asdict(manifest), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
            archive.add(copy, arcname=member)
        partial.replace(file)
    return manifest


def _restore(url: str, file: Path, force: bool, report: Report) -> Manifest:
    engine_name = "sqlite" if is_sqlite(url) else "postgresql"
    with tempfile.TemporaryDirectory(prefix="retentio-restore-") as work:
        manifest, copy = _unpack(file, Path(work))
        if manifest.engine != engine_name:
            raise BackupError(
                f"{file} is a {manifest.engine} backup; the configured database is {engine_name}."
            )
        _check_revision(url, manifest.schema_revision)
        if not force and not _is_empty(url):
            raise BackupError(
                "The target database is not empty; restoring would replace its data. "
                "Run again with --force to do so."
            )
        report(
            f"Restoring a backup made {manifest.created_at} (revision {manifest.schema_revision})"
        )
        if engine_name == "sqlite":
            _sqlite_copy(copy, _sqlite_path(url))
        else:
            _pg_restore(url, copy)
    get_engine(url).dispose()
    report("Migrating the restored database to this version's schema")
    migrate.upgrade(url)
    return manifest


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy page by page under SQLite's locks: consistent while the app writes, and a live
    target is replaced whole (its WAL included) rather than overwritten under its readers."""
    if not source.exists():
        raise BackupError(f"There is no SQLite database at {source}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(source)) as source_db,
        closing(sqlite3.connect(target)) as target_db,
    ):
        source_db.execute("PRAGMA busy_timeout=30000")
        target_db.execute("PRAGMA busy_timeout=30000")
        source_db.backup(target_db)


def _unpack(file: Path, work: Path) -> tuple[Manifest, Path]:
    if not file.is_file():
        raise BackupError(f"There is no backup file at {file}.")
    try:
        with tarfile.open(file, "r:*") as archive:
            manifest = _read_manifest(archive.extractfile(MANIFEST))
            member = SQLITE_MEMBER if manifest.engine == "sqlite" else POSTGRES_MEMBER
            stream = archive.extractfile(member)
            if stream is None:
                raise KeyError(member)
            copy = work / member
            with copy.open("wb") as out:
                shutil.copyfileobj(stream, out)
    except (tarfile.TarError, KeyError, ValueError, TypeError, OSError) as error:
        raise BackupError(f"{file} is not a readable Retentio backup ({error}).") from error
    return manifest, copy


def _read_manifest(stream: IO[bytes] | None) -> Manifest:
    if stream is None:
        raise KeyError(MANIFEST)
    manifest = Manifest(**json.load(stream))
    if manifest.format != FORMAT or manifest.engine not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown backup format {manifest.format} / {manifest.engine}")
    return manifest


def _check_revision(url: str, revision: str | None) -> None:
    """A revision this code does not know comes from a newer Retentio: its tables would not
    match these models, and migrations cannot go back to them."""
    if revision is None:
        return
    scripts = ScriptDirectory.from_config(migrate.alembic_config(url))
    try:
        known = scripts.get_revision(revision) is not None
    except CommandError:  # alembic's error for an unknown revision
        known = False
    if not known:
        raise BackupError(
            f"The backup's schema revision {revision} is newer than this version of Retentio "
            f"(head {scripts.get_current_head()}); restore it with the version that made it "
            "or a later one."
        )


def _is_empty(url: str) -> bool:
    with get_engine(url).connect() as connection:
        tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
        return all(
            connection.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1')).first() is None  # noqa: S608 - names from the catalogue
            for table in tables
        )


def _pg_restore(url: str, dump: Path) -> None:
    """pg_restore drops and recreates the dump's tables; tables a newer schema added are
    dropped first, or their foreign keys would block the drop and the upgrade would collide."""
    listing = _run_pg_tool("pg_restore", url, ["--list", str(dump)], connect=False)
    in_dump = set(re.findall(r" TABLE public (\S+) ", listing))
    with get_engine(url).begin() as connection:
        for table in inspect(connection).get_table_names():
            if table not in in_dump:
                connection.execute(text(f'DROP TABLE "{table}" CASCADE'))
    get_engine(url).dispose()
    _run_pg_tool(
        "pg_restore",
        url,
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(dump)],
    )


def _run_pg_tool(tool: str, url: str, arguments: list[str], *, connect: bool = True) -> str:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client).")
    env = dict(os.environ)
    command = [tool, *arguments]
    if connect:
        _check_client_version(tool, url)
        parsed = make_url(url)
        if parsed.password:
            # PGPASSWORD, never the command line, which any local user can read in `ps`.
            env["PGPASSWORD"] = str(parsed.password)
        command.insert(1, f"--dbname={libpq_url(url)}")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - fixed tool, arguments built here
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq reads it: no driver suffix and no password."""
    parsed = make_url(url)
    return URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    ).render_as_string(hide_password=False)


def _check_client_version(tool: str, url: str) -> None:
    """pg_dump refuses a newer server with a terse message; say which package to install."""
    output = subprocess.run(  # noqa: S603 - fixed tool
        [tool, "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", output)
    client = int(match.group(1)) if match else 0
    with get_engine(url).connect() as connection:
        server = int(connection.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    if server > client:
        raise BackupError(
            f"The PostgreSQL server is version {server} but {tool} is version {client}; "
            f"install postgresql-client-{server} (a client at least as new as the server)."
        )
