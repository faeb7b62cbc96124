"""ODS files built to break the reader: each is refused naming the file (never a traceback,
never a partial load), within bounded memory, and nothing it holds reaches a terminal raw."""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click import Command
from click.testing import CliRunner
from openpyxl import Workbook

from intake_bot.domain.organisations import OdsError
from intake_bot.ods import read_ods_file
from intake_bot.ods.files import read_ods_bytes
from tests.ods_files import bundle, fhir_organisation, report_row

ROW = report_row("RR8", "LEEDS TEACHING HOSPITALS NHS TRUST").encode()


def _error(name: str, data: bytes) -> str:
    with pytest.raises(OdsError) as raised:
        read_ods_bytes(name, data)
    return str(raised.value)


def _zip(name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def test_a_corrupt_or_encrypted_zip_member_is_named() -> None:
    whole = _zip("a.csv", ROW * 50)
    start = whole.index(b"a.csv") + len("a.csv")
    corrupt = (
        whole[:start] + bytes(b ^ 0x5A for b in whole[start : start + 40]) + whole[start + 40 :]
    )
    assert "corrupt.zip/a.csv: cannot be unpacked" in _error("corrupt.zip", corrupt)
    # the "encrypted" flag in both headers: zipfile asks for a password
    flagged = bytearray(whole)
    for header in (b"PK\x03\x04", b"PK\x01\x02"):
        at = whole.index(header) + (6 if header == b"PK\x03\x04" else 8)
        flagged[at] |= 1
    assert "cannot be unpacked" in _error("locked.zip", bytes(flagged))


def test_a_zip_member_declared_longer_than_the_zip_is_named() -> None:
    whole = bytearray(_zip("a.csv", ROW * 50, zipfile.ZIP_STORED))
    central = whole.rfind(b"PK\x01\x02")
    struct.pack_into("<II", whole, central + 20, 5_000_000, 5_000_000)  # its sizes, as declared
    assert "short.zip/a.csv: cannot be unpacked" in _error("short.zip", bytes(whole))


def _workbook(sheet_xml: str) -> bytes:
    """A workbook whose first sheet is `sheet_xml` (the rows inside <sheetData>)."""
    book = Workbook()
    book.active.append(["x"])
    plain = io.BytesIO()
    book.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
                xml = f'<worksheet xmlns="{ns}"><sheetData>{sheet_xml}</sheetData></worksheet>'
                part = xml.encode()
            target.writestr(info, part)
    return out.getvalue()


@pytest.mark.parametrize(
    "cell",
    [
        '<c r="A1" t="s"><v>99</v></c>',  # past the end of the table of texts
        '<c r="A1" t="s"><v>-1</v></c>',  # would read the last text, silently
        '<c r="A1" t="d"><v>PT99999999999999H</v></c>',  # a duration past any date
    ],
)
def test_a_cell_built_to_break_the_workbook_reader_is_named(cell: str) -> None:
    message = _error("odd.xlsx", _workbook(f'<row r="1">{cell}</row>'))
    assert message.startswith("odd.xlsx: ")


def test_a_sheet_too_large_for_an_ods_report_is_refused_before_it_is_built() -> None:
    # a row of three million empty cells: 12 MB of XML, far more as elements in memory
    wide = _workbook('<row r="1">' + "<c/>" * 5_000_000 + "</row>")
    assert "unpacks to more than 16 MB" in _error("wide.xlsx", wide)


def test_a_line_of_millions_of_commas_is_refused_by_its_length() -> None:
    data = ROW + b"\r\n" + b"," * 3_000_000 + b"\r\n"
    assert _error("commas.csv", data) == ("commas.csv: line 2: a row longer than 65,536 characters")


def test_a_json_of_millions_of_objects_texts_or_numbers_is_refused_before_it_is_parsed() -> None:
    for many in (
        b"[" + b"{}," * 6_000_001 + b"{}]",
        b"[" + b'"ab",' * 12_000_001 + b'"ab"]',
        b"[" + b"1e1," * 6_000_001 + b"1e1]",  # numbers: no texts to count, ~0.9 GB parsed
    ):
        assert "more than 6,000,000 JSON values" in _error("many.json", many)


@pytest.mark.parametrize(
    "rows",
    [
        b'"' + b"a\n" * 40_000 + b'"',  # one quoted cell: a line that never ends
        b",\n" * 10 + b'"x","' + b'y",\n"' * 20_000 + b'z"',  # a row of many cells, each a line
        b"ab\r" * 40_000,  # an old Mac's line ends: each is its own row
    ],
)
def test_a_row_is_refused_once_it_is_longer_than_any_ods_row(rows: bytes) -> None:
    data = ROW + b"\r\n" + rows
    message = _error("rows.csv", data)
    assert message.startswith("rows.csv: line ")


def test_an_old_mac_file_names_the_line_of_its_long_row() -> None:
    data = ROW + b"\r" + ROW + b"\r" + b"," * 70_000 + b"\r"
    assert _error("mac.csv", data) == "mac.csv: line 3: a row longer than 65,536 characters"


def test_bundle_entries_that_are_not_organizations_are_refused_not_skipped(
    tmp_path: Path,
) -> None:
    good = fhir_organisation("RR8", "LEEDS TEACHING HOSPITALS NHS TRUST", start="1998-04-01")
    for odd in ({"resource": "text"}, {"resource": {"resourceType": "organization"}}, 7):
        document = {"resourceType": "Bundle", "entry": [{"resource": good}, odd]}
        assert "Bundle entry 2" in _error("b.json", json.dumps(document).encode())
    # a search's own notes beside its results are not organisations, and not a problem
    outcome = {"resource": {"resourceType": "OperationOutcome"}, "search": {"mode": "outcome"}}
    document = {"resourceType": "Bundle", "entry": [{"resource": good}, outcome]}
    assert len(read_ods_bytes("b.json", json.dumps(document).encode()).organisations) == 1


def test_a_lone_surrogate_in_a_name_is_replaced_not_a_crash_at_the_database(
    tmp_path: Path,
) -> None:
    org = fhir_organisation("RR8", "LEEDS TEACHING HOSPITALS NHS TRUST", start="1998-04-01")
    text = json.dumps(org).replace("LEEDS TEACHING", "LEEDS \\ud800 TEACHING")
    (found,) = read_ods_bytes("o.json", text.encode()).organisations
    found.name.encode("utf-8")  # storable: no surrogate left
    assert "\ufffd" in found.name


def test_a_file_name_that_is_not_utf8_and_a_fifo(tmp_path: Path) -> None:
    odd = tmp_path / os.fsdecode(b"\xff\xfe eccg.csv")
    odd.write_bytes(ROW)
    read = read_ods_file(odd)
    read.name.encode("utf-8")  # it goes into the audit trail
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(OdsError, match=r"pipe\.csv: not a regular file"):
        read_ods_file(fifo)  # would wait for a writer for ever


def test_a_zip_member_name_reaches_the_terminal_without_its_escapes(tmp_path: Path) -> None:
    from intake_bot.cli.common import err_line

    data = _zip("\x1b]0;PWNED\x07\x1b[31mred.csv", b'"x","y"\r\n')
    message = _error("evil.zip", data)
    assert "\x1b" not in message and "\x07" not in message

    runner = CliRunner()
    result = runner.invoke(_printer(err_line), ["\x1b[2J" + "A" * 5000])
    assert "\x1b" not in result.output and len(result.output) < 2100


def _printer(err_line: Callable[[str], None]) -> Command:
    import click

    @click.command()
    @click.argument("message")
    def command(message: str) -> None:
        err_line(message)

    return command


def test_a_well_formed_bundle_still_reads(tmp_path: Path) -> None:
    orgs = [fhir_organisation("RR8", "LEEDS TEACHING HOSPITALS NHS TRUST", start="1998-04-01")]
    assert len(read_ods_file(bundle(tmp_path / "b.json", orgs)).organisations) == 1
