"""`intake-bot status`: each mailbox's last poll, the backlog, the outbox and the quarantine."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.cli.common import console, fmt_time, print_json, state, table


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Each mailbox's last poll (when, and what it found or why it failed), the staff backlog,
    the outbox (pending, failed, the last errors), the quarantine and its patient-data holds.

    Exits 1 when a mailbox's last poll failed, so that a monitor can run it.
    """
    now = state(ctx).app().operations.status()
    failing = [m.name for m in now.mailboxes if m.last is not None and not m.last.ok]
    if as_json:
        print_json(now)
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
                for m in now.mailboxes
            ],
        )
        out = now.outbox
        lines = [
            f"backlog: {now.backlog} open requests and messages waiting for staff",
            f"outbox: {out.get('pending', 0)} pending, {out.get('sending', 0)} sending, "
            f"{out.get('failed', 0)} failed",
            *(
                f"  {f.status} #{f.outbox_id} to {', '.join(f.recipients)}: {f.last_error}"
                for f in now.outbox_failures
            ),
            f"quarantine: {now.quarantine} messages, "
            f"{now.patient_data_holds} held for patient data",
        ]
        for line in lines:
            console.print(line, highlight=False, markup=False)
    if failing:
        raise typer.Exit(1)
