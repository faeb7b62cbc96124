"""`intake-bot register list | export | import`: the register of relationships."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from intake_bot.calendar import today_in_england
from intake_bot.cli.common import console, fail, print_json, state, table
from intake_bot.services.notify import display_value
from intake_bot.services.register import (
    ImportReport,
    RegisterError,
    RegisterRow,
    export_register,
    import_register,
    register_rows,
)

register_app = typer.Typer(
    help="The register of relationships: list, export the published spreadsheet, import.",
    no_args_is_help=True,
)


class ExportFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"


@register_app.command("list")
def register_list(
    ctx: typer.Context,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every relationship, with why it is not published.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """The published relationships (or, with --all, every relationship)."""
    app = state(ctx).app()
    rows = register_rows(app.store, today_in_england(app.clock()), published_only=not show_all)
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    if not rows:
        console.print("no relationships" if show_all else "no published relationships")
        return
    columns = ["reference", "commissioner", "processor", "DSCRO", "contract", "effective from"]
    extra = ["status", "not published because"] if show_all else []
    lines = [_list_row(row, show_all) for row in rows]
    table("Register", columns + extra, lines)


def _list_row(row: RegisterRow, show_all: bool) -> list[str]:
    cells = [
        row.reference,
        f"{row.commissioner_name} ({row.commissioner_ods})",
        f"{row.processor_name} ({row.processor_ods})" if row.processor_ods else row.processor_name,
        row.dscro,
        f"{display_value(row.contract_start)} to {display_value(row.contract_end)}",
        display_value(row.effective_from),
    ]
    if show_all:
        ends = f" (ends {display_value(row.ended_on)})" if row.ended_on else ""
        cells += [
            row.status + ("" if row.status == "ended" else ends),
            "; ".join(row.not_published),
        ]
    return cells


@register_app.command("export")
def register_export(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the register.")],
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="xlsx or csv.")
    ] = ExportFormat.xlsx,
) -> None:
    """Write the published register: active relationships with a signed contract and consent."""
    app = state(ctx).app()
    try:
        written = export_register(app.store, today_in_england(app.clock()), fmt.value, output)
    except (RegisterError, OSError) as exc:
        fail(str(exc))
    console.print(f"wrote {written} relationship(s) to {output}")


@register_app.command("import")
def register_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A register spreadsheet (.xlsx or .csv).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
    ] = False,
    by: Annotated[str, typer.Option("--by", help="Who is importing, for the audit trail.")] = (
        "staff"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Load a register kept by hand, and report each row: loaded, merged, unchanged or refused.

    Refused rows are listed with every reason. Exit 1 when a row was refused.
    """
    app = state(ctx).app()
    offices = tuple(d.name for d in app.settings.dscro)
    try:
        report = import_register(
            app.store, path, now=app.clock(), dry_run=dry_run, actor=by, dscros=offices
        )
    except RegisterError as exc:
        fail(str(exc))
    if as_json:
        print_json(report.as_dict())
    else:
        _show_report(report)
    if report.refused:
        raise typer.Exit(1)


def _show_report(report: ImportReport) -> None:
    title = f"{report.source}, {report.sheet}" + (
        " (dry run: nothing changed)" if report.dry_run else ""
    )
    # Details quote cells from the file, which rich would otherwise read as markup.
    lines = [(row, ref, outcome, detail) for row, ref, outcome, detail in report.lines()]
    table(title, ["row", "reference", "outcome", "detail"], lines)
    console.print(
        f"{len(report.loaded)} loaded, {len(report.merged)} merged, "
        f"{len(report.unchanged)} unchanged, {len(report.refused)} refused",
        highlight=False,
    )
    if report.ignored_columns:
        console.print(
            "columns not read: " + "; ".join(report.ignored_columns), highlight=False, markup=False
        )
