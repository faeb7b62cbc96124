"""The register as a spreadsheet: writing the published register (.xlsx or .csv) and reading the
rows of one kept by hand."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Sequence
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from intake_bot.domain.register import EXPORT_COLUMNS, RegisterError
from intake_bot.domain.register_view import RegisterRow
from intake_bot.services.notify import display_value

Format = Literal["xlsx", "csv"]
FORMATS: tuple[Format, ...] = ("xlsx", "csv")

DATE_FORMAT = "DD/MM/YYYY"
MAX_COLUMN_WIDTH = 60
# A cell starting with one of these is a formula to a spreadsheet program; the register carries
# text from emails, so such text is written as text (xlsx) or behind an apostrophe (csv).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MAX_ROWS = 20_000  # a national register holds thousands of relationships, not millions
MAX_COLUMNS = 100  # wider is formatting run off to the right
REGISTER_SHEET = "register"
Rows = list[tuple[int, list[object]]]


def format_of(path: Path, fmt: str | None = None) -> Format:
    """The format `path`'s extension names (.xlsx or .csv). A `fmt` asked for must agree with it:
    a file called r.csv holding a workbook would mislead whoever opens it."""
    suffix = path.suffix.lower().lstrip(".")
    named = next((f for f in FORMATS if f == suffix), None)
    if named is None:
        raise RegisterError(
            f"{path.name}: the register is written as .xlsx or .csv; name the file so"
        )
    if fmt is not None and fmt != named:
        raise RegisterError(f"{path.name} names a .{named} file, but {fmt} was asked for")
    return named


def write_register(rows: Sequence[RegisterRow], path: Path, fmt: Format) -> None:
    """Write `rows` to `path` in `fmt`, whole or not at all: readers never see half a register."""
    writers = {"xlsx": _write_xlsx, "csv": _write_csv}
    partial = path.with_name(path.name + ".partial")
    writers[fmt](rows, partial)
    partial.replace(path)


def _sheet_value(value: object) -> object:
    if value is None or isinstance(value, date):
        return value
    return display_value(value)


def _write_xlsx(rows: Sequence[RegisterRow], path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Register"
    sheet.append([column.header for column in EXPORT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    table = [row.cells() for row in rows]
    for cells in table:
        sheet.append([_sheet_value(value) for value in cells])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = DATE_FORMAT
            elif isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    _set_widths(sheet, table)
    workbook.save(path)


def _set_widths(sheet: Any, table: Sequence[Sequence[object]]) -> None:
    for index, column in enumerate(EXPORT_COLUMNS):
        shown = [len(display_value(cells[index])) for cells in table]
        width = min(max([len(column.header), *shown]) + 2, MAX_COLUMN_WIDTH)
        sheet.column_dimensions[get_column_letter(index + 1)].width = width


def _csv_value(value: object) -> str:
    text = display_value(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _write_csv(rows: Sequence[RegisterRow], path: Path) -> None:
    # utf-8-sig: Excel reads the file as UTF-8 only with the byte-order mark.
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow([column.header for column in EXPORT_COLUMNS])
        for row in rows:
            writer.writerow([_csv_value(value) for value in row.cells()])


# --- reading ------------------------------------------------------------------------------------


def read_table(path: Path) -> tuple[str, Rows]:
    """(sheet name, numbered rows) from an .xlsx (the "Register" sheet, else the first) or .csv."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return "csv", _csv_rows(path)
        if suffix == ".xlsx":
            return _xlsx_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RegisterError(f"cannot read {path.name}: {exc}") from exc
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise RegisterError(f"{path.name} is not a readable .xlsx workbook") from exc
    raise RegisterError(f"{path.name}: a register is read from .xlsx or .csv, not {suffix or '?'}")


def _xlsx_rows(path: Path) -> tuple[str, Rows]:
    workbook = load_workbook(path, read_only=True, data_only=True, keep_links=False)
    try:
        sheets = {ws.title.strip().casefold(): ws for ws in workbook.worksheets}
        sheet = sheets.get(REGISTER_SHEET) or workbook.worksheets[0]
        cells = islice(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), MAX_ROWS)
        rows: Rows = [(number, list(row)) for number, row in enumerate(cells, start=1)]
        return str(sheet.title), rows
    finally:
        workbook.close()


def _csv_rows(path: Path) -> Rows:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        lines = islice(csv.reader(handle), MAX_ROWS)
        return [(number, list[object](cells)) for number, cells in enumerate(lines, start=1)]
