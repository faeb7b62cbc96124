"""One downloaded ODS file in, what it holds out: the format is told by the content (JSON is
FHIR, or a report API's response of reports as CSV; a CSV or a workbook by its columns), the
file's name only hints at the kind of organisation."""

from __future__ import annotations

import codecs
import stat
from dataclasses import replace
from functools import partial
from pathlib import Path

from intake_bot.domain.organisations import OdsError, OdsFile
from intake_bot.domain.printable import clean_line
from intake_bot.ods.csv_reports import read_csv
from intake_bot.ods.dse import reports_in
from intake_bot.ods.fhir import load_json, read_fhir_document
from intake_bot.ods.workbook import is_workbook, read_workbook
from intake_bot.ods.zipped import UNPACKING_ERRORS, joined, read_zip

MAX_BYTES = 64 * 1024 * 1024  # the whole of ODS's largest report is a few MB
MAX_NAME = 120  # characters of a file's name shown


def read_ods_file(path: Path) -> OdsFile:
    """Read one file; raises OdsError (naming the file, the line and the problem)."""
    # printed, and kept in the audit trail; "." and ".." have no name of their own
    name = clean_line(path.name or str(path))[:MAX_NAME]
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO would wait for a writer for ever
            what = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file"
            raise OdsError(f"{name}: {what}; give the files themselves")
        if status.st_size > MAX_BYTES:
            raise OdsError(
                f"{name}: {status.st_size:,} bytes; an ODS file is at most {MAX_BYTES:,}"
            )
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise OdsError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    return read_ods_bytes(name, data)


def read_ods_bytes(name: str, data: bytes, *, in_zip: bool = False) -> OdsFile:
    """What one file (or a zip's member) holds; OdsError naming it for anything else."""
    try:
        return _read(name, data, in_zip)
    except OdsError:
        raise
    except (*UNPACKING_ERRORS, ArithmeticError, LookupError) as exc:
        # A file built to break a reader (a corrupt or encrypted zip member, a cell pointing
        # past the table of texts, a duration of a billion hours) is refused, not a traceback.
        what = clean_line(str(exc))[:200]
        raise OdsError(f"{name}: cannot be read ({type(exc).__name__}: {what})") from None


def _read(name: str, data: bytes, in_zip: bool) -> OdsFile:
    if len(data) > MAX_BYTES:
        raise OdsError(f"{name}: more than {MAX_BYTES:,} bytes")
    if data[:4] == b"PK\x03\x04" and is_workbook(data):
        return read_workbook(name, data, hint=_hint(name))
    if data[:4] == b"PK\x03\x04" and not in_zip:  # as ODS's download pages publish reports
        return read_zip(name, data, partial(read_ods_bytes, in_zip=True), MAX_BYTES)
    if b"\x00" in data[:4096]:
        raise OdsError(f"{name}: a binary file; expected CSV, JSON, a workbook or a zip of them")
    text = _decode(data)
    if text.lstrip()[:1] not in ("{", "["):
        return read_csv(name, text, hint=_hint(name))
    document = load_json(name, text)
    reports = reports_in(name, document, text)
    if reports is None:
        return read_fhir_document(name, document)
    if not reports.found:
        raise OdsError(f"{name}: a report API response whose reports hold no rows")
    read = [read_csv(f"{name} ({key})", csv, hint=key) for key, csv in reports.found]
    empty = [f"{name} ({key}): the report holds no rows" for key in reports.empty]
    files = joined(name, read)
    return replace(files, left_out=(*files.left_out, *empty)) if empty else files


def _hint(name: str) -> str:
    """The report's name as ODS gives it (eccg, etr...), if the operator kept it."""
    return Path(name).stem.split("_")[0].split("-")[0]


def _decode(data: bytes) -> str:
    """UTF-8 where the bytes are UTF-8, and Windows-1252 (ODS's older files) for each byte that
    is not: a file saved by hand can hold both, and neither should garble the other's names."""
    text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8", errors="surrogateescape")
    return text.translate(_CP1252)  # in C: a file of stray bytes costs no call a byte


# "surrogateescape" keeps a byte that is not UTF-8 as U+DC80-U+DCFF: each back to Windows-1252.
_CP1252 = {
    0xDC00 + byte: bytes([byte]).decode("cp1252", errors="replace") for byte in range(0x80, 0x100)
}
