"""Hostile and oversized files: zip bombs whose headers lie, too many texts, slow sheets, too
many rows or parts. Each is refused with a reason that names the file and the limit, or read
with what the limit cut named; none takes much memory or time. The files are made here."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_bot.domain.approvals import parse_cag_refs
from intake_bot.domain.values import ValueProblem, parse_date, parse_ods, parse_yes_no
from intake_bot.forms.files import read_file, read_files
from intake_bot.forms.inflate import BoundedZip
from intake_bot.forms.limits import DEFAULT_LIMITS, Budget, ReadLimits, TooLargeError
from intake_bot.forms.message import parse_message
from intake_bot.forms.readings import Attachment, FileReading, RejectCode
from intake_bot.samples import XLSX, email, new_request, xlsx_bulk

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WORD = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
OCTET = "application/octet-stream"
HEADER = ("Type of request", "Commissioning organisation", "Commissioning organisation ODS code")
MB = 1024 * 1024


# --- making hostile packages ---------------------------------------------------------------


def _deflate_repeated(chunk: bytes, times: int, head: bytes = b"") -> bytes:
    """Raw deflate of head + chunk * times, made in milliseconds: flushed blocks repeat."""
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = first.compress(head) + first.flush(zlib.Z_FULL_FLUSH)
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = block.compress(chunk) + block.flush(zlib.Z_FULL_FLUSH)
    return start + segment * times + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def _deflated(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


Part = tuple[bytes, int, int]  # deflated bytes, size declared, CRC declared


def _honest(data: bytes) -> Part:
    return _deflated(data), len(data), zlib.crc32(data)


def _zip(parts: dict[str, Part]) -> bytes:
    """A zip file written by hand, so that its headers say whatever the test wants."""
    out, central = io.BytesIO(), []
    for name, (data, size, crc) in parts.items():
        offset, encoded = out.tell(), name.encode()
        sizes = (crc, len(data), size, len(encoded))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, *sizes, 0) + encoded)
        out.write(data)
        entry = struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, *sizes, 0, 0, 0, 0, 0, offset
        )
        central.append(entry + encoded)
    start, directory = out.tell(), b"".join(central)
    out.write(directory)
    count = len(central)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), start, 0))
    return out.getvalue()


def _types(overrides: dict[str, str]) -> bytes:
    items = "".join(f'<Override PartName="/{p}" ContentType="{t}"/>' for p, t in overrides.items())
    return (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package'
        f'.relationships+xml"/>{items}</Types>'
    ).encode()


_OFFICE = "application/vnd.openxmlformats-officedocument"


def _docx(document: Part) -> bytes:
    types = _types({"word/document.xml": f"{_OFFICE}.wordprocessingml.document.main+xml"})
    return _zip({"[Content_Types].xml": _honest(types), "word/document.xml": document})


def _xlsx(sheet: Part, strings: Part | None = None, extra: dict[str, Part] | None = None) -> bytes:
    """A workbook of one sheet, `Bulk`, and (when given) a table of shared strings."""
    overrides = {
        "xl/workbook.xml": f"{_OFFICE}.spreadsheetml.sheet.main+xml",
        "xl/worksheets/sheet1.xml": f"{_OFFICE}.spreadsheetml.worksheet+xml",
    }
    if strings is not None:
        overrides["xl/sharedStrings.xml"] = f"{_OFFICE}.spreadsheetml.sharedStrings+xml"
    rel = '<Relationship Id="{}" Type="{}/{}" Target="{}"/>'
    workbook_rels = rel.format("rId1", DOC_RELS, "worksheet", "worksheets/sheet1.xml")
    if strings is not None:
        workbook_rels += rel.format("rId2", DOC_RELS, "sharedStrings", "sharedStrings.xml")
    parts = {
        "[Content_Types].xml": _honest(_types(overrides)),
        "_rels/.rels": _honest(
            f'<Relationships xmlns="{RELS}">'
            f"{rel.format('rId1', DOC_RELS, 'officeDocument', 'xl/workbook.xml')}"
            "</Relationships>".encode()
        ),
        "xl/workbook.xml": _honest(
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELS}"><sheets>'
            '<sheet name="Bulk" sheetId="1" r:id="rId1"/></sheets></workbook>'.encode()
        ),
        "xl/_rels/workbook.xml.rels": _honest(
            f'<Relationships xmlns="{RELS}">{workbook_rels}</Relationships>'.encode()
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if strings is not None:
        parts["xl/sharedStrings.xml"] = strings
    return _zip(parts | (extra or {}))


def _row(number: int, *texts: str) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{t}</t></is></c>'
        for i, t in enumerate(texts)
    )
    return f'<row r="{number}">{cells}</row>'


_SHEET_HEAD = f'<worksheet xmlns="{MAIN}"><sheetData>{_row(1, *HEADER)}'.encode()
_SHEET_TAIL = b"</sheetData></worksheet>"
_GIGABYTE_OF_PARAGRAPHS = (b"<w:p/>" * 174_763, 1024)  # 1 MiB a block, 1,024 blocks


def docx_bomb(declared: int) -> bytes:
    """About 1.5 MB that inflates to 1 GB of Word paragraphs, declaring `declared` bytes."""
    head = f'<w:document xmlns:w="{WORD}"><w:body>'.encode()
    return _docx((_deflate_repeated(*_GIGABYTE_OF_PARAGRAPHS, head=head), declared, 0))


def xlsx_sheet_bomb(declared: int) -> bytes:
    """A Bulk sheet that inflates to 1 GB of rows, declaring `declared` bytes."""
    row = _row(2, "New relationship", "NHS Leeds CCG", "15F").encode()
    times = (1 << 30) // (len(row) * 16_384)
    bomb = _deflate_repeated(row * 16_384, times, head=_SHEET_HEAD)
    return _xlsx((bomb, declared, 0))


def xlsx_strings_bomb(declared: int) -> bytes:
    """A table of shared strings that inflates to 1 GB, declaring `declared` bytes."""
    head = f'<sst xmlns="{MAIN}">'.encode()
    bomb = _deflate_repeated(b"<si><t>x</t></si>" * 65_536, 1024, head=head)
    return _xlsx(_honest(_SHEET_HEAD + _SHEET_TAIL), (bomb, declared, 0))


def xlsx_styles_bomb(declared: int) -> bytes:
    """Styles (which openpyxl reads whole, with `archive.read`) that inflate to 1 GB."""
    head = f'<styleSheet xmlns="{MAIN}"><fonts>'.encode()
    bomb = _deflate_repeated(b"<font/>" * 149_796, 1024, head=head)
    sheet = _honest(_SHEET_HEAD + _SHEET_TAIL)
    return _xlsx(sheet, extra={"xl/styles.xml": (bomb, declared, 0)})


def xlsx_many_strings(count: int) -> bytes:
    """An honest table of `count` shared strings (1.8 million took 13 s before the limit)."""
    strings = f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>x</t></si>" * count + b"</sst>"
    return _xlsx(_honest(_SHEET_HEAD + _SHEET_TAIL), _honest(strings))


def xlsx_rows(count: int, columns: int = 3) -> bytes:
    """A Bulk sheet with `count` request rows under the header, `columns` wide."""
    values = ("New relationship", "NHS Leeds CCG", "15F") + ("note",) * (columns - 3)
    rows = "".join(_row(n, *values) for n in range(2, count + 2))
    return _xlsx(_honest(_SHEET_HEAD + rows.encode() + _SHEET_TAIL))


# --- measuring a read in a child process ---------------------------------------------------

_CHILD = """
import json, sys, time
from intake_bot.forms.files import read_file
data = open(sys.argv[1], "rb").read()
started = time.monotonic()
reading = read_file(sys.argv[2], "application/octet-stream", data)
print(json.dumps({
    "seconds": time.monotonic() - started,
    # VmHWM is this process's own high-water mark: ru_maxrss would carry the parent's over exec
    "peak_mb": next(int(line.split()[1]) for line in open("/proc/self/status")
                    if line.startswith("VmHWM:")) / 1024,
    "code": reading.rejection.code if reading.rejection else None,
    "reason": reading.rejection.reason if reading.rejection else None,
    "forms": len(reading.forms),
}))
"""


def read_in_child(tmp_path: Path, name: str, data: bytes) -> dict[str, object]:
    """Read `data` as an attachment in a fresh process: its peak memory is this file's alone."""
    path = tmp_path / name
    path.write_bytes(data)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _code(reading: FileReading) -> RejectCode | None:
    return reading.rejection.code if reading.rejection else None


def _reason(reading: FileReading) -> str:
    assert reading.rejection is not None, reading
    return reading.rejection.reason


# --- zip bombs and byte limits -------------------------------------------------------------

BOMBS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "docx declaring 4 kB": ("bomb.docx", lambda: docx_bomb(4096)),
    "docx declaring just under the part limit": (
        "bomb.docx",
        lambda: docx_bomb(DEFAULT_LIMITS.part_bytes - 1),
    ),
    "docx declaring its real size": ("bomb.docx", lambda: docx_bomb(1 << 30)),
    "xlsx sheet declaring 4 kB": ("bomb.xlsx", lambda: xlsx_sheet_bomb(4096)),
    "xlsx sheet declaring just under the part limit": (
        "bomb.xlsx",
        lambda: xlsx_sheet_bomb(DEFAULT_LIMITS.part_bytes - 1),
    ),
    "xlsx shared strings declaring 4 kB": ("bomb.xlsx", lambda: xlsx_strings_bomb(4096)),
    "xlsx shared strings declaring just under the part limit": (
        "bomb.xlsx",
        lambda: xlsx_strings_bomb(DEFAULT_LIMITS.part_bytes - 1),
    ),
    "xlsx styles declaring 4 kB": ("bomb.xlsx", lambda: xlsx_styles_bomb(4096)),
    "xlsx styles declaring just under the part limit": (
        "bomb.xlsx",
        lambda: xlsx_styles_bomb(DEFAULT_LIMITS.part_bytes - 1),
    ),
    "1.8 million shared strings": ("strings.xlsx", lambda: xlsx_many_strings(1_800_000)),
}


@pytest.mark.parametrize("kind", list(BOMBS))
def test_a_zip_bomb_is_refused_quickly_and_in_little_memory(kind: str, tmp_path: Path) -> None:
    name, make = BOMBS[kind]
    data = make()
    assert len(data) < 8 * MB  # small on the wire: the damage is all in the inflating

    result = read_in_child(tmp_path, name, data)

    assert result["forms"] == 0 and result["code"] is not None
    assert str(result["reason"]).startswith(f'"{name}" is ')
    assert float(str(result["peak_mb"])) < 500
    assert float(str(result["seconds"])) < 30


def test_a_bomb_that_says_its_size_is_refused_as_too_large_before_inflating() -> None:
    started = time.monotonic()
    reading = read_file("bomb.docx", OCTET, docx_bomb(1 << 30))

    assert _code(reading) is RejectCode.TOO_LARGE
    assert "too large for us to read once unpacked" in _reason(reading)
    assert time.monotonic() - started < 1


def test_too_many_shared_strings_are_refused_naming_the_limit() -> None:
    started = time.monotonic()
    reading = read_file("strings.xlsx", OCTET, xlsx_many_strings(1_800_000))

    assert _code(reading) is RejectCode.TOO_LARGE
    assert "more than 100,000 different texts" in _reason(reading)
    assert time.monotonic() - started < 5


def test_shared_strings_within_the_limit_are_read() -> None:
    strings = f'<sst xmlns="{MAIN}">'.encode() + b"".join(
        f"<si><t>{text}</t></si>".encode() for text in (*HEADER, "New relationship", "02N")
    )
    cells = "".join(f'<c r="{c}1" t="s"><v>{i}</v></c>' for i, c in enumerate("ABC"))
    row2 = '<c r="A2" t="s"><v>3</v></c><c r="C2" t="s"><v>4</v></c>'
    sheet = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">{cells}</row><row r="2">{row2}'
    data = _xlsx(
        _honest(f"{sheet}</row></sheetData></worksheet>".encode()), _honest(strings + b"</sst>")
    )

    [form] = read_file("ok.xlsx", OCTET, data).forms

    assert form.values["commissioner_ods"] == "02N"


def test_every_part_openpyxl_reads_is_counted_as_inflated_not_as_declared() -> None:
    # openpyxl calls archive.read(name): through BoundedZip that is a counted, chunked read.
    limits = replace(DEFAULT_LIMITS, part_bytes=64 * 1024)
    data = xlsx_rows(2_000)
    with BoundedZip(data, Budget.start(limits)) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size > limits.part_bytes
        with pytest.raises(TooLargeError, match=r"sheet1\.xml\) that unpacks to more than"):
            archive.read("xl/worksheets/sheet1.xml")


def test_all_parts_of_a_file_together_are_counted_against_the_inflated_limit() -> None:
    limits = replace(DEFAULT_LIMITS, inflated_bytes=100 * 1024)
    budget = Budget.start(limits)
    with BoundedZip(xlsx_rows(400), budget) as archive:
        size = archive.getinfo("xl/worksheets/sheet1.xml").file_size
        assert 50 * 1024 < size < 100 * 1024  # one read fits, two do not
        archive.read("xl/worksheets/sheet1.xml")
        with pytest.raises(TooLargeError, match="unpacks to more than"):
            archive.read("xl/worksheets/sheet1.xml")
    assert budget.inflated > limits.inflated_bytes


def test_a_huge_but_honest_file_over_the_byte_limits_is_refused_naming_them() -> None:
    small = replace(DEFAULT_LIMITS, part_bytes=256 * 1024, inflated_bytes=1 * MB)
    data = xlsx_rows(3_000)  # honest sizes, a sheet of about 400 kB

    reading = read_file("big.xlsx", OCTET, data, limits=small)

    assert _code(reading) is RejectCode.TOO_LARGE
    assert "more than 0.25 MB" in _reason(reading)
    assert read_file("big.xlsx", OCTET, data).forms  # within the default limits it is read


def test_a_file_over_the_attachment_limit_is_refused_naming_the_limit() -> None:
    limits = replace(DEFAULT_LIMITS, attachment_bytes=2 * MB)
    reading = read_file("big.xlsx", XLSX, b"PK\x03\x04" + b"\0" * (2 * MB), limits=limits)

    assert _code(reading) is RejectCode.TOO_LARGE
    assert "larger than the 2 MB we accept" in _reason(reading)


# --- time budgets --------------------------------------------------------------------------


def test_a_slow_spreadsheet_is_stopped_by_the_attachment_time_budget() -> None:
    limits = replace(DEFAULT_LIMITS, attachment_seconds=0.05, rows_per_sheet=1_000_000)
    data = xlsx_rows(40_000, columns=10)
    started = time.monotonic()

    reading = read_file("slow.xlsx", OCTET, data, limits=limits)

    assert time.monotonic() - started < 2
    assert _code(reading) is RejectCode.TOO_SLOW
    assert _reason(reading).startswith('"slow.xlsx" is too slow to read')
    assert "0.05 seconds we allow for one file" in _reason(reading)


def test_a_slow_word_document_is_stopped_by_the_attachment_time_budget() -> None:
    limits = replace(DEFAULT_LIMITS, attachment_seconds=0.05)
    paragraph = f"<w:p><w:r><w:t>Line {'x' * 20}: text</w:t></w:r></w:p>".encode()
    xml = f'<w:document xmlns:w="{WORD}"><w:body>'.encode() + paragraph * 100_000
    data = _docx(_honest(xml + b"</w:body></w:document>"))

    reading = read_file("slow.docx", OCTET, data, limits=limits)

    assert _code(reading) is RejectCode.TOO_SLOW


def test_the_email_time_budget_refuses_the_files_after_it_unread() -> None:
    limits = replace(DEFAULT_LIMITS, message_seconds=0.2, rows_per_sheet=1_000_000)
    slow = xlsx_rows(40_000, columns=10)
    attachments = [Attachment(f"slow-{n}.xlsx", XLSX, slow) for n in range(1, 4)]
    started = time.monotonic()

    readings = read_files(attachments, limits=limits)

    assert time.monotonic() - started < 3
    assert [_code(r) for r in readings] == [RejectCode.TOO_SLOW] * 3
    assert all("0.2 seconds we allow for one email" in _reason(r) for r in readings)
    assert _reason(readings[2]).startswith('"slow-3.xlsx" is not read')


def test_the_budget_clock_is_only_read_now_and_then() -> None:
    reads = []

    def clock() -> float:
        reads.append(1)
        return 0.0

    budget = Budget.start(DEFAULT_LIMITS, clock=clock)
    for _ in range(6_400):
        budget.tick()
    assert len(reads) <= 101  # the start, then once every 64 ticks


# --- cuts are named ------------------------------------------------------------------------


def test_a_bulk_sheet_of_5000_requests_names_the_row_past_the_limit() -> None:
    rows = [new_request(n) for n in range(5_000)]
    reading = read_file("bulk.xlsx", XLSX, xlsx_bulk(rows))

    assert len(reading.forms) == 4_999  # the header is row 1 of the 5,000 read
    assert reading.cut == [
        '"bulk.xlsx": row 5,001 of the Bulk sheet was not read (we read at most 5,000 rows a sheet)'
    ]


def test_rows_past_the_limit_are_named_first_to_last() -> None:
    limits = replace(DEFAULT_LIMITS, rows_per_sheet=4_001)
    reading = read_file("bulk.xlsx", OCTET, xlsx_rows(5_000), limits=limits)

    assert len(reading.forms) == 4_000
    assert reading.cut == [
        '"bulk.xlsx": rows 4,002 to 5,001 of the Bulk sheet were not read '
        "(we read at most 4,001 rows a sheet)"
    ]


def test_a_sheet_within_the_limits_has_no_cuts() -> None:
    reading = read_file("bulk.xlsx", OCTET, xlsx_rows(10))

    assert len(reading.forms) == 10 and reading.cut == []


def test_columns_past_the_limit_are_named() -> None:
    limits = replace(DEFAULT_LIMITS, columns_per_sheet=4)
    reading = read_file("wide.xlsx", OCTET, xlsx_rows(3, columns=6), limits=limits)

    assert len(reading.forms) == 3
    assert reading.cut == [
        '"wide.xlsx": columns after D of the Bulk sheet were not read '
        "(we read at most 4 columns a sheet)"
    ]


def test_a_csv_of_5000_requests_names_the_row_past_the_limit() -> None:
    lines = [",".join(HEADER)] + ["New relationship,NHS Leeds CCG,15F"] * 5_000
    reading = read_file("bulk.csv", "text/csv", "\n".join(lines).encode())

    assert len(reading.forms) == 4_999
    assert reading.cut == [
        '"bulk.csv": row 5,001 of the file was not read (we read at most 5,000 rows a sheet)'
    ]


def _csv_form(n: int) -> tuple[str, str, bytes]:
    text = ",".join(HEADER) + f"\nNew relationship,NHS CCG {n},{n:03d}\n"
    return (f"form-{n}.csv", "text/csv", text.encode())


def test_500_forms_in_one_email_are_all_read() -> None:
    raw = email(attachments=[_csv_form(n) for n in range(500)])

    msg = parse_message(raw)
    readings = read_files(msg.attachments)

    assert msg.cut == ()
    assert sum(len(r.forms) for r in readings) == 500


def test_parts_of_an_email_past_the_limit_are_named() -> None:
    limits = replace(DEFAULT_LIMITS, parts_per_email=200)
    raw = email(attachments=[_csv_form(n) for n in range(500)])

    msg = parse_message(raw, limits=limits)

    assert len(msg.attachments) == 198  # the email and its text are parts too
    assert msg.cut == (
        "302 more parts of the email (attachments) were not read "
        "(we read at most 200 parts an email)",
    )


def test_an_email_too_large_to_read_says_its_attachments_were_not_read() -> None:
    raw = email(attachments=[("big.bin", OCTET, b"\0" * (41 * MB))])

    msg = parse_message(raw)

    assert msg.attachments == ()
    assert msg.cut and "attachments of the email were not read" in msg.cut[0]


def test_a_very_long_body_is_named_as_cut() -> None:
    msg = parse_message(email(body="word " * 300_000))

    assert msg.cut == ("the text of the email after 1,000,000 characters was not read",)


def test_read_limits_are_the_settings_section() -> None:
    from intake_bot.config import load_settings
    from intake_bot.config_types import as_dict

    settings_ = load_settings(env={"INTAKE_BOT_LIMITS_ATTACHMENT_SECONDS": "3"})
    limits = ReadLimits(**as_dict(settings_.limits))

    assert limits == replace(DEFAULT_LIMITS, attachment_seconds=3)


# --- property-based: the value parsers raise only the project's own errors ------------------

_RAW = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=60),
    st.dates(),
    st.from_regex(r"\s*\d{1,4}\s*[/.\- ]\s*\w{1,9}\s*[/.\- ]\s*\d{1,5}\s*", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(_RAW)
def test_parse_date_gives_a_date_or_a_value_problem(raw: object) -> None:
    with contextlib.suppress(ValueProblem):
        assert isinstance(parse_date(raw), date)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(_RAW)
def test_parse_yes_no_gives_a_bool_or_a_value_problem(raw: object) -> None:
    with contextlib.suppress(ValueProblem):
        assert isinstance(parse_yes_no(raw), bool)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.one_of(_RAW, st.from_regex(r"\s*[A-Za-z0-9]{2,8}\s*", fullmatch=True)))
def test_parse_ods_gives_a_code_or_a_value_problem(raw: object) -> None:
    with contextlib.suppress(ValueProblem):
        assert isinstance(parse_ods(raw), str)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=80),
        st.from_regex(
            r"(cag\s*)?\d{1,2}\s*[-–]\s*\d{1,3}[\s(),a-z&-]{0,12}/\s*\d{1,5}", fullmatch=True
        ),
    )
)
def test_parse_cag_refs_never_raises(text: str) -> None:
    refs, unparsed = parse_cag_refs(text)
    assert all(isinstance(r, str) for r in refs + unparsed)
