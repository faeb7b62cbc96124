"""`intake-bot s251 list | add | extend | remind`: the section 251 (CAG) approvals register."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from intake_bot.cli.common import console, default_actor, fail, fmt_date, print_json, state, table
from intake_bot.domain import values as v
from intake_bot.domain.approvals import ApprovalError, ApprovalListing
from intake_bot.domain.reminders import EXPIRY_NOTICE

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
    approvals = state(ctx).app().s251.list()
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
    # `table` escapes the cells: a title may hold "[...]", which rich would take for markup.
    return [
        a.reference,
        a.title,
        "; ".join(a.purposes),
        fmt_date(a.expires) + extended,
        left,
        relying or "-",
    ]


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
    by: Annotated[
        str | None, typer.Option("--by", help="Who, for the audit trail (default: you).")
    ] = None,
) -> None:
    """Put a new approval on the register."""
    s251 = state(ctx).app().s251
    try:
        ref = s251.add(
            reference=reference,
            title=title,
            purposes=v.split_list(purposes),
            expires=_date(expires, "--expires"),
            by=by or default_actor(),
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
    by: Annotated[
        str | None, typer.Option("--by", help="Who, for the audit trail (default: you).")
    ] = None,
) -> None:
    """Move an approval's expiry date to a later one; reminders follow the new date."""
    s251 = state(ctx).app().s251
    try:
        extension = s251.extend(
            reference, until=_date(until, "--until"), note=note, by=by or default_actor()
        )
    except ApprovalError as exc:
        fail(str(exc))
    console.print(
        f"extended from {fmt_date(extension.previous_expiry)} to {fmt_date(extension.new_expiry)}",
        highlight=False,
    )


@s251_app.command("remind")
def s251_remind(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Run today's reminder job now: reminders, expiry alerts and office summaries, each once."""
    # A database that cannot be reached is one line and exit 2 (cli/__init__.py); whatever was
    # not sent stays due for the next run.
    report = state(ctx).app().s251.send_reminders()
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"{fmt_date(report.day)}: {report.emails} reminder email(s) queued, "
        f"{len(report.expiry_alerts)} expiry alert(s), {len(report.summaries)} office summary(ies)",
        highlight=False,
    )
    for sent in report.sent:
        when = (
            "expiry notice"
            if sent.offset_days == EXPIRY_NOTICE
            else f"{sent.offset_days} days before"
        )
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
