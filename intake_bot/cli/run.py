"""`intake-bot run` and `intake-bot demo`."""

from __future__ import annotations

import logging
import secrets
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from intake_bot.application import Application
from intake_bot.cli.common import console, err_line, fail, state, table
from intake_bot.domain.outgoing import SendReport
from intake_bot.domain.polls import PollReport
from intake_bot.domain.triage import REFERENCE_PREFIX
from intake_bot.samples import demo_messages
from intake_bot.worker import Worker


def run(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One poll and one send, then exit.")] = False,
) -> None:
    """Poll the mailbox and send the outbox on their intervals, until SIGTERM."""
    app = state(ctx).app()
    app.database.ensure_ready()
    worker = Worker(app)
    if not once:
        worker.run_forever()
        return
    poll, send = _once_with_progress(worker)
    # A mailbox that could not be polled says why on one line (its fault names the setting).
    failed = [m for m in app.mailboxes.status() if m.last is not None and not m.last.ok]
    for box in failed:
        err_line(f"mailbox {box.name}: {box.last.detail if box.last else ''}")
    if poll is not None:
        _print_poll(poll)
    if send is not None:
        console.print(f"sent {send.sent}, deferred {send.deferred}, failed {send.failed}")
    if poll is None and failed:
        raise typer.Exit(2)
    if poll is None or send is None:
        fail("the database could not be reached (see the log)", code=1)


def _once_with_progress(worker: Worker) -> tuple[PollReport | None, SendReport | None]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console.rich,
        transient=True,
    ) as bar:
        task = bar.add_task("filing", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return worker.run_once(progress)


def _print_poll(report: PollReport) -> None:
    # Messages and requests are counted apart: one email can carry several forms, and an
    # enquiry or a reply files no request of its own.
    by_outcome = ", ".join(
        f"{n} {'with forms' if k == 'filed' else k}" for k, n in sorted(report.outcomes.items())
    )
    filed = len(report.references)
    console.print(
        f"examined {report.examined} new message(s)"
        + (f" ({by_outcome})" if by_outcome else "")
        + f"; {filed} request(s) filed"
        + (f" ({', '.join(report.references)})" if filed else "")
        + (f"; replies about {', '.join(report.threaded)}" if report.threaded else "")
        + f"; {report.not_ours} on other subjects left alone"
        + f"; {report.replies} repl{'y' if report.replies == 1 else 'ies'} queued"
        + (f"; {report.errors} error(s)" if report.errors else ""),
        markup=False,
        highlight=False,
    )


DEMO_ACCOUNTS = (
    ("caseworker@intake-bot-demo.nhs.uk", "Casey Worker", "caseworker", ("North",)),
    ("lead@intake-bot-demo.nhs.uk", "Lee Lead", "lead", ("North",)),
    ("admin@intake-bot-demo.nhs.uk", "Ada Admin", "admin", ("North", "London")),
)


def demo(
    ctx: typer.Context,
    web: Annotated[
        bool, typer.Option("--web", help="Then serve the web console on the demo data.")
    ] = False,
) -> None:
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
        app.deliver_sample(raw)
        console.print(f"   - {what}")
    app.database.ensure_ready()
    console.print(
        "[bold]2.[/bold] One cycle: poll the mailbox, file, queue the replies, send them."
    )
    poll, send = Worker(app).run_once()
    if poll is None or send is None:
        fail("the cycle failed (see the log)", code=1)
    _print_poll(poll)
    items = app.queues.items().items
    requests = sum(1 for i in items if i.reference.startswith(REFERENCE_PREFIX))
    console.print(
        f"[bold]3.[/bold] The staff queues: {requests} open request(s),"
        f" {len(items) - requests} message(s) without a request awaiting staff:"
    )
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
    _demo_accounts(app)
    console.print("Try: intake-bot queue, intake-bot parse FILE, intake-bot form -o blank.docx")
    if web:
        from intake_bot.cli.web import web as serve

        serve(ctx)


def _demo_accounts(app: Application) -> None:
    """One web console account per role, with a new password each, printed once."""
    web = app.settings.web
    console.print(
        f"[bold]5.[/bold] Web console accounts (start it with `intake-bot web`, then open"
        f" http://{web.host}:{web.port}/login):"
    )
    known = {m.email for m in app.staff.list()}
    for email, name, role, offices in DEMO_ACCOUNTS:
        if email in known:
            console.print(f"   {role:10} {email} (made by an earlier demo)", highlight=False)
            continue
        password = secrets.token_urlsafe(12)
        added = app.staff.add(
            email, name=name, offices=offices, role=role, password=password, actor="demo"
        )
        console.print(f"   {role:10} {email}  password: {password}", highlight=False, markup=False)
        if added.totp_uri:
            console.print(
                f"              and a code from an authenticator app set up with {added.totp_uri}",
                highlight=False,
                markup=False,
            )


def _to_and_subject(path: Path) -> tuple[str, str]:
    msg = message_from_bytes(path.read_bytes(), policy=default)
    return str(msg["To"]), str(msg["Subject"])
