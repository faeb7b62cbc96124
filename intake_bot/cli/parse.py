"""`intake-bot parse` and `intake-bot form`: what a poll would make of a file; the blank form."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from intake_bot.cli.common import console, fail, output_format, print_json, state, style
from intake_bot.domain.printable import clean_text


def parse(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A raw email (.eml) or a single form file.")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Show what a poll would file or reject, and why. Exit 0 accepted, 1 rejected, 2 unreadable.

    Approvals and organisations come from the database when there is one, else from config/.
    """
    app = state(ctx).app()
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    result = app.previews.parse(file.name, data)
    if as_json:
        print_json(result.as_dict())
        raise typer.Exit(int(result.verdict))
    verdict = result.verdict.name.lower()
    # Plain lines (click strips the colour when stdout is not a terminal): rich is not needed
    # here, and its import is a twentieth of a second the command would otherwise pay.
    name, summary = clean_text(file.name), clean_text(result.summary)
    shown = style(verdict, fg=_COLOURS[verdict])
    typer.echo(f"{style(name, bold=True)} ({result.kind}): {shown} - {summary}")
    lines = [f"  approvals and organisations from {_SOURCES[result.reference_data]}"]
    if result.email is not None:
        lines.append(f"  subject: {result.email.subject}")
        lines.append(f"  from: {result.email.from_addr}")
        lines.append(f"  subject_matches: {result.email.subject_matches}")
    lines += [f"  cannot read {r.filename}: {r.reason}" for r in result.rejections]
    for r in result.requests:
        state_text = "complete" if r.complete else f"{len(r.problems)} problem(s)"
        lines.append(f"  request from {r.source}: {r.request_type or 'type unknown'}, {state_text}")
        if r.how_read:
            lines.append(f"    form: {r.how_read}")
        lines += [f"    - {p}" for p in r.problems]
        lines += [f"    ! {f}" for f in r.flags]
    for line in lines:
        typer.echo(clean_text(line))
    raise typer.Exit(int(result.verdict))


_COLOURS = {"accepted": "green", "rejected": "yellow", "unreadable": "red"}
_SOURCES = {"database": "the database", "config": "config/ (no database to read)"}


class FormFormat(StrEnum):
    docx = "docx"
    xlsx = "xlsx"


def form(
    ctx: typer.Context,
    fmt: Annotated[
        FormFormat | None,
        typer.Option("--format", "-f", help="docx or xlsx (default: from the file name)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the blank form; its extension (.docx or .xlsx) is the format.",
        ),
    ] = None,
) -> None:
    """Write the blank request form that commissioners fill in."""
    if output is None:
        output = Path(f"legitimate-relationship-request.{(fmt or FormFormat.docx).value}")
    suffix = output_format(output, [f.value for f in FormFormat], fmt.value if fmt else None)
    from intake_bot.domain.form_versions import CURRENT_VERSION

    data = state(ctx).app().blank_form(suffix)
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    shown = f"wrote {output} ({len(data):,} bytes), form version {CURRENT_VERSION}"
    console.print(shown, highlight=False, markup=False)
