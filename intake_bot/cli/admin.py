"""`intake-bot config`, `intake-bot db upgrade`, `intake-bot outbox`."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.checks import check_settings
from intake_bot.cli.common import console, fmt_time, print_json, state, table
from intake_bot.config import PACKAGED_CONFIG, ConfigError
from intake_bot.forms.version_files import newer_than_current, shipped_not_read

db_app = typer.Typer(help="The database: create or upgrade the schema.", no_args_is_help=True)
outbox_app = typer.Typer(
    help="Outgoing email: what is waiting, sent or failed.", invoke_without_command=True
)


def show_config(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Check everything the worker needs, without connecting: one line a problem; "
            "exit 2 if there is any.",
        ),
    ] = False,
) -> None:
    """Print the effective settings (file + environment), secrets masked."""
    if not check:
        print_json(state(ctx).settings().masked())
        return
    try:
        settings = state(ctx).settings()
    except ConfigError as exc:
        lines = exc.problems
    else:
        lines = [str(p) for p in check_settings(settings)]
    for line in lines:
        typer.echo(" ".join(line.split()))
    if lines:
        raise typer.Exit(2)
    forms = settings.paths.forms
    # not problems, as they may be meant: what is read, and what the bot ships that is not
    for note in [*newer_than_current(forms), *shipped_not_read(forms, PACKAGED_CONFIG / "forms")]:
        typer.echo(note)
    source = settings.source  # "(built-in defaults)" has its own brackets
    typer.echo(f"settings are fine {source if source.startswith('(') else f'({source})'}")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the schema, and load organisations and s251 approvals from config/."""
    done = state(ctx).app().database.upgrade()
    console.print(
        f"database at revision {done.current}; "
        f"{done.organisations} organisations loaded, {done.approvals} s251 approvals seeded"
    )


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision and whether it is up to date."""
    schema = state(ctx).app().database.status()
    console.print(f"revision {schema.current or '(empty)'}; latest {schema.head}")
    if not schema.up_to_date:
        raise typer.Exit(1)


@outbox_app.callback()
def outbox(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    failures: Annotated[
        int, typer.Option("--failures", min=0, help="How many of the newest failures to show.")
    ] = 10,
) -> None:
    """Outgoing email by status, and the newest failures with their last error."""
    if ctx.invoked_subcommand:
        return
    status = state(ctx).app().outbox.status(failures=failures)
    if as_json:
        print_json({"counts": status.counts, "failures": status.failures})
        return
    table("Outbox", ["status", "emails"], list(status.counts.items()))
    if status.failures:
        table(
            "Failures (newest first)",
            ["id", "about", "to", "subject", "attempts", "state", "last error"],
            [
                (
                    f.outbox_id,
                    f.request or f.kind,
                    ", ".join(f.recipients),
                    f.subject,
                    f.attempts,
                    "gave up"
                    if f.next_attempt_at is None
                    else f"retry {fmt_time(f.next_attempt_at)}",
                    f.last_error,
                )
                for f in status.failures
            ],
        )


@outbox_app.command("retry")
def outbox_retry(ctx: typer.Context) -> None:
    """Put every failed email back in the queue (once the cause is fixed)."""
    n = state(ctx).app().outbox.retry()
    console.print(f"{n} email(s) queued again")
