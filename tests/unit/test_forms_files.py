"""Deciding what an attachment really is: forms, a clean rejection, or nothing to read."""

from __future__ import annotations

import io
import re
import struct
import time
import zipfile

import pytest

from intake_bot.forms.files import MAX_FILE_BYTES, read_file
from intake_bot.forms.generate import blank_docx, blank_xlsx
from intake_bot.forms.readings import FileReading, RejectCode

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
END_OF_CHAIN, FREE, FAT_SECTOR = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
SECTOR = 512


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (version 3) holding `streams` at its root.

    Each stream is padded past the 4096-byte mini-stream cutoff so that only the main FAT is
    needed: one FAT sector, then the directory, then the streams.
    """
    entries = [("Root Entry", 5, b""), *((n, 2, d.ljust(4096, b"\0")) for n, d in streams.items())]
    directory_sectors = -(-len(entries) // 4)
    fat = [FAT_SECTOR, *_chain(1, directory_sectors)]
    starts = []
    for _, _, data in entries[1:]:
        starts.append(len(fat))
        fat += _chain(len(fat), len(data) // SECTOR)
    directory = b"".join(
        _directory_entry(name, kind, data, starts[i - 1] if i else END_OF_CHAIN, i, len(entries))
        for i, (name, kind, data) in enumerate(entries)
    ).ljust(directory_sectors * SECTOR, b"\0")
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
    header += struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END_OF_CHAIN, 0, END_OF_CHAIN, 0)
    header += struct.pack("<109I", 0, *[FREE] * 108)
    fat_sector = struct.pack(f"<{SECTOR // 4}I", *(fat + [FREE] * (SECTOR // 4 - len(fat))))
    return header + fat_sector + directory + b"".join(data for _, _, data in entries[1:])


def _chain(first: int, length: int) -> list[int]:
    return [*range(first + 1, first + length), END_OF_CHAIN]


def _directory_entry(
    name: str, kind: int, data: bytes, start: int, index: int, count: int
) -> bytes:
    encoded = name.encode("utf-16-le") + b"\0\0"
    child = 1 if kind == 5 and count > 1 else FREE
    right = index + 1 if kind == 2 and index + 1 < count else FREE
    return (
        encoded.ljust(64, b"\0")
        + struct.pack("<HBB", len(encoded), kind, 1)
        + struct.pack("<III", FREE, right, child)
        + b"\0" * 16  # class id
        + b"\0" * 20  # state bits and times
        + struct.pack("<IQ", start, len(data))
    )


def office_zip(content_type: str, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Override PartName="/word/document.xml" ContentType="{content_type}"/></Types>',
        )
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rejected(reading: FileReading) -> RejectCode | None:
    assert reading.forms == [] or reading.rejection is None
    return reading.rejection.code if reading.rejection else None


def test_generated_forms_are_read_whatever_the_name_or_type_says() -> None:
    word = read_file("attachment.bin", "application/octet-stream", blank_docx())
    excel = read_file("noname", "", blank_xlsx())

    assert rejected(word) is None and len(word.forms) == 1
    assert rejected(excel) is None and len(excel.forms) == 1


def test_password_protected_office_file_is_encrypted() -> None:
    data = compound_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"x"})

    reading = read_file("form.docx", DOCX_TYPE, data)

    assert rejected(reading) is RejectCode.ENCRYPTED
    assert '"form.docx"' in reading.rejection.reason  # type: ignore[union-attr]


def test_old_word_document_is_legacy_format() -> None:
    fib = struct.pack("<HHHHHH", 0xA5EC, 0xC1, 0, 0, 0, 0)

    reading = read_file("form.doc", "application/msword", compound_file({"WordDocument": fib}))

    assert rejected(reading) is RejectCode.LEGACY_FORMAT
    assert reading.rejection is not None
    assert reading.rejection.reason == (
        '"form.doc" is an old Word 97-2003 document, which we cannot read: please save it as '
        ".docx (Word 2007 or later) or use the blank form attached."
    )


def test_old_word_document_with_a_password_is_encrypted() -> None:
    fib = struct.pack("<HHHHHH", 0xA5EC, 0xC1, 0, 0, 0, 0x0100)

    reading = read_file("form.doc", "", compound_file({"WordDocument": fib}))

    assert rejected(reading) is RejectCode.ENCRYPTED


def test_old_excel_workbook_is_legacy_format_and_with_filepass_encrypted() -> None:
    bof = struct.pack("<HH", 0x0809, 4) + b"\0" * 4
    plain = bof + struct.pack("<HH", 0x000A, 0)
    protected = bof + struct.pack("<HH", 0x002F, 2) + b"\0\0"

    assert rejected(read_file("a.xls", "", compound_file({"Workbook": plain}))) is (
        RejectCode.LEGACY_FORMAT
    )
    assert rejected(read_file("b.xls", "", compound_file({"Workbook": protected}))) is (
        RejectCode.ENCRYPTED
    )


def test_outlook_message_is_unsupported() -> None:
    data = compound_file({"__substg1.0_0037001F": b"S\0u\0b\0"})

    assert rejected(read_file("fwd.msg", "application/vnd.ms-outlook", data)) is (
        RejectCode.UNSUPPORTED
    )


def test_damaged_compound_file_named_doc_is_still_legacy() -> None:
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600

    assert rejected(read_file("form.doc", "", data)) is RejectCode.LEGACY_FORMAT


def test_word_2_document_without_ole_header_is_legacy() -> None:
    assert rejected(read_file("old.doc", "", b"\xdb\xa5-\x00" + b"\0" * 200)) is (
        RejectCode.LEGACY_FORMAT
    )


@pytest.mark.parametrize(
    ("content_type", "extra"),
    [
        ("application/vnd.ms-word.document.macroEnabled.main+xml", {}),
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            {"word/vbaProject.bin": b"\0"},
        ),
    ],
)
def test_macro_enabled_documents_are_refused(content_type: str, extra: dict[str, bytes]) -> None:
    reading = read_file("form.docm", "", office_zip(content_type, extra))

    assert rejected(reading) is RejectCode.MACRO_ENABLED
    assert "macro-enabled Word file" in reading.rejection.reason  # type: ignore[union-attr]


def test_zip_bomb_is_refused_before_unpacking() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (60 * 1024 * 1024))
    started = time.perf_counter()

    reading = read_file("bomb.docx", DOCX_TYPE, buffer.getvalue())

    assert rejected(reading) is RejectCode.TOO_LARGE
    assert time.perf_counter() - started < 1


def test_zip_level_password_is_encrypted() -> None:
    data = bytearray(office_zip("x"))
    for match in re.finditer(b"PK\x01\x02", data):
        data[match.start() + 8] |= 0x1  # the central directory's "encrypted" flag

    assert rejected(read_file("form.docx", "", bytes(data))) is RejectCode.ENCRYPTED


def test_oversized_file_is_too_large() -> None:
    data = b"PK\x03\x04" + b"\0" * MAX_FILE_BYTES

    assert rejected(read_file("huge.docx", DOCX_TYPE, data)) is RejectCode.TOO_LARGE


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("form.docx", b"PK\x03\x04 this is not really a zip"),
        ("form.docx", blank_docx()[:5000]),
        ("form.docx", b""),
        ("form.xlsx", b"hello"),
        ("form.docx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    ],
)
def test_damaged_office_files_are_corrupt(filename: str, data: bytes) -> None:
    reading = read_file(filename, "", data)

    assert rejected(reading) is RejectCode.CORRUPT
    assert reading.rejection is not None and f'"{filename}"' in reading.rejection.reason


def test_reader_errors_inside_a_valid_zip_become_corrupt() -> None:
    word = office_zip(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        {"word/document.xml": b"<w:document><unclosed>"},
    )
    excel = office_zip("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")

    assert rejected(read_file("form.docx", "", word)) is RejectCode.CORRUPT
    assert rejected(read_file("form.xlsx", "", excel)) is RejectCode.CORRUPT


def test_readable_document_without_the_form_has_no_fields() -> None:
    data = office_zip(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        {
            "word/document.xml": b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
            b'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p>'
            b"</w:body></w:document>"
        },
    )

    reading = read_file("letter.docx", DOCX_TYPE, data)

    assert rejected(reading) is RejectCode.NO_FIELDS
    assert "blank form" in reading.rejection.reason  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [
        ("scan.pdf", "application/pdf", b"%PDF-1.7\n..."),
        ("form.odt", "", b"PK\x03\x04"),
        ("form.rtf", "application/rtf", b"{\\rtf1\\ansi hello}"),
        ("notes.txt", "text/plain", b"Type of request: New"),
        ("winmail.dat", "application/ms-tnef", b"\x78\x9f\x3e\x22\0\0"),
        ("archive.zip", "application/zip", None),
    ],
)
def test_other_formats_are_unsupported_with_a_reason(
    filename: str, content_type: str, data: bytes | None
) -> None:
    if filename.endswith(".odt"):
        data = _zip({"mimetype": b"application/vnd.oasis.opendocument.text"})
    if data is None:
        data = _zip({"form.docx": b"x"})

    reading = read_file(filename, content_type, data)

    assert rejected(reading) is RejectCode.UNSUPPORTED
    reason = reading.rejection.reason  # type: ignore[union-attr]
    assert reason.startswith(f'"{filename}" is ') and reason.endswith(".")


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [
        ("image001.png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("logo", "image/jpeg", b"\xff\xd8\xff\xe0"),
        ("smime.p7s", "application/pkcs7-signature", b"0\x82"),
        ("signature.asc", "application/pgp-signature", b"-----BEGIN PGP SIGNATURE-----"),
        ("jo.vcf", "text/vcard", b"BEGIN:VCARD"),
        ("invite.ics", "text/calendar", b"BEGIN:VCALENDAR"),
        ("body.html", "text/html", b"<html></html>"),
        ("photo.jpg", "application/octet-stream", b"\xff\xd8\xff\xe0" + b"\0" * (25 << 20)),
    ],
)
def test_pictures_signatures_and_cards_are_ignored(
    filename: str, content_type: str, data: bytes
) -> None:
    reading = read_file(filename, content_type, data)

    assert reading.ignored and reading.rejection is None and reading.forms == []


def test_a_logo_named_like_a_form_is_still_read_as_what_it_is() -> None:
    reading = read_file("form.docx", "image/png", blank_docx())

    assert not reading.ignored and len(reading.forms) == 1


def test_csv_is_read_by_extension_or_content_type() -> None:
    data = b"Type of request,Your name,DSCRO\nNew relationship,Jo,North\nEnd,Sam,London\n"

    by_name = read_file("bulk.csv", "application/vnd.ms-excel", data)
    by_type = read_file("bulk.txt", "text/csv; charset=utf-8", data)

    assert len(by_name.forms) == 2 and len(by_type.forms) == 2


def test_binary_named_csv_is_corrupt_not_a_crash() -> None:
    assert rejected(read_file("bulk.csv", "text/csv", b"\0\1\2\3")) is RejectCode.CORRUPT


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_forwarded_email_attachment_is_ignored_not_rejected() -> None:
    reading = read_file("fwd.eml", "message/rfc822", b"From: a@b.c\r\n\r\nhi")
    assert reading.ignored and reading.rejection is None
