"""`intake-bot request show | set-status | assign`."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer
from rich.markup import escape

from intake_bot.cli.common import console, fail, print_json, state, table
from intake_bot.domain.status import Status, parse_status
from intake_bot.services.lifecycle import LifecycleError, assign, change_status, request_detail

request_app = typer.Typer(
    help="One request: show it, move it along, assign it.", no_args_is_help=True
)

By = Annotated[str, typer.Option("--by", help="Who is acting (recorded in the audit trail).")]


def _me() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "staff"


@request_app.command("show")
def show(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="e.g. LR-000123")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Everything about one request: fields, problems, emails in and out, attachments, trail."""
    app = state(ctx).app()
    try:
        detail = request_detail(app.store, reference, app.clock())
    except LifecycleError as exc:
        fail(str(exc), code=1)
    if as_json:
        print_json(detail)
        return
    _print_detail(detail)


def _print_detail(d: dict[str, Any]) -> None:
    console.print(
        f"[bold]{d['reference']}[/bold] {d['type']} — {d['status']} in {d['queue']}"
        f" (due {d['due_on'] or '-'}, assigned to {d['assigned_to'] or 'nobody'})"
    )
    if d["legal_basis_expired"]:
        console.print(
            "[bold red]Legal basis expired:[/bold red] "
            + escape(", ".join(d["legal_basis_expired"]))
        )
    table("Fields", ["field", "value"], list(d["fields"].items()))
    for title, key in (
        ("Problems (the sender was told)", "problems"),
        ("Flags for staff", "flags"),
    ):
        if d[key]:
            console.print(f"[bold]{title}[/bold]")
            for line in d[key]:
                console.print(f"  - {line}", markup=False, highlight=False)
    table(
        "Emails in",
        ["filed", "from", "subject", "outcome"],
        [(m["filed_at"][:16], m["from"], m["subject"], m["outcome"]) for m in d["emails_in"]],
    )
    table(
        "Emails out",
        ["created", "kind", "to", "status", "subject"],
        [
            (o["created_at"][:16], o["kind"], ", ".join(o["to"]), o["status"], o["subject"])
            for o in d["emails_out"]
        ],
    )
    if d["attachments"]:
        table(
            "Attachments",
            ["file", "bytes", "outcome"],
            [(a["filename"], a["size"], a["outcome"]) for a in d["attachments"]],
        )
    table(
        "Audit trail",
        ["at", "who", "what", "from", "to", "note"],
        [
            (e["at"][:16], e["actor"], e["action"], e["from"] or "", e["to"] or "", e["note"])
            for e in d["events"]
        ],
    )


@request_app.command("set-status")
def set_status(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="e.g. LR-000123")],
    status: Annotated[str, typer.Argument(help=", ".join(s.value for s in Status))],
    note: Annotated[str, typer.Option("--note", help="Why; the requester is told.")] = "",
    by: By = "",
) -> None:
    """Move a request along (e.g. in_review, approved, rejected --note "why", withdrawn)."""
    target = parse_status(status)
    if target is None:
        fail(f"unknown status {status!r}; one of: {', '.join(s.value for s in Status)}")
    app = state(ctx).app()
    try:
        change = change_status(
            store=app.store,
            notifier=app.intake.notifier,
            reference=reference,
            target=target,
            now=app.clock(),
            actor=by or _me(),
            note=note,
            targets=app.intake.targets,
        )
    except LifecycleError as exc:
        fail(str(exc), code=1)
    extra = f"; relationship {change.relationship}" if change.relationship else ""
    told = "; the requester will be emailed" if change.email_queued else ""
    console.print(f"{change.reference}: {change.from_status} → {change.to_status}{extra}{told}")


@request_app.command("assign")
def assign_request(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="e.g. LR-000123")],
    name: Annotated[str, typer.Argument(help="Who takes it (empty to unassign).")],
    by: By = "",
) -> None:
    """Give a request to a member of staff."""
    app = state(ctx).app()
    try:
        before = assign(
            store=app.store, reference=reference, name=name, now=app.clock(), actor=by or _me()
        )
    except LifecycleError as exc:
        fail(str(exc), code=1)
    console.print(f"{reference}: {before or 'nobody'} → {name or 'nobody'}")
