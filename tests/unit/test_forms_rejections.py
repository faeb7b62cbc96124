"""What a file is judged to be from its bytes and its name, and what its sender is told when it
is refused: one sentence that quotes the file and says what to send instead."""

from __future__ import annotations

import pytest

from intake_bot.forms.readings import RejectCode
from intake_bot.forms.rejections import Refusal, corrupt, found, reason, reject, shown
from intake_bot.forms.sniff import OLE_MAGIC, App, claimed_app, ignorable, media_type, sniff

APPS: tuple[App | None, ...] = ("Word", "Excel", None)


@pytest.mark.parametrize("refusal", list(Refusal))
@pytest.mark.parametrize("app", APPS)
def test_every_reason_quotes_the_file_and_is_one_finished_sentence(
    refusal: Refusal, app: App | None
) -> None:
    text = reason(refusal, "form.docx", app, limit_mb=20)

    assert text.startswith('"form.docx" is ') or text.startswith('"form.docx" does ')
    assert text.endswith(".") and "\n" not in text
    assert "{" not in text and "}" not in text and "None" not in text


@pytest.mark.parametrize(
    ("refusal", "code"),
    [
        (Refusal.EMPTY, RejectCode.CORRUPT),
        (Refusal.TOO_LARGE, RejectCode.TOO_LARGE),
        (Refusal.UNPACKED_TOO_LARGE, RejectCode.TOO_LARGE),
        (Refusal.LEGACY, RejectCode.LEGACY_FORMAT),
        (Refusal.ENCRYPTED_LEGACY, RejectCode.ENCRYPTED),
        (Refusal.MACRO, RejectCode.MACRO_ENABLED),
        (Refusal.NO_FIELDS, RejectCode.NO_FIELDS),
        (Refusal.PDF, RejectCode.UNSUPPORTED),
        (Refusal.ZIP, RejectCode.UNSUPPORTED),
    ],
)
def test_each_refusal_carries_its_code(refusal: Refusal, code: RejectCode) -> None:
    reading = reject("form.docx", refusal, "Word")

    assert reading.rejection is not None and reading.rejection.code is code
    assert reading.forms == [] and not reading.ignored


def test_the_office_program_shapes_the_advice() -> None:
    assert ".xlsx (Excel 2007 or later)" in reason(Refusal.LEGACY, "a.xls", "Excel")
    assert "old Word 97-2003 document" in reason(Refusal.LEGACY, "a.doc", "Word")
    assert "larger than the 20 MB" in reason(Refusal.TOO_LARGE, "a.docx", limit_mb=20)


def test_a_damaged_file_is_told_apart_by_what_it_claims_to_be() -> None:
    word, unknown = corrupt("a.docx", "Word"), corrupt("a.bin", None)

    assert word.rejection is not None and "not really a Word file" in word.rejection.reason
    assert unknown.rejection is not None and "not in a format we know" in unknown.rejection.reason


def test_a_file_that_gave_no_forms_is_not_the_form() -> None:
    reading = found("letter.docx", [])

    assert reading.rejection is not None and reading.rejection.code is RejectCode.NO_FIELDS
    # true of a letter naming two fields as of one naming none
    assert "(we found fewer than three of its fields)" in reading.rejection.reason


def test_names_are_quoted_on_one_line_without_folders_and_not_too_long() -> None:
    assert shown("C:\\Users\\alex\\My  form.docx") == '"My form.docx"'
    assert shown("") == "The attached file"
    assert shown("x" * 100 + ".docx") == '"' + "x" * 77 + '..."'


def test_a_name_with_braces_is_quoted_as_it_is() -> None:
    assert reason(Refusal.ZIP, "{name}.zip").startswith('"{name}.zip" is a zip archive')


@pytest.mark.parametrize(
    ("data", "magic"),
    [
        (OLE_MAGIC + b"rest", "ole"),
        (b"PK\x03\x04rest", "zip"),
        (b"junk before %PDF-1.7", "pdf"),
        (b"{\\rtf1", "rtf"),
        (b"\x78\x9f\x3e\x22", "tnef"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image"),
        (b"BM,a,b,c", None),  # a CSV may start like a bitmap
        (b"", None),
    ],
)
def test_the_first_bytes_name_the_format(data: bytes, magic: str | None) -> None:
    assert sniff(data) == magic


@pytest.mark.parametrize(
    ("extension", "content_type", "app"),
    [
        (".docm", "", "Word"),
        ("", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word"),
        (".xlsb", "", "Excel"),
        ("", "application/vnd.ms-excel", "Excel"),
        (".csv", "application/vnd.ms-excel", None),  # Windows' type for every .csv
        (".pdf", "application/pdf", None),
    ],
)
def test_the_name_or_type_claims_an_office_program(
    extension: str, content_type: str, app: App | None
) -> None:
    assert claimed_app(extension, content_type) == app


def test_pictures_and_signatures_are_ignored_unless_the_bytes_say_otherwise() -> None:
    assert ignorable(None, ".png", "")
    assert ignorable(None, "", "application/pkcs7-signature")
    assert ignorable("image", ".docx", "")
    assert not ignorable("zip", ".png", "image/png")
    assert not ignorable(None, ".csv", "text/csv")


def test_content_type_parameters_and_case_are_dropped() -> None:
    assert media_type('Text/CSV; charset="utf-8"') == "text/csv"
    assert media_type(None) == ""
