"""Read request forms from a .csv: read like the `Bulk` sheet, one request a row.

A CSV saved from the `Request` sheet (label, value rows) is read as one request. Rows past the
limit of a sheet are named as a cut, as in a workbook; each row is timed. A row "Form version",
"2016.1" declares the form's version, read as a workbook's defined name is (forms/versions.py),
only in a file that reads as a form.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence

from intake_bot.domain.form_versions import FieldNames
from intake_bot.domain.rawform import RawForm
from intake_bot.forms._tables import (
    MIN_LABELS,
    cell_text,
    distinct_fields,
    forms_from_grid,
    is_empty_row,
    read_unversioned,
    rows_not_read,
)
from intake_bot.forms.limits import Budget
from intake_bot.forms.versions import Carried, declaration, read_as_declared, typed_carrier

DELIMITERS = ",;\t|"
_QUOTED = re.compile(r'"[^"]*"')
_EXCEL_SEPARATOR = re.compile(r"^sep=(.)\r?\n", re.I)  # Excel's own delimiter hint line
VERSION_ROW = "form version row"  # where the version was, as staff are told


class CsvError(ValueError):
    """The file is not text that can be read as CSV."""


def read_csv(data: bytes, source: str, budget: Budget | None = None) -> list[RawForm]:
    """The forms in a CSV file's bytes; [] when no header row or label column is found."""
    budget = budget or Budget.start()
    text = decode(data)
    if "\x00" in text:
        raise CsvError("binary data in a CSV file")
    hint = _EXCEL_SEPARATOR.match(text)
    if hint:
        delimiter, text = hint.group(1), text[hint.end() :]
    else:
        delimiter = sniff_delimiter(text)
    records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    past: tuple[int, int] | None = None  # the first and last row with something in it past limit
    limit = budget.limits.rows_per_sheet
    for number, row in enumerate(records, start=1):
        budget.tick()
        if is_empty_row(row):
            continue
        if number > limit:
            past = (past[0] if past else number, number)
            continue
        rows.append((number, row))
    if past is not None:
        budget.cut(rows_not_read(*past, "the file", limit))
    carried = [c for c in map(_version_row, rows) if c]
    rows = [numbered for numbered in rows if _version_row(numbered) is None]

    def read(names: FieldNames) -> list[RawForm]:
        return forms_from_grid(rows, source, lambda n: f"{source}, row {n}", names=names)

    # Its headers are read as today's, else as an older version's; a version row, if there is
    # one, then decides as a workbook's defined name would.
    versions = budget.limits.form_versions
    forms = read_unversioned(read, versions)
    if not forms or not carried:
        return forms
    return read_as_declared(
        declaration(carried),
        versions,
        read,
        unversioned=lambda: forms,
        too_few=lambda found: distinct_fields(found) < MIN_LABELS,
    )


def _version_row(numbered: tuple[int, Sequence[str]]) -> Carried | None:
    """A row "Form version", "2016.1" (or one cell "Form version: 2016.1") as a carrier of the
    version; a header row that happens to start with "Version" is not one."""
    row = numbered[1]
    if not row or not is_empty_row(row[2:]):
        return None
    label, value = cell_text(row[0]), cell_text(row[1]) if len(row) > 1 else ""
    if not value:
        label, _, value = label.partition(":")
    return typed_carrier(label, value, VERSION_ROW)


def decode(data: bytes) -> str:
    """Text from UTF-16 (with a byte order mark), UTF-8, or else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff_delimiter(text: str) -> str:
    """The delimiter used most in the first non-empty line, outside quotes; a comma by default."""
    first = next((line for line in text[:65536].splitlines() if line.strip()), "")
    unquoted = _QUOTED.sub("", first)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
