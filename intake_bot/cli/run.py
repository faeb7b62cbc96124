"""`intake-bot run` and `intake-bot demo`."""

from __future__ import annotations

import logging
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from intake_bot.bootstrap import App, load_reference_data
from intake_bot.cli.common import console, fail, state, table
from intake_bot.mail.maildir import deliver
from intake_bot.samples import demo_messages
from intake_bot.services.polling import PollReport
from intake_bot.services.queues import queue_items
from intake_bot.services.sending import SendReport
from intake_bot.store import migrate
from intake_bot.worker import Worker


def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One poll and one send, then exit.")] = False,
) -> None:
    """Poll the mailbox and send the outbox on their intervals, until SIGTERM."""
    app = state(ctx).app()
    _ensure_schema(app)
    worker = Worker(app)
    if not once:
        worker.run_forever()
        return
    poll, send = _once_with_progress(worker)
    if poll is None or send is None:
        fail("the mailbox or the database could not be reached (see the log)", code=1)
    _print_poll(poll)
    console.print(f"sent {send.sent}, deferred {send.deferred}, failed {send.failed}")


def _ensure_schema(app: App) -> None:
    """The embedded default (SQLite) needs no set-up step; other databases use `db upgrade`."""
    if migrate.current_revision(app.store) != migrate.head_revision():
        if not app.store.engine.url.drivername.startswith("sqlite"):
            fail("the database schema is not up to date: run `intake-bot db upgrade`")
        migrate.upgrade(app.store)
        load_reference_data(app)


def _once_with_progress(worker: Worker) -> tuple[PollReport | None, SendReport | None]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("filing", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return worker.run_once(progress)


def _print_poll(report: PollReport) -> None:
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())) or "nothing filed"
    console.print(
        f"examined {report.examined} new message(s): {outcomes}; "
        f"{report.not_ours} on other subjects left alone; {report.replies} replies queued"
        + (f"; {report.errors} error(s)" if report.errors else "")
    )


def demo(ctx: typer.Context) -> None:
    """Put sample emails in the local Maildir, run one cycle, and show the queues and replies."""
    settings = state(ctx).settings()
    logging.getLogger().setLevel(logging.WARNING)  # the demo prints its own story
    if not settings.mailbox.url.startswith("maildir:"):
        fail("the demo writes into a local Maildir: set mailbox.url to maildir:PATH")
    if not settings.outgoing.url.startswith("file:"):
        fail("the demo writes replies into a file outbox: set outgoing.url to file:PATH")
    app = state(ctx).app()
    maildir = Path(settings.mailbox.url.split(":", 1)[1])
    outbox = Path(settings.outgoing.url.split(":", 1)[1])
    console.print(f"[bold]1.[/bold] Delivering {len(demo_messages())} sample emails to {maildir}:")
    for what, raw in demo_messages():
        deliver(maildir, raw)
        console.print(f"   - {what}")
    _ensure_schema(app)
    console.print(
        "[bold]2.[/bold] One cycle: poll the mailbox, file, queue the replies, send them."
    )
    poll, send = Worker(app).run_once()
    if poll is None or send is None:
        fail("the cycle failed (see the log)", code=1)
    _print_poll(poll)
    console.print("[bold]3.[/bold] The staff queues:")
    items = queue_items(app.store, app.clock())
    table(
        "Queues",
        ["queue", "reference", "kind", "status", "about", "sender", "problems"],
        [(i.queue, i.reference, i.kind, i.status, i.summary, i.sender, i.problems) for i in items],
    )
    console.print(f"[bold]4.[/bold] {send.sent} replies written to {outbox}/:")
    newest = sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime)
    for path in newest[-send.sent :] if send.sent else []:
        to, subject = _to_and_subject(path)
        console.print(f"   to {to}: {subject}", highlight=False, markup=False)
    console.print("Try: intake-bot queue, intake-bot parse FILE, intake-bot form -o blank.docx")


def _to_and_subject(path: Path) -> tuple[str, str]:
    msg = message_from_bytes(path.read_bytes(), policy=default)
    return str(msg["To"]), str(msg["Subject"])
