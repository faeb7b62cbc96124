"""`intake-bot s251 list | add | extend | remind`: the section 251 (CAG) approvals register."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from intake_bot.cli.common import console, fail, print_json, state, table
from intake_bot.domain import values as v
from intake_bot.services.approvals import (
    ApprovalError,
    ApprovalListing,
    add_approval,
    extend_approval,
    list_approvals,
)
from intake_bot.worker import Worker

s251_app = typer.Typer(
    help="Section 251 (CAG) approvals: list, add, extend, and the reminders before they expire.",
    no_args_is_help=True,
)


def _date(text: str, option: str) -> date:
    try:
        return v.parse_date(text)
    except v.ValueProblem as problem:
        fail(f"{option}: {text!r} is not {problem.expected}")


@s251_app.command("list")
def s251_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Every approval: its expiry, days left, the relationships relying on it, its extensions."""
    app = state(ctx).app()
    today = app.clock().astimezone(ZoneInfo(app.settings.timezone)).date()
    approvals = list_approvals(app.store, today=today)
    if as_json:
        print_json([a.as_dict() for a in approvals])
        return
    if not approvals:
        console.print("no approvals on the register")
        return
    columns = ["reference", "title", "purposes", "expires", "days left", "relationships"]
    table("Section 251 approvals", columns, [_list_row(a) for a in approvals])


def _list_row(a: ApprovalListing) -> list[str]:
    extended = f" (extended {len(a.extensions)}x)" if a.extensions else ""
    left = "expired" if a.days_left < 0 else "expires today" if a.expired else str(a.days_left)
    relying = (
        ", ".join(a.relationships)
        if len(a.relationships) <= 5
        else (f"{len(a.relationships)}: {', '.join(a.relationships[:5])}…")
    )
    cells = [a.reference, a.title, "; ".join(a.purposes), f"{a.expires:%d/%m/%Y}{extended}", left]
    return [escape(cell) for cell in [*cells, relying or "-"]]


@s251_app.command("add")
def s251_add(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help='A CAG reference, e.g. "CAG 7-04(a)/2013".')],
    title: Annotated[str, typer.Option("--title", help="What the approval allows.")],
    purposes: Annotated[
        str, typer.Option("--purposes", help='The purposes it covers, e.g. "Invoice validation".')
    ],
    expires: Annotated[
        str, typer.Option("--expires", help="The last day it may be relied on, e.g. 31/03/2017.")
    ],
    by: Annotated[str, typer.Option("--by", help="Who, for the audit trail.")] = "staff",
) -> None:
    """Put a new approval on the register."""
    app = state(ctx).app()
    try:
        ref = add_approval(
            app.store,
            reference=reference,
            title=title,
            purposes=v.split_list(purposes),
            expires=_date(expires, "--expires"),
            by=by,
            now=app.clock(),
        )
    except ApprovalError as exc:
        fail(str(exc))
    console.print(f"{ref} added", highlight=False, markup=False)


@s251_app.command("extend")
def s251_extend(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help='A CAG reference, e.g. "CAG 7-04(a)/2013".')],
    until: Annotated[str, typer.Option("--until", help="The new expiry date, e.g. 31/03/2018.")],
    note: Annotated[str, typer.Option("--note", help="Why, e.g. the CAG letter.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who, for the audit trail.")] = "staff",
) -> None:
    """Move an approval's expiry date to a later one; reminders follow the new date."""
    app = state(ctx).app()
    try:
        extension = extend_approval(
            app.store,
            reference,
            until=_date(until, "--until"),
            note=note,
            by=by,
            now=app.clock(),
        )
    except ApprovalError as exc:
        fail(str(exc))
    console.print(
        f"extended from {extension.previous_expiry:%d/%m/%Y} to {extension.new_expiry:%d/%m/%Y}",
        highlight=False,
    )


@s251_app.command("remind")
def s251_remind(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Run today's reminder job now: reminders, expiry alerts and office summaries, each once."""
    app = state(ctx).app()
    report = Worker(app).reminders()
    if report is None:
        fail("the database is unavailable; nothing was sent")
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"{report.day:%d/%m/%Y}: {report.emails} reminder email(s) queued, "
        f"{len(report.expiry_alerts)} expiry alert(s), {len(report.summaries)} office summary(ies)",
        highlight=False,
    )
    for sent in report.sent:
        when = "expiry notice" if sent.offset_days == 0 else f"{sent.offset_days} days before"
        to = ", ".join(sent.recipients) or "nobody (no address on the register)"
        console.print(
            f"  {sent.reference} ({when}): {', '.join(sent.relationships)} → {to}",
            highlight=False,
            markup=False,
        )
    if report.unrouted:
        console.print(
            "relationships of no configured regional office (staff not told): "
            + ", ".join(report.unrouted),
            highlight=False,
            markup=False,
        )
