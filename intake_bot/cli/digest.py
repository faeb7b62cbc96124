"""`intake-bot digest send` and `intake-bot digest preview OFFICE`."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.cli.common import console, fail, print_json, state
from intake_bot.domain.workflow import UnknownOfficeError

digest_app = typer.Typer(
    help="Staff digests: each regional office's open queue, by email once a day.",
    no_args_is_help=True,
)


@digest_app.command("send")
def digest_send(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Queue today's digests now; an office that already had today's digest gets nothing."""
    report = state(ctx).app().digests.send()
    if as_json:
        print_json(report)
        return
    for office, items in report.sent.items():
        console.print(f"{office}: digest queued ({items} items)", markup=False, highlight=False)
    for label, offices in (
        ("already sent today", report.skipped_already_sent),
        ("nothing open", report.skipped_empty),
        ("no staff addresses", report.skipped_no_staff),
    ):
        for office in offices:
            console.print(f"{office}: {label}", markup=False, highlight=False)


@digest_app.command("preview")
def digest_preview(
    ctx: typer.Context,
    office: Annotated[str, typer.Argument(help="A regional office or its alias, e.g. North.")],
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part.")] = False,
) -> None:
    """Print the digest OFFICE would get now, without queueing it."""
    digests = state(ctx).app().digests
    try:
        rendered = digests.preview(office)
    except UnknownOfficeError as exc:
        fail(str(exc))
    if rendered is None:
        name = digests.office(office).name
        console.print(f"{name}: nothing open, no digest would be sent", markup=False)
        return
    typer.echo(f"Subject: {rendered.subject}\n")
    typer.echo(rendered.html if html else rendered.text)
