"""Read request forms from an .xlsx: the `Request` sheet (label | value) and the `Bulk` sheet.

A workbook that renamed its sheets is read by what they hold: a column of field labels is a
request, a header row of field labels is a bulk sheet.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any

from openpyxl import load_workbook

from intake_bot.domain.rawform import RawForm
from intake_bot.forms._tables import (
    forms_from_grid,
    forms_from_header_rows,
    forms_from_label_rows,
    is_empty_row,
    keep_filled,
)

REQUEST_SHEET = "request"
BULK_SHEET = "bulk"
MAX_COLUMNS = 64  # a bulk sheet has one column a field; wider is decoration
MAX_ROWS = 5000  # rows looked at in a sheet; a bulk file holds tens of requests
MAX_EMPTY_RUN = 500  # stop a sheet after this many empty rows in a row
Row = tuple[int, Sequence[object]]


def read_xlsx(data: bytes, source: str) -> list[RawForm]:
    """The forms in an .xlsx file's bytes; [] when no sheet looks like the form."""
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
    try:
        return _read_workbook(list(workbook.worksheets), source)
    finally:
        workbook.close()


def _read_workbook(sheets: list[Any], source: str) -> list[RawForm]:
    named = {sheet.title.strip().casefold(): sheet for sheet in sheets}
    request, bulk = named.get(REQUEST_SHEET), named.get(BULK_SHEET)
    if request is None and bulk is None:
        return _read_unnamed(sheets, source)
    forms: list[RawForm] = []
    if request is not None:
        forms += forms_from_label_rows((row for _, row in _rows(request, 3)), source)
    if bulk is not None:
        forms += forms_from_header_rows(_rows(bulk, MAX_COLUMNS), _row_source(source, bulk))
    return keep_filled(forms)


def _read_unnamed(sheets: list[Any], source: str) -> list[RawForm]:
    """Sheets we were not told about: each read by its layout, blank ones dropped."""
    forms: list[RawForm] = []
    for sheet in sheets:
        rows = list(_rows(sheet, MAX_COLUMNS))
        forms += forms_from_grid(rows, f"{source}, {sheet.title} sheet", _row_source(source, sheet))
    return keep_filled(forms)


def _row_source(source: str, sheet: Any) -> Callable[[int], str]:
    title = str(sheet.title)
    return lambda number: f"{source}, {title} row {number}"


def _rows(sheet: Any, columns: int) -> Iterator[Row]:
    """Numbered rows of values, trimmed of trailing empty rows and capped against padded sheets."""
    empty_run = 0
    values = sheet.iter_rows(max_col=columns, values_only=True)
    for number, row in enumerate(islice(values, MAX_ROWS), start=1):
        if is_empty_row(row):
            empty_run += 1
            if empty_run >= MAX_EMPTY_RUN:
                return
            continue
        empty_run = 0
        yield number, row
