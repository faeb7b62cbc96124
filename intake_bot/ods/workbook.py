"""An ODS report or successions file downloaded from ODS Data Search and Export as a workbook
(.xlsx, "excel, with or without headers"): the rows of each sheet that holds one of the
published layouts, as text, for the CSV reader's rules (ods/csv_reports.py).

The workbook is read with the form reader's own package reader, every part inflated within
bytes and time limits sized for the largest report ODS publishes (a few MB of CSV)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import date, datetime

from lxml import etree

from intake_bot.domain.organisations import OdsError, OdsFile
from intake_bot.domain.printable import clean_line
from intake_bot.forms.inflate import BoundedZip
from intake_bot.forms.limits import DEFAULT_LIMITS, Budget, LimitError
from intake_bot.forms.xlsx import shared_strings
from intake_bot.forms.xlsx_package import Workbook, Worksheet, shared_strings_part
from intake_bot.ods.csv_reports import MAX_ROWS, csv_layout, read_rows
from intake_bot.ods.headers import header_problem, in_standard_order
from intake_bot.ods.kinds import REPORT_NAMES
from intake_bot.ods.zipped import joined

WORKBOOK_PART = "xl/workbook.xml"
COLUMNS = 40  # a standard report has 27
# ODS's largest report is a few MB of CSV; its sheet XML some times that. A part of 16 MB is
# also what bounds memory: a row of millions of empty cells is millions of XML elements.
LIMITS = replace(
    DEFAULT_LIMITS,
    attachment_seconds=60.0,
    message_seconds=60.0,
    inflated_bytes=64 * 1024 * 1024,
    part_bytes=16 * 1024 * 1024,
    shared_strings=2_000_000,
    rows_per_sheet=MAX_ROWS,
    columns_per_sheet=COLUMNS,
)
Rows = list[tuple[int, list[str]]]


def is_workbook(data: bytes) -> bool:
    """A zip that holds a workbook (another zip, such as a bundle of CSVs, is not one)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return WORKBOOK_PART in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def read_workbook(name: str, data: bytes, hint: str) -> OdsFile:
    """Every sheet in a published layout (a report, the successions), each read as the CSV file
    would be, joined as one file; sheets of anything else (notes) are passed over."""
    budget = Budget.start(LIMITS)
    read: list[OdsFile] = []
    try:
        with BoundedZip(data, budget) as archive:
            part = shared_strings_part(archive)
            strings: list[str] = []
            if part is not None:
                with archive.open(part) as stream:
                    strings = shared_strings(stream, budget)
            lacks = None  # what is wrong with the first sheet with a report's header, to name it
            for sheet in Workbook(archive, strings).worksheets:
                rows = list(in_standard_order(_sheet_rows(name, sheet, budget)))
                if rows and lacks is None and (lacks := header_problem(rows[0][1], fits=False)):
                    where = f"{name} ({clean_line(sheet.title)[:40]})"
                    lacks = "\n".join(f"{where}: {line}" for line in lacks.splitlines())
                if csv_layout([cells for _, cells in rows[:5]]) is not None:
                    title = clean_line(sheet.title)[:40]  # the file's words, printed to a terminal
                    # a sheet named as a report ("etr") says what it holds, as a file's name does
                    said = title.casefold() if title.casefold() in REPORT_NAMES else hint
                    sheet_read = read_rows(f"{name} ({title})", rows, said)
                    # Named as what the operator gave: "ODS report (workbook)", not "(CSV)".
                    format_ = sheet_read.format.replace("(CSV)", "(workbook)")
                    read.append(replace(sheet_read, format=format_))
    except LimitError as exc:
        raise OdsError(f"{name}: the workbook {exc.what}") from None
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, etree.LxmlError) as exc:
        what = clean_line(str(exc))[:200]  # may quote the file's own words
        raise OdsError(f"{name}: not a workbook that can be read ({what})") from None
    if read:
        return read[0] if len(read) == 1 else joined(name, read)
    if lacks:
        raise OdsError(lacks)
    raise OdsError(
        f"{name}: no sheet holds an ODS report (code, name, ..., open date in column 11) or "
        "the successions file (old code, new code, reason, date)"
    )


def _sheet_rows(name: str, sheet: Worksheet, budget: Budget) -> Rows:
    """The rows that hold a value, all as wide as the widest (a workbook leaves empty cells
    out where a CSV file keeps its commas)."""
    rows: Rows = []
    for number, values in enumerate(sheet.iter_rows(max_col=COLUMNS), start=1):
        if number > MAX_ROWS:
            raise OdsError(f"{name}: more than {MAX_ROWS:,} rows; is this an ODS file?")
        budget.tick()
        cells = [_text(v) for v in values]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append((number, cells))
    width = max((len(cells) for _, cells in rows), default=0)
    return [(number, cells + [""] * (width - len(cells))) for number, cells in rows]


def _text(value: object) -> str:
    """A cell as ODS's CSV would have it: dates as YYYYMMDD, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y%m%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
