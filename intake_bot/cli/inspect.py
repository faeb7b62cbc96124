"""`intake-bot parse`, `intake-bot form`, `intake-bot queue`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from intake_bot.bootstrap import reference_data_from_config, utc_now
from intake_bot.calendar import today_in_england
from intake_bot.cli.common import console, fail, print_json, state, table
from intake_bot.config import Settings
from intake_bot.domain.validation import ValidationContext
from intake_bot.forms.generate import blank_docx, blank_xlsx
from intake_bot.services.intake import approval_info
from intake_bot.services.preview import Preview, Verdict, preview
from intake_bot.services.queues import queue_items


def parse(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A raw email (.eml) or a single form file.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Show what would be filed or rejected, and why. Exit 0 accepted, 1 rejected, 2 unreadable."""
    settings = state(ctx).settings()
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    result = preview(file.name, data, _offline_context(settings), settings.mailbox.subject)
    if as_json:
        print_json(result.as_dict())
    else:
        _show_preview(file, result)
    raise typer.Exit(int(result.verdict))


def _offline_context(settings: Settings) -> ValidationContext:
    """Validation rules from config/ alone, so that `parse` needs no database."""
    orgs, approvals = reference_data_from_config(settings)
    return ValidationContext(
        today=today_in_england(utc_now()),
        dscros=tuple(d.name for d in settings.dscro),
        known_ods=frozenset(o.ods for o in orgs),
        allowed_domains=tuple(settings.senders.allowed_domains),
        approvals={a.reference: approval_info(a) for a in approvals},
        purposes_needing_approval=frozenset(settings.purposes_needing_approval),
    )


def _show_preview(file: Path, result: Preview) -> None:
    colour = {Verdict.ACCEPTED: "green", Verdict.REJECTED: "yellow", Verdict.UNREADABLE: "red"}[
        result.verdict
    ]
    console.print(
        f"[bold]{file.name}[/bold] ({result.kind}): "
        f"[{colour}]{result.verdict.name.lower()}[/{colour}]"
        f" - {result.summary}",
        highlight=False,
        markup=True,
    )
    for key in ("subject", "from", "subject_matches"):
        if key in result.details:
            console.print(f"  {key}: {result.details[key]}", highlight=False, markup=False)
    for r in result.rejections:
        console.print(
            f"  cannot read {r['filename']}: {r['reason']}", highlight=False, markup=False
        )
    for r in result.requests:
        state_text = "complete" if r["complete"] else f"{len(r['problems'])} problem(s)"
        console.print(
            f"  request from {r['source']}: {r['request_type'] or 'type unknown'}, {state_text}",
            highlight=False,
            markup=False,
        )
        for p in r["problems"]:
            console.print(f"    - {p}", highlight=False, markup=False)
        for f in r["flags"]:
            console.print(f"    ! {f}", highlight=False, markup=False)


class FormFormat(StrEnum):
    docx = "docx"
    xlsx = "xlsx"


def form(
    ctx: typer.Context,
    fmt: Annotated[
        FormFormat, typer.Option("--format", "-f", help="docx or xlsx.")
    ] = FormFormat.docx,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the blank form.")
    ] = Path("legitimate-relationship-request.docx"),
) -> None:
    """Write the blank request form that commissioners fill in."""
    offices = tuple(d.name for d in state(ctx).settings().dscro)
    data = blank_docx(offices) if fmt is FormFormat.docx else blank_xlsx(offices)
    output.write_bytes(data)
    console.print(f"wrote {output} ({len(data):,} bytes)")


def queue(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="One queue, e.g. north/new.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The staff queues: open requests per regional office and kind, enquiries, quarantine."""
    app = state(ctx).app()
    items = queue_items(app.store, app.clock(), name)
    if as_json:
        print_json([i.as_dict() for i in items])
        return
    if not items:
        console.print("every queue is empty")
        return
    table(
        "Queues",
        [
            "queue",
            "reference",
            "kind",
            "status",
            "about",
            "sender",
            "received",
            "age (days)",
            "due",
            "assigned",
            "problems",
            "legal basis",
        ],
        [
            (
                i.queue,
                i.reference,
                i.kind,
                i.status,
                i.summary,
                i.sender,
                i.received,
                i.age_days,
                (f"{i.due_on} OVERDUE" if i.overdue else i.due_on),
                i.assigned_to,
                i.problems,
                ("EXPIRED " + ", ".join(i.legal_basis_expired)) if i.legal_basis_expired else "",
            )
            for i in items
        ],
    )
