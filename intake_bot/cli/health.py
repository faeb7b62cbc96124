"""`intake-bot health`: for Docker's HEALTHCHECK and any monitor."""

from __future__ import annotations

import typer

from intake_bot.cli.common import state


def health(ctx: typer.Context) -> None:
    """Exit 0 when the database answers and every mailbox was polled within three of its
    intervals; otherwise print each problem on a line of stderr and exit 1."""
    found = state(ctx).app().operations.health()
    for problem in found.problems:
        typer.echo(f"unhealthy: {problem}", err=True)
    if not found.ok:
        raise typer.Exit(1)
    typer.echo("healthy")
