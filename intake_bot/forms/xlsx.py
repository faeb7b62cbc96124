"""Read request forms from an .xlsx: the `Request` sheet (label | value) and the `Bulk` sheet.

A workbook that renamed its sheets is read by what they hold: a column of field labels is a
request, a header row of field labels is a bulk sheet.

The package is read through our `BoundedZip` (`xlsx_package.py`, openpyxl's read-only rules
without importing openpyxl), so every part is inflated within the byte limits; the shared strings
are read here, counted and timed; rows are timed as they come. Rows past the limit of a sheet,
and columns past the last one read, are named as cuts.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import IO, Any

from intake_bot.domain.form_versions import CURRENT_ONLY, FieldNames, FormVersions
from intake_bot.domain.rawform import RawForm
from intake_bot.forms._tables import (
    CONTINUED,
    MIN_LABELS,
    distinct_fields,
    forms_from_grid,
    forms_from_header_rows,
    forms_from_label_rows,
    is_empty_row,
    keep_filled,
    raw_value,
    rows_not_read,
)
from intake_bot.forms.inflate import BoundedZip
from intake_bot.forms.limits import Budget, TooMuchError, numbered
from intake_bot.forms.version_names import workbook_carriers
from intake_bot.forms.versions import UnmappedVersionError, declaration, read_as_declared
from intake_bot.forms.xlsx_package import (
    MAIN,
    Workbook,
    column_letter,
    iterparse,
    shared_strings_part,
    text_content,
)

REQUEST_SHEET = "request"
BULK_SHEET = "bulk"
MAX_COLUMNS = 64  # the default of limits.columns_per_sheet: one column a field
REQUEST_COLUMNS = 3  # label | value | key; further columns of the Request sheet are notes
MAX_LABEL_SPAN = 4  # a label cell merged across more columns is a heading, not a label
MAX_MERGED_DOWN = 50  # rows a label cell merged down may carry (one data set a row)
Row = tuple[int, Sequence[object]]


def read_xlsx(
    data: bytes,
    source: str,
    budget: Budget | None = None,
    versions: FormVersions = CURRENT_ONLY,
) -> list[RawForm]:
    """The forms in an .xlsx file's bytes; [] when no sheet looks like the form."""
    budget = budget or Budget.start()
    with BoundedZip(data, budget) as archive:
        return read_xlsx_archive(archive, source, budget, versions)


def read_xlsx_archive(
    archive: zipfile.ZipFile,
    source: str,
    budget: Budget,
    versions: FormVersions = CURRENT_ONLY,
) -> list[RawForm]:
    """The forms in an opened workbook whose parts `archive` inflates within `budget`, read by
    the names of the form version it declares; UnmappedVersionError when none covers it."""
    strings: list[str] = []
    part = shared_strings_part(archive)
    if part is not None:
        with archive.open(part) as stream:
            strings = shared_strings(stream, budget)
    workbook = Workbook(archive, strings)
    try:
        carried = workbook_carriers(workbook)
        for carrier in carried:  # the sender's text: the patient-data check reads it as a cell's
            budget.seen.add(carrier.seen)
        said = declaration(carried)
        resolution = versions.resolve(said.version)
        if resolution.names is None:  # refused before any sheet is read
            raise UnmappedVersionError(resolution, said.version or "")
        # Each sheet read once, however many versions' names are then tried on its rows.
        read = _workbook_reader(list(workbook.worksheets), source, budget)
        return read_as_declared(
            said,
            versions,
            read,
            too_few=lambda forms: distinct_fields(forms) < MIN_LABELS,
        )
    finally:
        workbook.close()


def shared_strings(stream: IO[bytes], budget: Budget) -> list[str]:
    """The workbook's table of texts, refused past `limits.shared_strings` entries."""
    limit = budget.limits.shared_strings
    strings: list[str] = []
    for _, node in iterparse(stream, f"{MAIN}si"):
        if len(strings) >= limit:
            raise TooMuchError(f"has more than {numbered(limit)} different texts")
        budget.tick()
        text = text_content(node).replace("x005F_", "")
        budget.seen.add(text)  # every sheet's texts, read or not: the patient-data check
        strings.append(text)
        node.clear()
    return strings


def _workbook_reader(
    sheets: list[Any], source: str, budget: Budget
) -> Callable[[FieldNames], list[RawForm]]:
    """The sheets' rows, read once (within the budget); what they hold is then read by the
    names of whichever version the caller tries. The Request and Bulk sheets are read as the
    blank form lays them out; any other sheet by its layout (a Request sheet renamed, or copied
    as "Request (2)" for a second request), so that no form in the workbook goes unread."""
    named = {sheet.title.strip().casefold(): sheet for sheet in sheets}
    request, bulk = named.get(REQUEST_SHEET), named.get(BULK_SHEET)
    others = _grid_reader([s for s in sheets if s is not request and s is not bulk], source, budget)
    wide = budget.limits.columns_per_sheet
    labelled: list[Sequence[object]] = []
    if request is not None:
        rows = _rows(request, REQUEST_COLUMNS + MAX_LABEL_SPAN, budget, name_columns=False)
        labelled = list(_as_labelled(rows, _label_merges(request), REQUEST_COLUMNS))
    headed: list[Row] = list(_rows(bulk, wide, budget)) if bulk is not None else []

    def read(names: FieldNames) -> list[RawForm]:
        forms: list[RawForm] = []
        if request is not None:
            forms += forms_from_label_rows(labelled, source, names)
        if bulk is not None:
            forms += forms_from_header_rows(headed, _row_source(source, bulk), names)
        return keep_filled(forms + others(names))

    return read


def _grid_reader(
    sheets: list[Any], source: str, budget: Budget
) -> Callable[[FieldNames], list[RawForm]]:
    """Sheets not laid out as the blank form's: each read by its layout (a header row of labels,
    or a column of them); a sheet of anything else holds no form."""
    wide = budget.limits.columns_per_sheet
    grids = [(sheet, list(_rows(sheet, wide, budget))) for sheet in sheets]
    merged: dict[int, list[Sequence[object]]] = {}  # a label column's rows, read when needed

    def label_rows(index: int) -> list[Sequence[object]]:
        if index not in merged:
            sheet, rows = grids[index]
            merged[index] = list(_merged_as_labelled(sheet, rows, wide))
        return merged[index]

    def read(names: FieldNames) -> list[RawForm]:
        forms: list[RawForm] = []
        for index, (sheet, rows) in enumerate(grids):
            forms += forms_from_grid(
                rows,
                f"{source}, {sheet.title} sheet",
                _row_source(source, sheet),
                names=names,
                label_rows=partial(label_rows, index),
            )
        return forms

    return read


def _merged_as_labelled(sheet: Any, rows: list[Row], columns: int) -> Iterator[Sequence[object]]:
    return _as_labelled(iter(rows), _label_merges(sheet), columns)


def _label_merges(sheet: Any) -> dict[int, tuple[int, bool]]:
    """Rows whose label cell (column A) is merged: how many columns wide, and whether the row is
    under the merge's first (what it holds then continues the label above)."""
    merges: dict[int, tuple[int, bool]] = {}
    for top, left, bottom, right in sheet.merged_cells():
        if left != 1 or right > MAX_LABEL_SPAN:
            continue
        merges[top] = (right, False)
        merges.update(
            (row, (right, True)) for row in range(top + 1, min(bottom, top + MAX_MERGED_DOWN) + 1)
        )
    return merges


def _as_labelled(
    rows: Iterator[Row], merges: dict[int, tuple[int, bool]], columns: int
) -> Iterator[Sequence[object]]:
    """Rows as label | value | ...: a label merged across moves its value beside it, and a row
    under a label merged down is marked to continue that label's value."""
    for number, row in rows:
        span, under = merges.get(number, (1, False))
        if span > 1 and is_empty_row(row[1:span]):
            row = (row[0], *row[span:])
        if under and raw_value(row[0]) is None:
            row = (CONTINUED, *row[1:])
        yield row[:columns]


def _row_source(source: str, sheet: Any) -> Callable[[int], str]:
    title = str(sheet.title)
    return lambda number: f"{source}, {title} row {number}"


def _rows(sheet: Any, columns: int, budget: Budget, *, name_columns: bool = True) -> Iterator[Row]:
    """Numbered rows of values with something in them, up to the limit of rows a sheet; the
    rows past it, and (`name_columns`) values right of the last column read, named as cuts."""
    sheet.reset_dimensions()  # the declared size may lie, and rows past it would go unread
    limit = budget.limits.rows_per_sheet
    padding: object = None  # openpyxl fills a gap in the rows with one shared empty row
    wide = False
    past: tuple[int, int] | None = None  # the first and last row with something in it past limit
    for number, row in enumerate(sheet.iter_rows(max_col=columns + 1, values_only=True), 1):
        budget.tick()
        if row is padding or is_empty_row(row):
            padding = row
            continue
        if number > limit:
            past = (past[0] if past else number, number)
            continue
        wide = wide or (len(row) > columns and not is_empty_row(row[columns:]))
        for value in row:  # numbers and inline texts too: the patient-data check
            budget.seen.add(value)
        yield number, row[:columns]
    title = str(sheet.title).strip()
    if past is not None:
        budget.cut(rows_not_read(*past, f"the {title} sheet", limit))
    if wide and name_columns:
        budget.cut(
            f"columns after {column_letter(columns)} of the {title} sheet were not read "
            f"(we read at most {numbered(columns)} columns a sheet)"
        )
