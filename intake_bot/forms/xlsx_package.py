"""A workbook's sheets read straight from the package with lxml, read-only, values only.

openpyxl takes ~0.1 s to import (its whole object model: charts, drawings, the writer), ten
times what reading a form with it takes; `intake-bot parse` of an .xlsx paid that at every
start. The form reader needs only sheet titles, cell values and the workbook's defined names,
so this is the part of openpyxl's read-only reader that gives them, with its rules kept:
`ReadOnlyWorksheet.iter_rows` (gaps filled with one shared empty row, rows as wide as asked),
`WorkSheetParser.parse_cell` with `data_only` (the cached values of formulas), numbers as int or
float, dates by the cell's number format (`styles.numbers.is_date_format`, `from_excel`),
texts without their formatting (`Text.content`). `tests/unit/test_forms_xlsx_package.py` reads
workbooks both ways and compares. Every part is inflated through the caller's `BoundedZip`.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any

from lxml import etree

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
MAX_MERGES = 10_000  # a form has a few dozen; more is layout, not labels
_MERGE_REF = re.compile(
    rb'mergeCell\s+ref="\$?([A-Za-z]{1,3}\$?[1-9]\d{0,6})(?::\$?([A-Za-z]{1,3}\$?[1-9]\d{0,6}))?"'
)
_PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_OVERRIDE = "{http://schemas.openxmlformats.org/package/2006/content-types}Override"
_SHARED_STRINGS = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_WINDOWS_EPOCH, _MAC_EPOCH = datetime(1899, 12, 30), datetime(1904, 1, 1)
# openpyxl's built-in number formats that are dates (and, of them, durations)
_BUILTIN_DATES, _BUILTIN_DURATIONS = frozenset({*range(14, 23), 45, 46, 47}), frozenset({46})
_STRIP = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')  # literals, locales, colours
_DATE_CODE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
_ISO_DURATION = re.compile(
    r"PT((?P<hours>\d+)H)?((?P<minutes>\d+)M)?((?P<seconds>\d+(\.\d{1,3})?)S)?"
)
_CELL = re.compile(r"^[$]?([A-Za-z]{1,3})[$]?(\d+)$")
_ISO = re.compile(
    r"(?P<date>(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2}))?T?"
    r"(?P<time>(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(?P<us>\.\d{1,3})?)?)?Z?"
)


@dataclass(frozen=True)
class DefinedName:
    attr_text: str  # as openpyxl names it: the formula or constant the name stands for
    sheet_scoped: bool = False  # a sheet's own name (localSheetId), not the workbook's


class Workbook:
    """What the form reader asks of an openpyxl read-only workbook."""

    def __init__(self, archive: zipfile.ZipFile, shared_strings: list[str]) -> None:
        root = _xml(archive, "xl/workbook.xml")
        props = root.find(f"{MAIN}workbookPr")
        mac = props is not None and props.get("date1904", "").lower() in ("1", "true")
        self.epoch = _MAC_EPOCH if mac else _WINDOWS_EPOCH
        self.dates, self.durations = _date_styles(archive)
        self.defined_names: dict[str, DefinedName] = {}
        self.sheet_names: dict[str, DefinedName] = {}  # a sheet's own (the first of each name)
        # Every name in the part's order, repeats too: carriers that may disagree.
        self.every_name: list[tuple[str, DefinedName]] = []
        for name in root.iterfind(f"{MAIN}definedNames/{MAIN}definedName"):
            local = name.get("localSheetId") is not None
            defined = DefinedName(name.text or "", local)
            self.every_name.append((name.get("name", ""), defined))
            (self.sheet_names if local else self.defined_names).setdefault(
                name.get("name", ""), defined
            )
        targets = _relationships(archive, "xl/_rels/workbook.xml.rels")
        names = set(archive.namelist())
        self.worksheets: list[Worksheet] = []
        for sheet in root.iterfind(f"{MAIN}sheets/{MAIN}sheet"):
            rel_id = sheet.get(_REL_ID)
            if not rel_id:
                continue
            target, kind = targets[rel_id]
            if target in names and "chartsheet" not in kind:
                reading = _SheetReading(archive, target, shared_strings, self)
                self.worksheets.append(Worksheet(sheet.get("name", ""), reading))

    def close(self) -> None:
        """Nothing stays open between reads (as in openpyxl, each read opens its part)."""

    def value_at(self, title: str, row: int, column: int) -> Any:
        """One cell's value (None when the sheet or the cell is not there)."""
        sheet = self.sheet(title)
        return None if sheet is None else sheet.value_at(row, column)

    def sheet(self, title: str) -> Worksheet | None:
        """The worksheet of that title (as Excel, in any case), if there is one."""
        return next((s for s in self.worksheets if s.title.casefold() == title.casefold()), None)


class Worksheet:
    def __init__(self, title: str, reading: _SheetReading) -> None:
        self.title = title
        self._reading = reading

    def reset_dimensions(self) -> None:
        """The declared size is never trusted here: rows are read to the last one there is."""

    def value_at(self, row: int, column: int) -> Any:
        """One cell's value (None when it is not there), reading the rows up to it."""
        for number, cells in self._reading.rows():
            if number >= row:
                return dict(cells).get(column) if number == row else None
        return None

    def merged_cells(self, limit: int = MAX_MERGES) -> list[tuple[int, int, int, int]]:
        """The sheet's merged ranges as (first row, first column, last row, last column), at
        most `limit` of them. They follow the rows in the part: the part is read once more, and
        only its `mergeCells` element looked at (parsing it all again would double a read)."""
        with self._reading.archive.open(self._reading.part) as stream:
            data = stream.read()
        at = data.rfind(b"<mergeCells")
        if at < 0:
            at = data.rfind(b":mergeCells")  # a prefixed namespace (x:mergeCells)
        ranges: list[tuple[int, int, int, int]] = []
        for found in _MERGE_REF.finditer(data, at) if at >= 0 else ():
            first, last = found.group(1).decode(), (found.group(2) or found.group(1)).decode()
            top, left = cell_coordinate(first)
            bottom, right = cell_coordinate(last)
            ranges.append((top, left, bottom, right))
            if len(ranges) >= limit:
                break
        return ranges

    def iter_rows(
        self, *, max_row: int | None = None, max_col: int, values_only: bool = True
    ) -> Iterator[tuple[Any, ...]]:
        """Rows from the first, each `max_col` values wide; a missing row is the one shared
        empty tuple (openpyxl's `_cells_by_row`). Values only, whatever `values_only` says."""
        empty_row = (None,) * max_col
        counter, idx = 1, 1
        for idx, cells in self._reading.rows():
            if max_row is not None and idx > max_row:
                break
            for _ in range(counter, idx):
                counter += 1
                yield empty_row
            if counter <= idx:
                values: list[Any] = [None] * max_col
                for column, value in cells:
                    if 1 <= column <= max_col:
                        values[column - 1] = value
                counter += 1
                yield tuple(values)
        if max_row is not None and max_row < idx:
            for _ in range(counter, max_row + 1):
                yield empty_row


@dataclass(frozen=True)
class _SheetReading:
    archive: zipfile.ZipFile
    part: str
    shared_strings: list[str]
    workbook: Workbook

    def rows(self) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
        """(row number, [(column, value)]) of each row the part has, as `WorkSheetParser`."""
        row_number = 0
        with self.archive.open(self.part) as stream:
            for _, row in iterparse(stream, f"{MAIN}row"):
                number = row.get("r")
                row_number = _row_number(number) if number else row_number + 1
                cells, column = [], 0
                for cell in row.iterchildren(etree.Element):  # not comments (as ElementTree)
                    reference = cell.get("r")
                    column = cell_coordinate(reference)[1] if reference else column + 1
                    cells.append((column, self._value(cell)))
                row.clear()
                yield row_number, cells

    def _value(self, cell: Any) -> Any:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            inline = cell.find(f"{MAIN}is")
            return None if inline is None else text_content(inline)
        value = cell.findtext(f"{MAIN}v", None) or None
        if value is None:
            return None
        if kind == "n":
            number = float(value) if ("." in value or "E" in value or "e" in value) else int(value)
            style = int(cell.get("s") or 0)
            if style not in self.workbook.dates:
                return number
            try:
                return _from_excel(number, self.workbook.epoch, style in self.workbook.durations)
            except (OverflowError, ValueError):
                return "#VALUE!"  # openpyxl: a date out of range is an error cell
        if kind == "s":
            index = int(value)
            if index < 0:  # Python would count from the end: the last text, silently
                raise IndexError(f"text number {index}")
            return self.shared_strings[index]
        if kind == "b":
            return bool(int(value))
        if kind == "d":
            return _from_iso(value)
        return value  # "str" (a formula's text), "e" (an error such as #N/A)


def shared_strings_part(archive: zipfile.ZipFile) -> str | None:
    """The part the package's manifest names as the table of texts, if any (as openpyxl)."""
    for override in _xml(archive, "[Content_Types].xml").iter(_OVERRIDE):
        if override.get("ContentType") == _SHARED_STRINGS:
            return str(override.get("PartName", ""))[1:]
    return None


def text_content(node: Any) -> str:
    """A string item's text without its formatting: its `t`, then each run's (`Text.content`)."""
    snippets = [node.findtext(f"{MAIN}t")]
    snippets += [run.findtext(f"{MAIN}t") for run in node.iterfind(f"{MAIN}r")]
    return "".join(s for s in snippets if s is not None)


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA (openpyxl's `get_column_letter`)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def iterparse(stream: IO[bytes], tag: str) -> Iterator[tuple[str, Any]]:
    """End events of `tag` elements, with no entities, DTDs or network (as openpyxl's defused
    parser)."""
    return etree.iterparse(  # type: ignore[no-any-return]
        stream, tag=tag, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )


def _xml(archive: zipfile.ZipFile, part: str) -> Any:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(archive.read(part), parser)


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Id -> (the target's part name, the relationship's type), as openpyxl resolves them."""
    if part not in archive.namelist():
        return {}
    folder = posixpath.dirname(posixpath.dirname(part))
    found: dict[str, tuple[str, str]] = {}
    for rel in _xml(archive, part).iter(_PACKAGE_RELS):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        if target.startswith("/"):
            target = target[1:]
        else:
            target = posixpath.normpath(posixpath.join(folder, target))
        found[rel.get("Id", "")] = (target, rel.get("Type", ""))
    return found


def _date_styles(archive: zipfile.ZipFile) -> tuple[frozenset[int], frozenset[int]]:
    """The cell styles (`s`) whose number format is a date, and those that are durations."""
    if "xl/styles.xml" not in archive.namelist():
        return frozenset(), frozenset()
    root = _xml(archive, "xl/styles.xml")
    custom = {
        int(f.get("numFmtId", "0")): f.get("formatCode", "")
        for f in root.iterfind(f"{MAIN}numFmts/{MAIN}numFmt")
    }
    dates, durations = set(), set()
    for index, xf in enumerate(root.iterfind(f"{MAIN}cellXfs/{MAIN}xf")):
        number_format = int(xf.get("numFmtId", "0"))
        code = custom.get(number_format)
        if code is None:
            dated, lasting = number_format in _BUILTIN_DATES, number_format in _BUILTIN_DURATIONS
        else:
            first = code.split(";")[0]
            dated = _DATE_CODE.search(_STRIP.sub("", first)) is not None
            lasting = _DURATION.search(first) is not None
        if dated:
            dates.add(index)
        if lasting:
            durations.add(index)
    return frozenset(dates), frozenset(durations)


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise ValueError(f"{text} is not a valid row number") from None
        return int(number)


def cell_coordinate(reference: str) -> tuple[int, int]:
    """(row, column) of "B3" or "$B$3"; ValueError when it is not one."""
    match = _CELL.match(reference)
    if match is None or int(match.group(2)) == 0:
        raise ValueError(f"invalid cell coordinates ({reference})")
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + ord(letter) - 64
    return int(match.group(2)), column


def _from_excel(value: float, epoch: datetime, duration: bool) -> datetime | time | timedelta:
    if duration:
        lasted = timedelta(days=value)
        if lasted.microseconds:  # to the millisecond
            seconds = lasted.total_seconds() // 1
            return timedelta(seconds=seconds, microseconds=round(lasted.microseconds, -3))
        return lasted
    day, fraction = divmod(value, 1)
    diff = timedelta(milliseconds=round(fraction * 86400 * 1000))
    if 0 <= value < 1 and diff.days == 0:
        minutes, seconds = divmod(diff.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return time(hours, minutes, seconds, diff.microseconds)
    if 0 < value < 60 and epoch == _WINDOWS_EPOCH:
        day += 1  # Excel's 29 February 1900, which never was
    return epoch + timedelta(days=day) + diff


def _from_iso(text: str) -> date | datetime | time | timedelta:
    """A `t="d"` cell's ISO 8601 text (openpyxl's `from_ISO8601`)."""
    match = _ISO.match(text)
    if match and any(match.groups()):
        found = match.groupdict()
        n = {k: int(found[k] or 0) for k in ("year", "month", "day", "hour", "minute", "second")}
        us = int(float(found["us"]) * 1_000_000) if found["us"] else 0
        if not found["date"]:
            return time(n["hour"], n["minute"], n["second"], us)
        if not found["time"]:
            return date(n["year"], n["month"], n["day"])
        return datetime(n["year"], n["month"], n["day"], n["hour"], n["minute"], n["second"], us)
    lasted = _ISO_DURATION.match(text)
    if lasted and any(lasted.groups()):
        return timedelta(**{k: float(v) for k, v in lasted.groupdict().items() if v})
    raise ValueError(f"Invalid datetime value {text}")
