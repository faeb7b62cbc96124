"""`intake-bot register list | export | import`: the register of relationships."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from intake_bot.cli.common import (
    console,
    default_actor,
    fail,
    fmt_date,
    fmt_time,
    output_format,
    print_json,
    state,
    table,
)
from intake_bot.domain.ods_views import organisation_label
from intake_bot.domain.register import ENDED, RegisterError
from intake_bot.domain.register_history import HistoryVersion
from intake_bot.domain.register_view import ImportReport, RegisterRow

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
    rows = state(ctx).app().register.rows(published_only=not show_all)
    if as_json:
        print_json([row.as_dict() for row in rows])
        return
    if not rows:
        console.print("no relationships" if show_all else "no published relationships")
        return
    columns = ["reference", "commissioner", "processor", "DSCRO", "contract", "effective from"]
    extra = ["status", "not published because", "legal basis"] if show_all else []
    table("Register", columns + extra, [_list_row(row, show_all) for row in rows])


def _list_row(row: RegisterRow, show_all: bool) -> list[str]:
    cells = [
        row.reference,
        # a sub-ICB location's name ends with its code: "NHS WEST YORKSHIRE ICB - 15F (15F)"
        organisation_label(row.commissioner_name, row.commissioner_ods),
        organisation_label(row.processor_name, row.processor_ods),
        row.dscro,
        f"{fmt_date(row.contract_start)} to {fmt_date(row.contract_end)}",
        fmt_date(row.effective_from),
    ]
    if show_all:
        ends = f" (ends {fmt_date(row.ended_on)})" if row.ended_on else ""
        cells += [
            row.status + ("" if row.status == ENDED else ends),
            "; ".join(row.not_published),
            row.legal_basis,
        ]
    return cells


@register_app.command("export")
def register_export(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Where to write the register: a .xlsx or .csv file."),
    ],
    fmt: Annotated[
        ExportFormat | None,
        typer.Option("--format", "-f", help="xlsx or csv; must agree with the file's extension."),
    ] = None,
) -> None:
    """Write the published register: active relationships with a signed contract and consent."""
    chosen = output_format(output, [f.value for f in ExportFormat], fmt.value if fmt else None)
    try:
        written = state(ctx).app().register.export(output, chosen)
    except RegisterError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    console.print(
        f"wrote {written.relationships} relationship(s) to {output} ({written.format})",
        highlight=False,
        markup=False,
    )


@register_app.command("history")
def register_history(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="The relationship, e.g. LCR-000123.")],
    limit: Annotated[
        int, typer.Option("--limit", min=1, help="The newest events shown (the rest counted).")
    ] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """A relationship's versions and every audit event about it: the requests that set it up,
    changed or ended it or asked to (pending or turned down), review items on its organisations,
    and who decided, when and why. The console shows the same at /register/LCR-000123."""
    try:
        found = state(ctx).app().register.history(reference, limit=limit)
    except RegisterError as exc:
        fail(str(exc))
    if as_json:
        print_json(found.as_dict())
        return
    ends = f", ends {fmt_date(found.ended_on)}" if found.ended_on else ""
    console.print(f"{found.reference}: {found.status}{ends}", highlight=False, markup=False)
    table(
        "Versions",
        ["version", "from", "commissioner", "processor", "office", "made by", "recorded"],
        [_version_row(v) for v in found.versions],
    )
    if found.earlier_events:
        console.print(f"{found.earlier_events} earlier events not shown (--limit)", markup=False)
    table(
        "Audit trail",
        ["at", "by", "request", "action", "note"],
        [[fmt_time(e.at), e.actor, e.request, e.what, e.note] for e in found.events],
    )


def _version_row(v: HistoryVersion) -> list[object]:
    when = fmt_date(v.effective_from)
    made = [v.source, fmt_time(v.recorded_at)]
    return [v.version, when, v.commissioner, v.processor, v.office or "-", *made]


@register_app.command("import")
def register_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A register spreadsheet (.xlsx or .csv).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would happen; change nothing.")
    ] = False,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Who is importing, for the audit trail (default: you)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Load a register kept by hand, and report each row: loaded, merged, unchanged or refused.

    Refused rows are listed with every reason. Exit 1 when a row was refused.
    """
    register = state(ctx).app().register
    try:
        report = register.import_file(path, dry_run=dry_run, actor=by or default_actor())
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
    # `table` escapes the cells, which quote the file and could otherwise read as markup.
    table(title, ["row", "reference", "outcome", "detail"], report.lines())
    console.print(report.summary(), highlight=False)
    if report.ignored_columns:
        console.print(
            "columns not read: " + "; ".join(report.ignored_columns), highlight=False, markup=False
        )
