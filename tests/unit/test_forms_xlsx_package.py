"""`forms/xlsx_package.py` reads a workbook as openpyxl's read-only reader does (titles, values,
defined names), without importing openpyxl: both ways, on the same workbooks, must agree."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName

from intake_bot import samples
from intake_bot.forms import xlsx_package
from intake_bot.forms.generate import blank_xlsx
from intake_bot.forms.inflate import BoundedZip
from intake_bot.forms.limits import Budget
from intake_bot.forms.xlsx import shared_strings

WIDTH = 12


def _typed_workbook(epoch_1904: bool = False) -> bytes:
    book = Workbook()
    if epoch_1904:
        book.epoch = datetime(1904, 1, 1)  # openpyxl's CALENDAR_MAC_1904
    sheet = book.active
    assert sheet is not None
    sheet.title = "Request"
    sheet.append(["Text", "a value", 3, 4.5, True, False, 1e20, -7])
    sheet.append(["Dates", datetime(2016, 3, 15, 9, 30), date(2016, 4, 1), time(13, 5, 7)])
    sheet["E2"] = timedelta(hours=30, minutes=15)
    sheet["E2"].number_format = "[h]:mm:ss"
    sheet["F2"] = 42500.25
    sheet["F2"].number_format = 'dd"/"mm"/"yyyy hh:mm'
    sheet["G2"] = 3.25
    sheet["G2"].number_format = '"day" 0.00'  # a literal "d": not a date
    sheet["A5"] = "after a gap"
    sheet["K5"] = "far right"
    sheet["B6"] = "=SUM(C1:D1)"  # no cached value: None, as openpyxl's data_only reader
    sheet["C7"] = "x005F_x000D_ escaped"
    other = book.create_sheet("Notes")
    other.append([None, "only the second column"])
    book.create_sheet("Empty")
    book.defined_names["DSfC_form_version"] = DefinedName("DSfC_form_version", attr_text='"2026.1"')
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_SST = (
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b"<si><t>shared</t></si>"
    b"<si><r><rPr><b/></rPr><t>bold</t></r><r><t xml:space='preserve'> and plain</t></r>"
    b"<rPh sb='0' eb='1'><t>ruby</t></rPh></si>"
    b"<si><t>x005F_x000D_ escaped</t></si><si><t/></si></sst>"
)
_SST_TYPE = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def _with_shared_and_rich_texts(data: bytes) -> bytes:
    """As Excel writes texts: a table of shared strings (one with formatted runs), which cells
    name by index; openpyxl itself writes inline strings."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                for ref, index in ((b"A1", 0), (b"B1", 1), (b"C7", 2), (b"A5", 3)):
                    start = part.index(b'<c r="' + ref + b'"')
                    end = part.index(b"</c>", start) + len(b"</c>")
                    shared = b'<c r="%s" t="s"><v>%d</v></c>' % (ref, index)
                    part = part[:start] + shared + part[end:]
            if info.filename == "[Content_Types].xml":
                override = b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/>'
                part = part.replace(b"</Types>", override % _SST_TYPE + b"</Types>")
            target.writestr(info, part)
        target.writestr("xl/sharedStrings.xml", _SST)
    return out.getvalue()


def _by_openpyxl(data: bytes, max_row: int | None) -> dict[str, Any]:
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheets = {}
        for sheet in book.worksheets:
            sheet.reset_dimensions()
            rows = sheet.iter_rows(max_row=max_row, max_col=WIDTH, values_only=True)
            sheets[sheet.title] = list(rows)
        names = {n: d.attr_text for n, d in book.defined_names.items()}
        return {"sheets": sheets, "names": names}
    finally:
        book.close()


def _by_package(data: bytes, max_row: int | None) -> dict[str, Any]:
    budget = Budget.start()
    with BoundedZip(data, budget) as archive:
        part = xlsx_package.shared_strings_part(archive)
        strings: list[str] = []
        if part is not None:
            with archive.open(part) as stream:
                strings = shared_strings(stream, budget)
        book = xlsx_package.Workbook(archive, strings)
        sheets = {}
        for sheet in book.worksheets:
            sheet.reset_dimensions()
            sheets[sheet.title] = list(sheet.iter_rows(max_row=max_row, max_col=WIDTH))
        names = {n: d.attr_text for n, d in book.defined_names.items()}
        return {"sheets": sheets, "names": names}


WORKBOOKS = {
    "typed": _typed_workbook(),
    "1904": _typed_workbook(epoch_1904=True),
    "shared and rich texts": _with_shared_and_rich_texts(_typed_workbook()),
    "sample request": samples.xlsx_request(samples.new_request(1)),
    "blank form": blank_xlsx(("North", "South")),
}


@pytest.mark.parametrize("name", list(WORKBOOKS))
@pytest.mark.parametrize("max_row", [None, 3, 40])
def test_values_titles_and_names_are_openpyxls(name: str, max_row: int | None) -> None:
    data = WORKBOOKS[name]
    assert _by_package(data, max_row) == _by_openpyxl(data, max_row)


def test_the_typed_workbook_holds_what_the_comparison_is_about() -> None:
    read = _by_package(_with_shared_and_rich_texts(_typed_workbook()), None)
    first, second = read["sheets"]["Request"][:2]
    assert read["sheets"]["Request"][4][0] == ""
    assert read["sheets"]["Request"][6][2] == "x000D_ escaped"
    assert first[:8] == ("shared", "bold and plain", 3, 4.5, True, False, 1e20, -7)
    assert second[1:7] == (
        datetime(2016, 3, 15, 9, 30),
        datetime(2016, 4, 1),
        time(13, 5, 7),
        timedelta(hours=30, minutes=15),
        datetime(2016, 5, 10, 6, 0),
        3.25,
    )
    assert read["names"] == {"DSfC_form_version": '"2026.1"'}


def test_gaps_are_one_shared_empty_row_and_column_letters_are_excels() -> None:
    rows = _by_package(_typed_workbook(), None)["sheets"]["Request"]
    assert rows[2] is rows[3] and set(rows[2]) == {None}
    assert [xlsx_package.column_letter(n) for n in (1, 26, 27, 64, 703)] == [
        "A",
        "Z",
        "AA",
        "BL",
        "AAA",
    ]
