"""The `retentio` command: serve, migrate, manage users, build the demo shop."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table
from starlette.types import ASGIApp

from retentio import __version__, migrate
from retentio.auth import queries as auth_queries
from retentio.auth import service as auth_service
from retentio.auth.models import Role
from retentio.db import session_scope
from retentio.errors import RetentioError
from retentio.imports.mapping import ImportEntity
from retentio.imports.models import ImportJob
from retentio.settings import get_settings

app = typer.Typer(help="Retentio — retention-marketing CRM.", no_args_is_help=True)
user_app = typer.Typer(help="Manage the people who log in.", no_args_is_help=True)
app.add_typer(user_app, name="user")
console = Console()


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]Error:[/red] {message}")
    return typer.Exit(code=1)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(f"retentio {__version__}")


@app.command(name="migrate")
def migrate_command() -> None:
    """Upgrade the database schema to the version this code needs."""
    url = get_settings().database_url
    migrate.upgrade(url)
    console.print(f"[green]Database is at revision {migrate.current_revision(url)}.[/green]")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Web processes; above 1, run `retentio worker` apart.")
    ] = 1,
    worker: Annotated[
        bool | None,
        typer.Option(help="Run the background worker in this process (default: when --workers 1)."),
    ] = None,
) -> None:
    """Run the web application with Uvicorn (and, on a single box, the background worker)."""
    import uvicorn

    from retentio.app import create_app
    from retentio.logs import configure
    from retentio.worker import start_embedded_consumer

    settings = get_settings()
    configure(json=settings.json_logs)
    if workers > 1 and worker:
        # Each process would run its own consumer; one `retentio worker` serves them all.
        raise _fail("--worker needs --workers 1; with more, run `retentio worker` separately.")
    try:
        application = create_app()
    except RetentioError as error:
        raise _fail(error.message) from error
    console.print(f"Retentio {__version__} on [bold]http://{host}:{port}[/bold]")
    # Our access line (ops.RequestContext) replaces Uvicorn's, which prints query strings.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "log_config": None,
        "access_log": False,
    }
    if workers == 1:
        if worker is not False:
            start_embedded_consumer()
        uvicorn.run(application, **options)
        return
    _share_metrics_between_processes(settings.data_dir)
    uvicorn.run("retentio.cli:web_process_app", factory=True, workers=workers, **options)


def web_process_app() -> ASGIApp:
    """The app in each process of `serve --workers N`: spawned afresh, it sets up its logs."""
    from retentio.app import create_app
    from retentio.logs import configure

    configure(json=get_settings().json_logs)
    return create_app()


def _share_metrics_between_processes(data_dir: Path) -> None:
    """prometheus-client's multiprocess mode: each web process writes its counters to files
    that any of them sums when scraped. Emptied at start: old files would count twice."""
    import os
    import shutil

    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return
    folder = data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


@app.command(name="worker")
def worker_command(
    workers: Annotated[int, typer.Option(min=1, help="Worker threads in this process.")] = 2,
) -> None:
    """Run background workers (imports, schedules): with Redis, start as many as you like."""
    import retentio.tasks  # noqa: F401 - registers the tasks
    from retentio.logs import configure
    from retentio.migrate import ensure_current
    from retentio.worker import create_consumer, huey

    try:
        ensure_current(get_settings().database_url)
    except RetentioError as error:
        raise _fail(error.message) from error
    configure(json=get_settings().json_logs)
    console.print(f"Retentio worker: {workers} thread(s) on {type(huey).__name__}")
    # SIGTERM (systemd, Docker, Kubernetes) stops gracefully: tasks in flight finish their
    # batch and take no other (`worker.stopping()`), so an outbox batch already claimed ends
    # `sent`/`failed`, not `unknown`. A second SIGTERM or SIGINT interrupts at once.
    create_consumer(workers, graceful_signal="TERM").run()


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(prompt=True)],
    name: Annotated[str, typer.Option(prompt=True)],
    role: Annotated[Role, typer.Option()] = Role.ADMIN,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a user (the first one is usually an admin)."""
    try:
        with session_scope(get_settings().database_url) as session:
            user = auth_service.create_user(
                session, email=email, name=name, role=role, password=password
            )
            console.print(f"[green]Created {user.role.value} {user.email}.[/green]")
    except RetentioError as error:
        raise _fail(error.message) from error


@user_app.command("list")
def user_list() -> None:
    """List users and their roles."""
    table = Table("id", "e-mail", "name", "role", "active", "last login")
    with session_scope(get_settings().database_url) as session:
        for user in auth_queries.list_users(session):
            table.add_row(
                str(user.id),
                user.email,
                user.name,
                user.role.value,
                "yes" if user.is_active else "no",
                str(user.last_login_at or "—"),
            )
    console.print(table)


@user_app.command("set-password")
def user_set_password(
    email: Annotated[str, typer.Argument()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a user's password (logs them out everywhere)."""
    try:
        with session_scope(get_settings().database_url) as session:
            user = auth_queries.user_by_email(session, email)
            if user is None:
                raise _fail(f"No user with e-mail {email}.")
            auth_service.set_password(session, user, password)
    except RetentioError as error:
        raise _fail(error.message) from error
    console.print(f"[green]Password of {email} changed.[/green]")


@app.command(name="import")
def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV, XLSX, XLS or ODS")
    ],
    entity: Annotated[
        ImportEntity, typer.Option(help="What the rows are.")
    ] = ImportEntity.CONTACTS,
    mapping: Annotated[str | None, typer.Option(help="A saved mapping by name.")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Report what would change; change nothing.")
    ] = False,
    encoding: Annotated[str | None, typer.Option(help="Override the detected encoding.")] = None,
    delimiter: Annotated[str | None, typer.Option(help="Override the detected delimiter.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Spreadsheet sheet (default: first).")] = None,
    overwrite_empty: Annotated[bool, typer.Option(help="Empty cells clear fields.")] = False,
    resume: Annotated[
        int | None, typer.Option(help="Resume the interrupted job with this id.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 5_000,
) -> None:
    """Import a file, with a progress bar; prints the counts and where the rejected rows are."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from retentio.imports import service as imports_service
    from retentio.imports.runner import run_job

    settings = get_settings()
    url = settings.database_url
    try:
        with session_scope(url) as session:
            if resume is not None:
                job_id = resume
            else:
                saved = imports_service.mapping_by_name(session, mapping) if mapping else None
                options = {
                    **(saved.options if saved else {}),
                    "dry_run": dry_run,
                    "overwrite_empty": overwrite_empty,
                }
                job = imports_service.create_job(
                    session,
                    entity=saved.entity if saved else entity,
                    path=file.resolve(),
                    filename=file.name,
                    mapping=saved.mapping if saved else None,
                    options=options,
                    encoding=encoding,
                    delimiter=delimiter,
                    sheet=sheet,
                )
                job_id = job.id
        columns = (
            *Progress.get_default_columns()[:1],
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(f"Importing {file.name}", total=None)
            run_job(
                url,
                job_id,
                region=settings.default_region,
                batch_size=batch_size,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        with session_scope(url) as session:
            done = session.get(ImportJob, job_id)
            assert done is not None
            _print_job(done)
    except RetentioError as error:
        raise _fail(error.message) from error


def _print_job(job: ImportJob) -> None:
    table = Table("rows read", "inserted", "updated", "unchanged", "rejected")
    table.add_row(
        *(str(v) for v in (job.rows_read, job.inserted, job.updated, job.unchanged, job.rejected))
    )
    console.print(table)
    if job.options.get("dry_run"):
        console.print("[yellow]Dry run: nothing was changed.[/yellow]")
    if job.rejected:
        console.print(f"Rejected rows: job {job.id} (download them from Imports, or the API).")


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=10, help="Customers in the demo shop.")] = 2000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed builds the same shop.")
    ] = 42,
) -> None:
    """Migrate, then fill the database with a demo shop and print how to log in."""
    from rich.progress import Progress

    from retentio.demo.build import build_demo

    url = get_settings().database_url
    migrate.upgrade(url)
    password = secrets.token_urlsafe(9)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("Building the demo shop", total=1.0)

        def report(step: str, share: float) -> None:
            bar.update(task, completed=share, description=f"Demo shop: {step}")

        with session_scope(url) as session:
            login = build_demo(
                session, customers=customers, seed=seed, admin_password=password, progress=report
            )
    console.print(
        f"\n[bold green]Demo ready.[/bold green] Log in at {get_settings().base_url}/login as\n"
        f"  e-mail:   [bold]{login}[/bold]\n  password: [bold]{password}[/bold]\n"
        "  (marketer@, sales@ and analyst@ the same domain share this password)\n"
    )


@app.command()
def recompute() -> None:
    """Recompute every contact's profile (RFM, P(alive), CLV, churn band, stage)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from retentio.profiles import service as profiles_service

    columns = (
        *Progress.get_default_columns()[:1],
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("Recomputing profiles", total=None)
        with session_scope(get_settings().database_url) as session:
            result = profiles_service.recompute(
                session, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
    model = "fitted" if result.model_fitted else "not fitted (too few customers)"
    console.print(
        f"[green]{result.profiles} profiles[/green] ({result.customers} customers); "
        f"purchase model {model}; {result.lifecycle_changes} lifecycle moves recorded."
    )


@app.command(name="backup")
def backup_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Backup file (.gz: compressed).")],
) -> None:
    """Write a consistent copy of the database (safe while Retentio runs) to FILE."""
    from retentio import backup

    try:
        with console.status("Backing up") as status:
            manifest = backup.backup(
                get_settings().database_url, file, report=lambda line: _step(status, line)
            )
    except RetentioError as error:
        raise _fail(error.message) from error
    console.print(
        f"[green]Backup written to {file}[/green] ({manifest.engine}, "
        f"revision {manifest.schema_revision}, {file.stat().st_size:,} bytes)."
    )


@app.command(name="restore")
def restore_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="A file `retentio backup` wrote.")],
    force: Annotated[
        bool, typer.Option(help="Replace the data of a database that is not empty.")
    ] = False,
) -> None:
    """Replace the database with a backup, then migrate it to this version's schema."""
    from retentio import backup

    url = get_settings().database_url
    try:
        with console.status("Restoring") as status:
            manifest = backup.restore(
                url, file, force=force, report=lambda line: _step(status, line)
            )
    except RetentioError as error:
        raise _fail(error.message) from error
    console.print(
        f"[green]Restored the backup of {manifest.created_at}[/green]; "
        f"the database is at revision {migrate.current_revision(url)}."
    )


def _step(status: Status, line: str) -> None:
    console.print(f"• {line}")
    status.update(line)


if __name__ == "__main__":
    app()
