"""`intake-bot digest send` and `intake-bot digest preview OFFICE`."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.cli.common import console, fail, print_json, state
from intake_bot.services.digests import find_office, preview_digest, send_digests

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
    app = state(ctx).app()
    settings = app.settings
    report = send_digests(
        store=app.store,
        notifier=app.intake.notifier,
        offices=settings.dscro,
        now=app.clock(),
        tz=settings.timezone,
    )
    if as_json:
        print_json(report.as_dict())
        return
    for office, items in report.sent.items():
        console.print(f"{office}: digest queued ({items} items)", highlight=False)
    for label, offices in (
        ("already sent today", report.skipped_already_sent),
        ("nothing open", report.skipped_empty),
        ("no staff addresses", report.skipped_no_staff),
    ):
        for office in offices:
            console.print(f"{office}: {label}", highlight=False)


@digest_app.command("preview")
def digest_preview(
    ctx: typer.Context,
    office: Annotated[str, typer.Argument(help="A regional office, e.g. North.")],
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part.")] = False,
) -> None:
    """Print the digest OFFICE would get now, without queueing it."""
    app = state(ctx).app()
    settings = app.settings
    found = find_office(settings.dscro, office)
    if found is None:
        fail(f"no regional office {office!r}: " + ", ".join(d.name for d in settings.dscro))
    rendered = preview_digest(
        store=app.store,
        notifier=app.intake.notifier,
        office=found,
        now=app.clock(),
        tz=settings.timezone,
    )
    if rendered is None:
        console.print(f"{found.name}: nothing open, no digest would be sent", highlight=False)
        return
    typer.echo(f"Subject: {rendered.subject}\n")
    typer.echo(rendered.html if html else rendered.text)
