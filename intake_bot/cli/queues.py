"""`intake-bot queue`."""

from __future__ import annotations

from typing import Annotated

import typer

from intake_bot.cli.common import console, fail, fmt_date, fmt_time, print_json, state, table
from intake_bot.domain.workflow import UnknownQueueError


def queue(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(
            help="A queue as you would say it: north, North/new, m&e/change, new, enquiries,"
            " quarantine. Every queue when left out."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The staff queues: open requests per regional office and kind, enquiries, quarantine."""
    try:
        listing = state(ctx).app().queues.items(name)
    except UnknownQueueError as exc:
        fail(f"{exc}; queues: {', '.join(exc.known)}")
    if as_json:
        print_json(listing.items)
        return
    if not listing.items:
        where = f"{name}: nothing waiting in {', '.join(listing.queues)}" if name else ""
        console.print(where or "every queue is empty", markup=False, highlight=False)
        _reviews(listing.reviews_waiting)
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
            "flags",
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
                fmt_time(i.received),
                i.age_days,
                f"{fmt_date(i.due_on)} OVERDUE" if i.overdue else fmt_date(i.due_on),
                i.assigned_to,
                i.problems,
                i.flags,  # for staff: worth a look (a form not read, an unknown label...)
                ("EXPIRED " + ", ".join(i.legal_basis_expired)) if i.legal_basis_expired else "",
            )
            for i in listing.items
        ],
    )
    _reviews(listing.reviews_waiting)


def _reviews(waiting: int) -> None:
    if waiting:
        items = "ODS review item waits" if waiting == 1 else "ODS review items wait"
        line = f"{waiting:,} {items} for a decision: intake-bot ods reviews"
        console.print(line, markup=False, highlight=False)
