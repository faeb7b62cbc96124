"""`intake-bot request show | set-status | assign`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, NoReturn

import typer

from intake_bot.cli.common import (
    By,
    actor,
    console,
    fail,
    fmt_date,
    fmt_time,
    print_json,
    state,
    table,
)
from intake_bot.domain.status import Status, parse_status
from intake_bot.domain.workflow import NotFoundError, WorkflowError
from intake_bot.domain.workflow_views import AuditEntry, LegalBasis, RequestDetail

request_app = typer.Typer(
    help="One request: show it, move it along, assign it.", no_args_is_help=True
)

Reference = Annotated[str, typer.Argument(help="e.g. LR-000123")]


def refused(exc: WorkflowError) -> NoReturn:
    """An unknown reference is a usage error (exit 2); any other refusal exits 1."""
    fail(str(exc), code=2 if isinstance(exc, NotFoundError) else 1)


@request_app.command("show")
def show(
    ctx: typer.Context,
    reference: Reference,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Everything about one request: fields, problems, emails in and out, attachments, trail."""
    try:
        detail = state(ctx).app().requests.show(reference)
    except WorkflowError as exc:
        refused(exc)
    if as_json:
        print_json(detail)
        return
    due = "" if detail.closed else f", due {fmt_date(detail.due_on) or '-'}"
    console.print(
        f"{detail.reference} {detail.kind} — {detail.status_label} ({detail.status})"
        f" in {detail.queue}{due}, assigned to {detail.assigned_to or 'nobody'}"
        + (f"; relationship {detail.relationship}" if detail.relationship else ""),
        markup=False,
        highlight=False,
    )
    warn_legal_basis(detail.legal_basis, detail.relationship or detail.reference)
    _print_detail(detail)


def warn_legal_basis(basis: LegalBasis | None, what: str) -> None:
    """The lines that say a relationship has, or will have, no legal basis."""
    if basis is None:
        return
    if basis.expired:
        console.print(
            f"LEGAL BASIS EXPIRED: {', '.join(basis.expired)}", style="bold red", markup=False
        )
    for lapse in basis.lapses_before_start:
        console.print(
            f"WARNING: {lapse.approval} expires on {fmt_date(lapse.expires)}, before {what}"
            f" takes effect on {fmt_date(lapse.takes_effect)}: it would start without a legal"
            " basis",
            style="bold red",
            markup=False,
        )


def _print_detail(d: RequestDetail) -> None:
    table("Fields", ["field", "value"], list(d.fields))
    for title, lines in (
        ("Problems (the sender was told)", d.problems),
        ("Flags for staff", d.flags),
    ):
        if lines:
            console.print(title, style="bold", markup=False)
            for line in lines:
                console.print(f"  - {line}", markup=False, highlight=False)
    table(
        "Emails in",
        ["message", "filed", "from", "subject", "outcome"],
        [(m.reference, fmt_time(m.filed_at), m.sender, m.subject, m.outcome) for m in d.emails_in],
    )
    table(
        "Emails out",
        ["created", "kind", "to", "status", "subject"],
        [
            (fmt_time(o.created_at), o.kind, ", ".join(o.to), o.status, o.subject)
            for o in d.emails_out
        ],
    )
    if d.attachments:
        table(
            "Attachments",
            ["file", "bytes", "outcome"],
            [(a.filename, f"{a.size:,}", a.outcome) for a in d.attachments],
        )
    audit_table(d.events)


def audit_table(events: Sequence[AuditEntry]) -> None:
    table(
        "Audit trail",
        ["at", "who", "what", "from", "to", "note"],
        [
            (fmt_time(e.at), e.actor, e.action, e.from_status or "", e.to_status or "", e.note)
            for e in events
        ],
    )


@request_app.command("set-status")
def set_status(
    ctx: typer.Context,
    reference: Reference,
    status: Annotated[str, typer.Argument(help=", ".join(s.value for s in Status))],
    note: Annotated[
        str, typer.Option("--note", help="Why. The requester is told when the status is.")
    ] = "",
    by: By = "",
) -> None:
    """Move a request along (e.g. in_review, approved, rejected --note "why", withdrawn)."""
    target = parse_status(status)
    if target is None:
        fail(f"unknown status {status!r}; one of: {', '.join(s.value for s in Status)}")
    try:
        change = (
            state(ctx).app().requests.change_status(reference, target, actor=actor(by), note=note)
        )
    except WorkflowError as exc:
        refused(exc)
    extra = f"; relationship {change.relationship}" if change.relationship else ""
    told = "; the requester will be emailed" if change.email_queued else ""
    console.print(
        f"{change.reference}: {change.from_status} → {change.to_status}{extra}{told}",
        markup=False,
        highlight=False,
    )
    warn_legal_basis(change.legal_basis, change.relationship or change.reference)


@request_app.command("assign")
def assign_request(
    ctx: typer.Context,
    reference: Reference,
    name: Annotated[str, typer.Argument(help="Who takes it (empty to unassign).")],
    by: By = "",
) -> None:
    """Give a request to a member of staff."""
    try:
        done = state(ctx).app().requests.assign(reference, name, actor=actor(by))
    except WorkflowError as exc:
        refused(exc)
    console.print(
        f"{done.reference}: {done.before or 'nobody'} → {done.after or 'nobody'}",
        markup=False,
        highlight=False,
    )
