"""`intake-bot retention run`: purge the raw mail that the retention rules say is due."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.cli.common import console, fmt_time, print_json, state, table

retention_app = typer.Typer(
    help="Retention: raw mail purged once it is no longer needed.", no_args_is_help=True
)


@retention_app.command("run")
def run(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be purged.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Purge the raw message and attachments of reviewed patient-data holds, and of requests
    closed more than `retention.closed_days` ago. The records and audit trail remain."""
    report = state(ctx).app().retention.run(dry_run=dry_run)
    if as_json:
        print_json(report)
        return
    table(
        "Would purge" if dry_run else "Purged",
        ["message", "requests", "attachments", "bytes", "why"],
        [
            (f"MSG-{p.inbound_id}", " ".join(p.requests), p.attachments, p.bytes, p.reason)
            for p in report.purged
        ],
    )
    verb = "would free" if dry_run else "freed"
    console.print(
        f"{len(report.purged)} message(s), {verb} {report.bytes} bytes; requests closed "
        f"before {fmt_time(report.closed_before)} count as due",
        highlight=False,
        markup=False,
    )
