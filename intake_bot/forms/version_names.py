"""The form version an Excel workbook declares: its defined names `DSfC_form_version`.

The blank form writes a text constant ("2026.1"); Excel's Define Name writes a reference to the
cell that holds it (`Request!$E$1`), or to the whole merged area when that cell is merged
(`Request!$E$1:$F$1`: the version is in its top-left cell). Those are read. Anything else a
name may stand for (a whole column, a union, INDIRECT(...), a formula, another name, a cell
holding TRUE or a date, a cell past the sheet's edge) is something the bot does not resolve: it
declares nothing, and staff are told (versions.Carried). An emptied name, or one Excel broke
(#REF!), declares nothing and says nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from intake_bot.domain.form_versions import XLSX_DEFINED_NAME
from intake_bot.forms.versions import KEEP, Carried
from intake_bot.forms.xlsx_package import DefinedName, Workbook, cell_coordinate

MAX_ROW, MAX_COLUMN = 1_048_576, 16_384  # Excel's sheet: a reference past it is no cell
_EXCEL_ERROR = re.compile(r"#(?:REF|N/?A|NAME|VALUE|NULL|DIV/0|NUM)[!?]?", re.I)
_TEXT = re.compile(r'"((?:[^"]|"")*)"')  # a text constant, "" standing for one quote
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # a number constant, as Define Name writes one
_CELL = r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})"
# Sheet!$E$1, 'A sheet''s name'!E1, or a range of cells: as Excel writes a name's reference.
_REFERENCE = re.compile(rf"(?:'((?:[^']|'')+)'|([^'!\s(),&\"=:]+))!{_CELL}(?::{_CELL})?")


def workbook_carriers(workbook: Workbook) -> list[Carried]:
    """Each `DSfC_form_version` name of a workbook, as the order it counts in: the workbook's
    own (first to last), then those scoped to a sheet."""
    wanted = XLSX_DEFINED_NAME.casefold()
    found = [defined for name, defined in workbook.every_name if name.casefold() == wanted]
    own = [_carried(workbook, d) for d in found if not d.sheet_scoped]
    return own + [_carried(workbook, d) for d in found if d.sheet_scoped]


def _carried(workbook: Workbook, defined: DefinedName) -> Carried:
    where = "defined name of a sheet" if defined.sheet_scoped else "defined name"
    raw = str(defined.attr_text or "").strip()
    formula = raw.removeprefix("=").strip()
    if not formula or _EXCEL_ERROR.search(formula):
        return Carried(where, seen=raw)  # emptied, or broken by Excel: declares nothing
    constant = _TEXT.fullmatch(formula) or _NUMBER.fullmatch(formula)
    if constant is not None:
        text = constant.group(1).replace('""', '"') if constant.re is _TEXT else formula
        return Carried(where, text.strip()[:KEEP], seen=raw)
    reference = _REFERENCE.fullmatch(formula)
    value = _cell_value(workbook, reference) if reference is not None else _Unresolved
    if value is _Unresolved:
        return Carried(where, unresolved=True, seen=raw)
    if isinstance(value, bool | date | datetime | time | timedelta):  # TRUE is no version
        return Carried(where, unresolved=True, seen=f"{raw} {value}")
    text = "" if value is None else str(value).strip()
    if _EXCEL_ERROR.search(text):
        text = ""  # an error in the cell: declares nothing
    return Carried(where, text.strip('"').strip()[:KEEP], seen=f"{raw} {text}")


class _Unresolved:
    """A reference the bot does not resolve to one cell."""


def _cell_value(workbook: Workbook, reference: re.Match[str]) -> object:
    """The value of the cell a reference names: one cell, or the top-left cell of a merged
    area the range lies in (as Excel names a merged cell); else _Unresolved."""
    quoted, plain, *corners = reference.groups()
    sheet = workbook.sheet(quoted.replace("''", "'") if quoted else plain)
    first = _coordinate(corners[0], corners[1])
    last = _coordinate(corners[2], corners[3]) if corners[2] else first
    if (
        sheet is None
        or first is None
        or last is None
        or min(last[0] - first[0], last[1] - first[1]) < 0
    ):
        return _Unresolved
    if last != first and not any(
        (top, left) == first and last[0] <= bottom and last[1] <= right
        for top, left, bottom, right in sheet.merged_cells()
    ):
        return _Unresolved  # a range that is not one merged cell: which cell would it be?
    return sheet.value_at(*first)


def _coordinate(letters: str, digits: str) -> tuple[int, int] | None:
    try:
        row, column = cell_coordinate(f"{letters}{digits}")
    except ValueError:  # row 0
        return None
    return (row, column) if row <= MAX_ROW and column <= MAX_COLUMN else None
