"""`intake-bot ods import | reviews | decide`: organisations from the Organisation Data Service,
and the review items their closures open on the register."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from intake_bot.cli.common import (
    console,
    default_actor,
    fail,
    fail_each,
    fmt_date,
    print_json,
    state,
    table,
)
from intake_bot.domain.ods_views import ImportReport, ReviewItem, review_number
from intake_bot.domain.organisations import OdsError

ods_app = typer.Typer(
    help="Organisations from ODS: import its published files; review closed organisations.",
    no_args_is_help=True,
)

By = Annotated[str | None, typer.Option("--by", help="Who, for the audit trail (default: you).")]
SHOWN_PER_KIND = 50  # a first import opens every organisation: the counts say the rest


class Decision(StrEnum):
    carry = "carry"
    end = "end"


@ods_app.command("import")
def ods_import(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            help="ODS files as downloaded: CSV reports (eccg, ecsu, etr...), succ.csv, FHIR JSON."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    by: By = None,
) -> None:
    """Load ODS's published files and print what changed.

    Changes are opened, closed, renamed, updated and succeeded; a review item is opened for each
    relationship whose organisation closed. Importing the same files again changes nothing."""
    try:
        report = state(ctx).app().organisations.import_files(files, actor=by or default_actor())
    except OdsError as exc:
        fail_each(str(exc))  # a file's problems, one a line (each names the file and line)
    if as_json:
        print_json(report.as_dict())
        return
    _print_report(report)


def _print_report(report: ImportReport) -> None:
    for f in report.files:
        what = _count(f.organisations, "organisation") if f.organisations else ""
        what += ", " if f.organisations and f.successions else ""
        what += _count(f.successions, "succession") if f.successions else ""
        console.print(
            f"read {f.name}: {f.format}, {what or 'nothing'}", highlight=False, markup=False
        )
        for why in f.left_out[:SHOWN_PER_KIND]:
            console.print(
                f"left out   {f.name}: {why}; the list keeps what it had for that code",
                highlight=False,
                markup=False,
            )
        if len(f.left_out) > SHOWN_PER_KIND:
            more = len(f.left_out) - SHOWN_PER_KIND
            console.print(f"left out   … and {more} more", highlight=False, markup=False)
    if report.unchanged:
        but = " (but for what was left out)" if any(f.left_out for f in report.files) else ""
        console.print(f"no changes: the list already says what these files say{but}")
        return
    shown: dict[str, int] = {}
    for change in report.changes:
        shown[change.what] = shown.get(change.what, 0) + 1
        if shown[change.what] <= SHOWN_PER_KIND:
            console.print(
                f"{change.what:<10} {change.code:<6} {change.detail}", highlight=False, markup=False
            )
    for what, n in shown.items():
        if n > SHOWN_PER_KIND:
            console.print(
                f"{what:<10} … and {n - SHOWN_PER_KIND} more", highlight=False, markup=False
            )
    for item in report.reviews:
        console.print(f"review     {item.label:<6} {item.line()}", highlight=False, markup=False)
    console.print(f"in all: {report.summary()}", highlight=False, markup=False)


@ods_app.command("reviews")
def ods_reviews(
    ctx: typer.Context,
    show_all: Annotated[bool, typer.Option("--all", help="Decided items too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Relationships whose organisation closed, waiting for staff: carry over, or end."""
    items = state(ctx).app().organisations.reviews(include_decided=show_all)
    if as_json:
        print_json([item.as_dict() for item in items])
        return
    if not items:
        console.print("no review items" if show_all else "no open review items")
        return
    columns = ["item", "relationship", "office", "closed", "on", "successor", "status"]
    table("Succession reviews", columns, [_row(item) for item in items])


def _row(item: ReviewItem) -> list[str]:
    closed = f"{item.party}: {item.closed_label}"
    successors = "; ".join(item.successor_labels) or "none named"
    if item.decision:  # where the relationship went, not where ODS's chain ends today
        successors = item.decision
    elif item.steps:  # a carry may go one step along the chain instead: say how
        successors += f" (or one step: {', '.join(item.steps)}, with --to)"
    if item.status == "open":
        status = "open" if item.contacts_told else "open; contacts not emailed (no address)"
    else:  # who decided, when and why: the decision's audit event, as staff read it
        when = f" on {fmt_date(item.decided_at.date())}" if item.decided_at else ""
        status = f"{item.status} by {item.decided_by}{when}" + (
            f": {item.note}" if item.note else ""
        )
    return [
        item.label,
        item.reference,
        item.dscro or "-",
        closed,
        fmt_date(item.closed_on),
        successors,
        status,
    ]


@ods_app.command("decide")
def ods_decide(
    ctx: typer.Context,
    item: Annotated[str, typer.Argument(help="The review item: ODS-3 or 3.")],
    decision: Annotated[Decision, typer.Argument(help="carry (to the successor) or end.")],
    to: Annotated[
        str | None, typer.Option("--to", help="The successor's code, when ODS names several.")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="Why, for the audit trail.")] = "",
    by: By = None,
) -> None:
    """Carry a relationship over to the successor, or end it.

    Carrying over adds a version naming the successor; ending ends it. Either from the day
    after the organisation closed (or when the terms in force began, if later). The register
    changes only here."""
    number = review_number(item)
    if number is None:
        fail(f"{item!r} is not a review item (ODS-3, or 3)")
    organisations = state(ctx).app().organisations
    try:
        done = organisations.decide(
            number, decision.value, actor=by or default_actor(), to=to, note=note
        )
    except OdsError as exc:
        fail(str(exc))
    said = done.decision or done.status
    console.print(f"{done.label} {done.reference}: {said}", highlight=False, markup=False)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"
