"""`intake-bot check [MAILBOX]`: connect to each mailbox and the outgoing server, and say what
works, step by step, and what to do about what does not."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from intake_bot.cli.common import console, print_json, state
from intake_bot.domain.connectivity import CheckReport, Finding
from intake_bot.domain.printable import clean_text

_MARKS = {"ok": ("ok", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "bold red")}


def check(
    ctx: typer.Context,
    mailbox: Annotated[
        str | None,
        typer.Argument(help="Only this mailbox (its name in the settings); default: every one."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Connect to every mailbox (or MAILBOX) and the outgoing server and report each step:
    DNS, TCP, TLS and the certificate, login (password or OAuth 2.0 token), folders, the
    server's capabilities and how many messages wait; for each fault, what to do.

    Sends nothing and changes no message. Exits 0 when everything works (warnings, such as a
    certificate that expires within 30 days, included), 1 when anything fails.
    """
    app = state(ctx).app()
    printer = None if as_json else _Printer()
    report = app.connectivity.check(mailbox, on_finding=printer)
    if as_json:
        print_json(_as_json(report))
    elif printer is not None:
        printer.summary(report)
    if not report.ok:
        raise typer.Exit(1)


class _Printer:
    """Prints each finding as it is made (a slow server shows where the check waits)."""

    def __init__(self) -> None:
        self._subject: str | None = None

    def __call__(self, finding: Finding) -> None:
        if finding.subject != self._subject:
            if self._subject is not None:
                console.print()
            console.print(Text(clean_text(finding.subject), style="bold"))
            self._subject = finding.subject
        mark, style = _MARKS[_state(finding)]
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=6, no_wrap=True)
        grid.add_column(width=12, no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_row(Text(f"  {mark}", style=style), Text(finding.step), _text(finding.detail))
        if finding.fix:
            grid.add_row("", "", _text(f"what to do: {finding.fix}", "italic"))
        console.print(grid)

    def summary(self, report: CheckReport) -> None:
        console.print()
        warnings = len(report.warnings)
        noted = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        if report.ok:
            console.print(Text(f"Everything works{noted}.", style="bold green"))
            return
        faults = "; ".join(f"{f.subject}: {f.step}" for f in report.faults)
        count = len(report.faults)
        text = f"{count} problem{'s' if count != 1 else ''}{noted}: {faults}"
        console.print(_text(text, "bold red"))


def _state(finding: Finding) -> str:
    if not finding.ok:
        return "fail"
    return "warn" if finding.warning else "ok"


def _text(value: str, style: str = "") -> Text:
    # What servers answer ends up here: never let it steer the terminal, never read as markup.
    return Text(clean_text(value), style=style)


def _as_json(report: CheckReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "subjects": [
            {
                "subject": subject,
                "ok": all(f.ok for f in findings),
                "findings": [
                    {
                        "step": f.step,
                        "ok": f.ok,
                        "warning": f.warning,
                        "detail": f.detail,
                        "fix": f.fix,
                    }
                    for f in findings
                ],
            }
            for subject, findings in report.by_subject()
        ],
    }
