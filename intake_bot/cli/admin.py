"""`intake-bot config`, `intake-bot db upgrade`, `intake-bot outbox`."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.bootstrap import load_reference_data
from intake_bot.cli.common import console, print_json, state, table
from intake_bot.store import migrate

db_app = typer.Typer(help="The database: create or upgrade the schema.", no_args_is_help=True)
outbox_app = typer.Typer(
    help="Outgoing email: what is waiting, sent or failed.", invoke_without_command=True
)


def show_config(ctx: typer.Context) -> None:
    """Print the effective settings (file + environment), secrets masked."""
    print_json(state(ctx).settings().masked())


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the schema, and load organisations and s251 approvals from config/."""
    app = state(ctx).app()
    migrate.upgrade(app.store)
    orgs, approvals = load_reference_data(app)
    console.print(
        f"database at revision {migrate.current_revision(app.store)}; "
        f"{orgs} organisations loaded, {approvals} s251 approvals seeded"
    )


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision and whether it is up to date."""
    app = state(ctx).app()
    current, head = migrate.current_revision(app.store), migrate.head_revision()
    console.print(f"revision {current or '(empty)'}; latest {head}")
    if current != head:
        raise typer.Exit(1)


@outbox_app.callback()
def outbox(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Counts of outgoing email by status."""
    if ctx.invoked_subcommand:
        return
    app = state(ctx).app()
    with app.store.unit() as unit:
        counts = unit.outbox_counts()
    if as_json:
        print_json(counts)
    else:
        table("Outbox", ["status", "emails"], sorted(counts.items()))


@outbox_app.command("retry")
def outbox_retry(ctx: typer.Context) -> None:
    """Put every failed email back in the queue (once the cause is fixed)."""
    app = state(ctx).app()
    with app.store.unit() as unit:
        n = unit.retry_failed(app.clock())
    console.print(f"{n} email(s) queued again")
