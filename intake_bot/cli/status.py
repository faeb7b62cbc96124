"""`intake-bot status`: how each mailbox's last poll went, and what waits in the outbox."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.cli.common import console, fmt_time, print_json, state, table


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Each mailbox's last poll (when, and what it found or why it failed) and the outbox.

    Exits 1 when a mailbox's last poll failed, so that a monitor can run it.
    """
    app = state(ctx).app()
    mailboxes = app.mailboxes.status()
    counts = app.outbox.status(failures=0).counts
    failing = [m.name for m in mailboxes if m.last is not None and not m.last.ok]
    if as_json:
        print_json({"mailboxes": mailboxes, "outbox": counts})
    else:
        table(
            "Mailboxes",
            ["mailbox", "polled every", "last poll", "result", "failing since"],
            [
                (
                    m.name,
                    f"{m.poll_interval_seconds} s",
                    fmt_time(m.last.polled_at) if m.last else "never",
                    m.result,
                    fmt_time(m.last.failing_since) if m.last else "",
                )
                for m in mailboxes
            ],
        )
        console.print(
            f"outbox: {counts.get('pending', 0)} pending, {counts.get('sending', 0)} sending, "
            f"{counts.get('failed', 0)} failed",
            highlight=False,
        )
    if failing:
        raise typer.Exit(1)
