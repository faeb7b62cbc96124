"""The CSV files of ODS Data Search and Export: organisation reports and successions.

Both are published without a header row (ODS Data Search and Export can add one; it is passed
over, and a header that puts the columns elsewhere is followed: ods/headers.py). The same rows
downloaded as a workbook come here through ods/workbook.py.
An organisation report (eccg, eccgsite, ecsu, etr, enhsro... in the standard layout) has
  0 organisation code, 1 name, 2 national grouping, 3 high level health geography,
  4-8 address lines 1-5, 9 postcode, 10 open date, 11 close date (YYYYMMDD), 12 status or
  sub-type, 13 sub-type, 14 parent organisation code (sites), ... up to 27 columns.
The successor organisations file (succ) has
  0 organisation code, 1 succeeding organisation code, 2 reason, 3 effective date, 4 indicator.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from itertools import chain, islice

from intake_bot.domain.organisations import (
    EARLIEST,
    OdsError,
    OdsFile,
    OrgEntry,
    SuccessionEntry,
)
from intake_bot.domain.printable import clean_line
from intake_bot.ods.headers import header_problem, in_standard_order
from intake_bot.ods.kinds import is_ods_code, kind_of, ods_code

MAX_ROWS = 200_000
MAX_ERRORS = 10
REPORT, SUCCESSIONS = "ODS report (CSV)", "successions (CSV)"
REPORT_COLUMNS, SUCCESSION_COLUMNS = 12, (4, 6)  # at least through the close date; old..indicator
_DATE = re.compile(r"\d{8}|\d{4}-\d{2}-\d{2}")  # ODS's YYYYMMDD, or as a spreadsheet saved it
# A report opened and saved again by Excel in a UK locale: day first, as every date here is read.
_UK_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
# Enough to know the date column when its value is wrong (30.06.22), so that it is named.
_DATE_LIKE = re.compile(r"\d[\d/.\-]{4,}\d")
# The time a spreadsheet adds when it saves a date cell ("01/04/2013 00:00"): not part of it.
_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
MAX_LINE, MAX_CELLS = 65_536, 40
_REASONS = {
    "R": "reconfiguration",
    "F": "code change",
    "O": "organisation type change",
    "M": "merger",
    "S": "split",
    "T": "transfer",
}


def _rows(name: str, text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every row that is not blank, within MAX_ROWS. The number is the
    physical line the row starts on; the csv module's own line handling keeps a quoted field's
    line breaks (and U+0085, which str.splitlines would break at) inside the field.

    Memory: the csv module builds a whole row before handing it over, so a row is fed to it at
    most MAX_LINE characters long (a line of millions of commas, or a quoted cell a line that
    never ends, would be millions of cells); an ODS row is a few hundred characters."""
    fed = [0]  # characters of the row being built

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):  # at \n, \r\n and an old Mac's \r
            fed[0] += len(line)
            if fed[0] > MAX_LINE:
                raise _RowTooLongError
            yield line

    reader = csv.reader(lines())
    start = 1
    try:
        for count, row in enumerate(reader, start=1):
            fed[0] = 0
            if count > MAX_ROWS:
                raise OdsError(f"{name}: more than {MAX_ROWS:,} rows; is this an ODS file?")
            cells = [c.strip() for c in row[:MAX_CELLS]]  # a report has 27; the rest unread
            if any(cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise OdsError(f"{name}: line {start}: not CSV ({exc})") from None
    except _RowTooLongError:
        raise OdsError(f"{name}: line {start}: a row longer than {MAX_LINE:,} characters") from None


class _RowTooLongError(Exception):
    pass


def _width(cells: Sequence[str]) -> int:
    """How many cells the row has without its trailing empty ones (`,,,` after a row)."""
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    return width


def _columns(count: int) -> str:
    return f"{count} column{'' if count == 1 else 's'}"


def _is_header(cells: Sequence[str]) -> bool:
    return bool(cells) and "code" in cells[0].casefold()


def csv_layout(rows: Sequence[list[str]]) -> str | None:
    """Which published layout the rows are in, from the first row that shows one; None:
    neither. A row shows it by its codes, its column count and something date-like where the
    date goes: a bad value (30/06/2022) or a short row is then named by the row's reader rather
    than the whole file refused."""
    return next(filter(None, (_layout(cells) for cells in rows if not _is_header(cells))), None)


def _layout(cells: list[str]) -> str | None:
    if not cells or not _as_published(cells[0]):
        return None
    if len(cells) >= REPORT_COLUMNS and _DATE_LIKE.fullmatch(_TIME.sub("", cells[10])):
        return REPORT
    fewest, most = SUCCESSION_COLUMNS
    if fewest <= len(cells) and _width(cells) <= most and _as_published(cells[1]):
        return SUCCESSIONS if _DATE_LIKE.fullmatch(_TIME.sub("", cells[3])) else None
    return None


def _as_published(text: str) -> bool:
    # ODS writes codes in capitals: "Month,Total,..." is not a successions file (a row's reader
    # takes any case once the layout is known).
    return text == text.upper() and is_ods_code(text)


def read_csv(name: str, text: str, hint: str) -> OdsFile:
    """An organisation report or the successions file, whichever the content shows it is."""
    return read_rows(name, _rows(name, text), hint)  # row by row: a bad file stops early


def read_rows(name: str, rows: Iterable[tuple[int, list[str]]], hint: str) -> OdsFile:
    """The (line number, cells) of a report or successions file, in either published layout."""
    rest = in_standard_order(rows)
    head = list(islice(rest, 5))
    layout = csv_layout([cells for _, cells in head])
    first = head[0][0] if head else 1
    problem = header_problem(head[0][1], fits=layout is not None) if head else None
    if problem:
        raise OdsError("\n".join(f"{name}: line {first}: {line}" for line in problem.splitlines()))
    if layout is None:
        raise OdsError(
            f"{name}: line {first}: not an ODS file: expected an ODS report "
            "(code, name, ..., open date YYYYMMDD in column 11) or the successions file "
            "(old code, new code, reason, date YYYYMMDD)"
        )
    errors: list[str] = []
    orgs: list[OrgEntry] = []
    successions: list[SuccessionEntry] = []
    for number, cells in chain(head, rest):
        if number == first and _is_header(cells):
            continue
        try:
            if layout == REPORT:
                orgs.append(_organisation(cells, hint))
            else:
                successions.append(_succession(cells))
        except ValueError as exc:
            errors.append(f"{name}: line {number}: {exc}")
            if len(errors) >= MAX_ERRORS:
                errors.append(f"{name}: stopped at line {number}, after {MAX_ERRORS} problems")
                break
    if errors:
        raise OdsError("\n".join(errors))
    return OdsFile(name, layout, tuple(orgs), tuple(successions))


def _organisation(cells: list[str], hint: str) -> OrgEntry:
    if len(cells) < REPORT_COLUMNS:
        raise ValueError(f"{_columns(len(cells))}; an ODS report row has at least {REPORT_COLUMNS}")
    code, name = ods_code(cells[0], "organisation code"), clean_line(cells[1]).strip()
    if not name:
        raise ValueError(f"{code} has no name")
    opened, closed = _date(cells[10], "open date"), _date(cells[11], "close date")
    parent = _parent(cells, code)
    return OrgEntry(
        code=code,
        name=name[:400],
        kind=kind_of(code, name, hint=hint, closed_on=closed),
        opened_on=opened,
        closed_on=closed,
        parent=parent,
        postcode=clean_line(cells[9])[:10],
    )


def _parent(cells: list[str], code: str) -> str | None:
    # A site names its organisation in column 15; an organisation sits under the geography in
    # column 4 (an ICB, or a region), else under its national grouping (column 3).
    for index in (14, 3, 2):
        found = cells[index].upper() if len(cells) > index else ""
        if is_ods_code(found) and found != code:
            return found
    return None


def _succession(cells: list[str]) -> SuccessionEntry:
    fewest, most = SUCCESSION_COLUMNS
    if not fewest <= len(cells) or _width(cells) > most:
        raise ValueError(
            f"{_columns(_width(cells))}; a successions row has old code, new code, reason, "
            "effective date and an indicator"
        )
    old, new = ods_code(cells[0], "organisation code"), ods_code(cells[1], "succeeding code")
    if old == new:
        raise ValueError(f"{old} is named as its own successor")
    reason = clean_line(cells[2]).strip()
    return SuccessionEntry(
        old_code=old,
        new_code=new,
        effective_on=_date(cells[3], "effective date"),
        reason=_REASONS.get(reason.upper(), reason)[:60],
    )


def _date(text: str, what: str) -> date | None:
    text = _TIME.sub("", text)
    if not text:
        return None
    uk_order = _UK_DATE.fullmatch(text)
    if uk_order is None and not _DATE.fullmatch(text):
        raise ValueError(f"{what} {text[:40]!r} is not a date as YYYYMMDD (or DD/MM/YYYY)")
    digits = text.replace("-", "")
    try:
        if uk_order is not None:
            day, month, year = map(int, uk_order.groups())
            found = date(year, month, day)
        else:
            found = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        order = "day first" if uk_order is not None else "year, month, day"
        raise ValueError(f"{what} {text!r} is not a real date ({order})") from None
    if found < EARLIEST:
        raise ValueError(f"{what} {text!r} is before any organisation ODS lists")
    return found
