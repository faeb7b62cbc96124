"""Every real-world office file in the corpus gives forms or a clean rejection, fast, never an
exception: Word, Excel and PDF files from other projects' test data, including encrypted,
macro-enabled, legacy and fuzzer-found broken ones."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from intake_bot.forms.files import read_file
from intake_bot.forms.readings import FileReading, RejectCode

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("INTAKE_BOT_CORPUS") or REPO_ROOT.parent / "shared" / "corpus")
OFFICE = CORPUS / "office"
SECONDS_PER_FILE = 10
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:openpyxl")


def _office_files() -> list[Path]:
    if not OFFICE.is_dir():
        return []
    return sorted(path for path in OFFICE.rglob("*") if path.is_file())


FILES = _office_files()


@pytest.fixture(autouse=True)
def _corpus_present() -> None:
    if FILES:
        return
    reason = f"office corpus not found at {OFFICE} (set INTAKE_BOT_CORPUS)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def read(relative: str) -> FileReading:
    path = OFFICE / relative
    return read_file(path.name, "application/octet-stream", path.read_bytes())


def code(reading: FileReading) -> RejectCode | None:
    return reading.rejection.code if reading.rejection else None


@pytest.mark.parametrize(
    "path", FILES or [None], ids=lambda p: str(p.relative_to(OFFICE)) if p else "none"
)
def test_every_office_file_reads_cleanly_and_fast(path: Path | None) -> None:
    assert path is not None
    data = path.read_bytes()
    started = time.perf_counter()

    reading = read_file(path.name, "application/octet-stream", data)

    elapsed = time.perf_counter() - started
    assert isinstance(reading, FileReading)
    assert elapsed < SECONDS_PER_FILE, f"{path.name} took {elapsed:.1f} s"
    assert reading.ignored or reading.forms or reading.rejection is not None
    if reading.rejection is not None:
        assert reading.forms == []
        assert path.name[:60] in reading.rejection.reason  # long names are shortened


@pytest.mark.parametrize(
    "relative",
    [
        "poi/poifs/protected_agile.docx",
        "poi/poifs/protect.xlsx",
        "poi/poifs/protected_sha512.xlsx",
        "poi/poifs/extenxls_pwd123.xlsx",
        "poi/poifs/60320-protected.xlsx",
        "poi/document/bug53475-password-is-pass.docx",
        "poi/document/PasswordProtected.doc",
        "poi/document/password_password_cryptoapi.doc",
    ],
)
def test_password_protected_files_are_encrypted(relative: str) -> None:
    assert code(read(relative)) in (RejectCode.ENCRYPTED, RejectCode.CORRUPT)


@pytest.mark.parametrize(
    "relative",
    [
        "poi/document/Bug47958.doc",
        "poi/document/Bug51686.doc",
        "poi/poifs/20-Force-on-a-current-S00.doc",
        "xlrd/Formate.xls",
        "xlrd/ragged.xls",
        "xlrd/biff4_no_format_no_window2.xls",
    ],
)
def test_old_word_and_excel_files_are_legacy_format(relative: str) -> None:
    assert code(read(relative)) is RejectCode.LEGACY_FORMAT


def test_every_doc_and_xls_is_legacy_unless_it_has_a_password() -> None:
    for path in FILES:
        if path.suffix.lower() in (".doc", ".xls"):
            reading = read_file(path.name, "", path.read_bytes())
            expected = (RejectCode.LEGACY_FORMAT, RejectCode.ENCRYPTED)
            assert code(reading) in expected, path


@pytest.mark.parametrize(
    "relative",
    [
        "poi/document/45690.docm",
        "poi/document/SimpleMacro.docm",
        "openpyxl/packaging/tests/data/sample.xlsm",
        "openpyxl/reader/tests/data/legacy_drawing.xlsm",
    ],
)
def test_macro_enabled_files_are_refused(relative: str) -> None:
    assert code(read(relative)) is RejectCode.MACRO_ENABLED


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("xlrd/sample.ods", RejectCode.UNSUPPORTED),
        ("pypdf/encryption/r4-user-password.pdf", RejectCode.UNSUPPORTED),
        ("poi/poifs/unknown_properties.msg", RejectCode.UNSUPPORTED),
        ("openpyxl/reader/tests/data/null_file.xlsx", RejectCode.CORRUPT),
        ("poi/document/ExternalEntityInText.docx", RejectCode.CORRUPT),
        ("poi/document/truncated62886.docx", RejectCode.CORRUPT),
        ("mammoth/tables.docx", RejectCode.NO_FIELDS),
        ("openpyxl/tests/data/genuine/sample.xlsx", RejectCode.NO_FIELDS),
    ],
)
def test_known_files_get_the_expected_rejection(relative: str, expected: RejectCode) -> None:
    assert code(read(relative)) is expected
