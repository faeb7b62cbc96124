"""Read request forms from a .csv: read like the `Bulk` sheet, one request a row.

A CSV saved from the `Request` sheet (label, value rows) is read as one request. Rows past the
limit of a sheet are named as a cut, as in a workbook; each row is timed.
"""

from __future__ import annotations

import csv
import io
import re

from intake_bot.domain.rawform import RawForm
from intake_bot.forms._tables import (
    forms_from_grid,
    is_empty_row,
    read_unversioned,
    rows_not_read,
)
from intake_bot.forms.limits import Budget

DELIMITERS = ",;\t|"
_QUOTED = re.compile(r'"[^"]*"')
_EXCEL_SEPARATOR = re.compile(r"^sep=(.)\r?\n", re.I)  # Excel's own delimiter hint line


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
    # A .csv carries no version: its headers are read as today's, else as an older version's.
    return read_unversioned(
        lambda names: forms_from_grid(rows, source, lambda n: f"{source}, row {n}", names=names),
        budget.limits.form_versions,
    )


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
