"""`intake-bot message show | answer | link | close | release`: enquiries and quarantine."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.cli.common import By, actor, console, fmt_time, print_json, state, table
from intake_bot.cli.requests import audit_table, refused
from intake_bot.domain.workflow import WorkflowError
from intake_bot.domain.workflow_views import MessageDetail

message_app = typer.Typer(
    help="Emails that hold no request (enquiries, quarantine): read, answer, link, close, release.",
    no_args_is_help=True,
)

MessageId = Annotated[str, typer.Argument(help="e.g. MSG-12 (or 12).")]


@message_app.command("show")
def show(
    ctx: typer.Context,
    message: MessageId,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The message: headers, its text as plain text, attachments, what the bot made of it."""
    try:
        detail = state(ctx).app().messages.show(message)
    except WorkflowError as exc:
        refused(exc)
    if as_json:
        print_json(detail)
        return
    _print(detail)


def _print(d: MessageDetail) -> None:
    where = f"in the {d.queue} queue" if d.awaiting_staff else "not awaiting staff"
    about = f", {d.request}" if d.request else ""
    _line(f"{d.reference}: {d.outcome}{about}, {where} — {d.note}")
    for label, value in (
        ("From", f"{d.sender_name} <{d.sender}>" if d.sender_name else d.sender),
        ("Reply-To", d.reply_to or ""),
        ("To", ", ".join(d.to)),
        ("Subject", d.subject),
        ("Date", fmt_time(d.sent_at)),
        ("Message-ID", d.message_id or ""),
        ("In-Reply-To", d.in_reply_to or ""),
        ("Filed", f"{fmt_time(d.filed_at)} from {d.mailbox}"),
    ):
        if value:
            _line(f"{label}: {value}")
    _line("")
    if d.unreadable:
        _line(f"(the message could not be read: {d.unreadable})")
    else:
        _line(d.body.rstrip() or "(no text)")
        if d.body_cut:
            _line(f"… {d.body_cut:,} more characters not shown")
    _line("")
    if d.attachments:
        table(
            "Attachments",
            ["file", "type", "bytes", "outcome", "note"],
            [(a.filename, a.content_type, f"{a.size:,}", a.outcome, a.note) for a in d.attachments],
        )
    if d.emails_out:
        table(
            "Emails out",
            ["created", "kind", "to", "status", "subject"],
            [
                (fmt_time(o.created_at), o.kind, ", ".join(o.to), o.status, o.subject)
                for o in d.emails_out
            ],
        )
    audit_table(d.events)


def _line(text: str) -> None:
    # What senders wrote: never read as markup, never highlighted.
    console.print(text, markup=False, highlight=False, soft_wrap=True)


@message_app.command("answer")
def answer(
    ctx: typer.Context,
    message: MessageId,
    template: Annotated[
        str | None,
        typer.Option("--template", help="A prepared answer: send_form or not_ours."),
    ] = None,
    text: Annotated[str | None, typer.Option("--text", help="Your own words.")] = None,
    by: By = "",
) -> None:
    """Email the sender (a prepared answer or your words), threaded on their message."""
    try:
        done = (
            state(ctx).app().messages.answer(message, actor=actor(by), template=template, text=text)
        )
    except WorkflowError as exc:
        refused(exc)
    _line(f"{done.reference}: answer queued to {done.to} ({done.subject})")


@message_app.command("link")
def link(
    ctx: typer.Context,
    message: MessageId,
    request: Annotated[str, typer.Argument(help="The request it belongs to, e.g. LR-000123.")],
    by: By = "",
) -> None:
    """Attach the message to a request as its correspondence; it leaves the queue."""
    try:
        done = state(ctx).app().messages.link(message, request, actor=actor(by))
    except WorkflowError as exc:
        refused(exc)
    _line(f"{done.reference}: linked to {done.request} (was in {done.queue_before})")


@message_app.command("close")
def close(
    ctx: typer.Context,
    message: MessageId,
    note: Annotated[str, typer.Option("--note", help="Why; kept in the audit trail.")],
    by: By = "",
) -> None:
    """Take the message out of its queue: nothing more to do."""
    try:
        done = state(ctx).app().messages.close(message, actor=actor(by), note=note)
    except WorkflowError as exc:
        refused(exc)
    _line(f"{done.reference}: closed (was in {done.queue_before})")


@message_app.command("release")
def release(
    ctx: typer.Context,
    message: MessageId,
    by: By = "",
    not_patient_data: Annotated[
        bool,
        typer.Option(
            "--not-patient-data",
            help="For a patient-data hold: you checked that the number is not an NHS number.",
        ),
    ] = False,
) -> None:
    """Run a quarantined message through intake again, once its cause is fixed."""
    try:
        done = (
            state(ctx)
            .app()
            .messages.release(message, actor=actor(by), not_patient_data=not_patient_data)
        )
    except WorkflowError as exc:
        refused(exc)
    made = f" as {done.result}" if done.result else ""
    filed = f": {', '.join(done.requests)}" if done.requests else ""
    _line(f"{done.reference}: released, {done.outcome}{made}{filed}")
