"""The CSV files of ODS Data Search and Export: organisation reports and successions.

Both are published without a header row (ODS Data Search and Export can add one; it is passed
over). The same rows downloaded as a workbook come here through ods/workbook.py.
An organisation report (eccg, eccgsite, ecsu, etr, enhsro... in the standard layout) has
  0 organisation code, 1 name, 2 national grouping, 3 high level health geography,
  4-8 address lines 1-5, 9 postcode, 10 open date, 11 close date (YYYYMMDD), 12 status or
  sub-type, 13 sub-type, 14 parent organisation code (sites), ... up to 27 columns.
The successor organisations file (succ) has
  0 organisation code, 1 succeeding organisation code, 2 reason, 3 effective date, 4 indicator.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from datetime import date

from intake_bot.domain.organisations import OdsError, OdsFile, OrgEntry, SuccessionEntry
from intake_bot.domain.printable import clean_line
from intake_bot.ods.kinds import kind_of

MAX_ROWS = 200_000
MAX_ERRORS = 10
REPORT, SUCCESSIONS = "ODS report (CSV)", "successions (CSV)"
_CODE = re.compile(r"[0-9A-Z]{3,10}")
_DATE = re.compile(r"\d{8}|\d{4}-\d{2}-\d{2}")  # ODS's YYYYMMDD, or as a spreadsheet saved it
_REASONS = {"R": "reconfiguration", "M": "merger", "S": "split", "T": "transfer"}


def _rows(name: str, text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every row that is not blank, within MAX_ROWS."""
    reader = csv.reader(text.splitlines())
    try:
        for number, row in enumerate(reader, start=1):
            if number > MAX_ROWS:
                raise OdsError(f"{name}: more than {MAX_ROWS:,} rows; is this an ODS file?")
            cells = [c.strip() for c in row]
            if any(cells):
                yield number, cells
    except csv.Error as exc:
        raise OdsError(f"{name}: line {reader.line_num}: not CSV ({exc})") from None


def _is_header(cells: Sequence[str]) -> bool:
    return bool(cells) and "code" in cells[0].casefold()


def csv_layout(rows: Sequence[list[str]]) -> str | None:
    """Which published layout the rows are in, from the first data row; None: neither."""
    first = next((cells for cells in rows if not _is_header(cells)), None)
    if first is None:
        return None
    if len(first) >= 12 and _DATE.fullmatch(first[10]) and _CODE.fullmatch(first[0].upper()):
        return REPORT
    looks_coded = len(first) >= 4 and all(_CODE.fullmatch(c.upper()) for c in first[:2])
    if looks_coded and len(first) <= 6 and _DATE.fullmatch(first[3]):
        return SUCCESSIONS
    return None


def read_csv(name: str, text: str, hint: str) -> OdsFile:
    """An organisation report or the successions file, whichever the content shows it is."""
    return read_rows(name, list(_rows(name, text)), hint)


def read_rows(name: str, rows: list[tuple[int, list[str]]], hint: str) -> OdsFile:
    """The (line number, cells) of a report or successions file, in either published layout."""
    layout = csv_layout([cells for _, cells in rows[:5]])
    if layout is None:
        raise OdsError(
            f"{name}: line {rows[0][0] if rows else 1}: not an ODS file: expected an ODS report "
            "(code, name, ..., open date YYYYMMDD in column 11) or the successions file "
            "(old code, new code, reason, date YYYYMMDD)"
        )
    errors: list[str] = []
    orgs: list[OrgEntry] = []
    successions: list[SuccessionEntry] = []
    for number, cells in rows:
        if number == rows[0][0] and _is_header(cells):
            continue
        try:
            if layout == REPORT:
                orgs.append(_organisation(cells, hint))
            else:
                successions.append(_succession(cells))
        except ValueError as exc:
            errors.append(f"{name}: line {number}: {exc}")
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise OdsError("\n".join(errors))
    return OdsFile(name, layout, tuple(orgs), tuple(successions))


def _organisation(cells: list[str], hint: str) -> OrgEntry:
    if len(cells) < 12:
        raise ValueError(f"{len(cells)} columns; an ODS report row has at least 12")
    code, name = _code(cells[0], "organisation code"), clean_line(cells[1]).strip()
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
        postcode=cells[9][:10],
    )


def _parent(cells: list[str], code: str) -> str | None:
    # A site names its organisation in column 15; an organisation sits under the geography in
    # column 4 (an ICB, or a region), else under its national grouping (column 3).
    for index in (14, 3, 2):
        found = cells[index].upper() if len(cells) > index else ""
        if _CODE.fullmatch(found) and found != code:
            return found
    return None


def _succession(cells: list[str]) -> SuccessionEntry:
    old, new = _code(cells[0], "organisation code"), _code(cells[1], "succeeding code")
    if old == new:
        raise ValueError(f"{old} is named as its own successor")
    reason = cells[2].strip() if len(cells) > 2 else ""
    return SuccessionEntry(
        old_code=old,
        new_code=new,
        effective_on=_date(cells[3], "effective date") if len(cells) > 3 else None,
        reason=_REASONS.get(reason.upper(), reason)[:60],
    )


def _code(text: str, what: str) -> str:
    code = text.strip().upper()
    if not _CODE.fullmatch(code):
        raise ValueError(f"{what} {text[:40]!r} is not an ODS code (3 to 10 letters and digits)")
    return code


def _date(text: str, what: str) -> date | None:
    if not text:
        return None
    if not _DATE.fullmatch(text):
        raise ValueError(f"{what} {text[:40]!r} is not a date as YYYYMMDD")
    digits = text.replace("-", "")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a real date") from None
