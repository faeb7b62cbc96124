"""Read one attachment: decide what it really is, then hand it to the right reader.

Both the name and the first bytes are checked, since mail clients get content types wrong and
people rename files. Anything that cannot be read becomes a rejection whose reason the sender can
act on; `read_file` never raises.
"""

from __future__ import annotations

import io
import logging
import struct
import zipfile
from collections.abc import Callable
from pathlib import PurePath
from typing import Literal

import olefile  # type: ignore[import-untyped]

from intake_bot.domain.rawform import RawForm
from intake_bot.forms.csv import read_csv
from intake_bot.forms.docx import (
    CONTENT_TYPES,
    MAX_PART_BYTES,  # any one part, uncompressed
    WORD_MAIN_TYPES,
    parse_xml,
    read_docx_archive,
)
from intake_bot.forms.types import FileReading, RejectCode, Rejection
from intake_bot.forms.xlsx import read_xlsx

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # all parts of an Office file together, uncompressed
MAX_ZIP_ENTRIES = 5000
MAX_CONTENT_TYPES_BYTES = 1024 * 1024

App = Literal["Word", "Excel"]
Magic = Literal["ole", "zip", "pdf", "rtf", "tnef", "image"]

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_IMAGE_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"II*\x00",
    b"MM\x00*",
)  # two-byte signatures (BMP, icons) are left out: a CSV may start "BM"
_WORD_EXTENSIONS = frozenset({".docx", ".dotx", ".docm", ".dotm", ".doc", ".dot"})
_EXCEL_EXTENSIONS = frozenset({".xlsx", ".xltx", ".xlsm", ".xltm", ".xls", ".xlt", ".xlsb"})
_LEGACY_EXTENSIONS = frozenset({".doc", ".dot", ".xls", ".xlt"})
_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values", "text/x-csv"})
_IGNORED_TYPES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
        "application/pgp-keys",
        "text/vcard",
        "text/x-vcard",
        "text/directory",
        "text/calendar",
        "text/x-vcalendar",
        "application/ics",
        "text/html",
    }
)
_IGNORED_EXTENSIONS = frozenset(
    {
        *(".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".emf", ".wmf"),
        *(".svg", ".ico", ".heic", ".p7s", ".p7c", ".asc", ".sig", ".vcf", ".ics", ".vcs"),
        *(".htm", ".html"),
    }
)
_EMAIL_EXTENSIONS = frozenset({".eml", ".msg"})
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_BIFF_FILEPASS, _BIFF_EOF = 0x002F, 0x000A
_WORD_ENCRYPTED_FLAG = 0x0100  # FIB fEncrypted


def read_file(filename: str, content_type: str, data: bytes) -> FileReading:
    """The forms in one attachment, or why it cannot be read, or `ignored` for a logo or a
    signature. Never raises: anything a reader trips over is reported as a damaged file."""
    try:
        return _read(filename, _media_type(content_type), data)
    except Exception as exc:  # the file's fault, not ours: the sender hears it could not be read
        # No file name or traceback at INFO: names can identify people; the type is enough.
        log.info("could not read an attachment: %s", type(exc).__name__)
        log.debug("reader failure", exc_info=True)
        return _corrupt(filename, _claimed_app_safely(filename, content_type))


def _read(filename: str, content_type: str, data: bytes) -> FileReading:
    extension = PurePath(filename).suffix.lower()
    magic = sniff(data)
    claimed = _claimed_app(extension, content_type)
    if claimed is None and _ignorable(magic, extension, content_type):
        return FileReading(filename, ignored=True)
    if len(data) > MAX_FILE_BYTES:
        return _reject(filename, RejectCode.TOO_LARGE, _too_large_reason(filename))
    if not data:
        return _reject(filename, RejectCode.CORRUPT, f"{_shown(filename)} is empty: {_RESEND}")
    if magic == "ole":
        return _read_ole(filename, data, claimed)
    if magic == "zip":
        return _read_zip(filename, data, claimed)
    if magic is not None and magic in _UNSUPPORTED_REASONS:
        return _reject(filename, RejectCode.UNSUPPORTED, _UNSUPPORTED_REASONS[magic](filename))
    if extension == ".csv" or content_type in _CSV_TYPES:
        return _found(filename, read_csv(data, filename))
    if extension == ".eml" or content_type == "message/rfc822":
        # A forwarded email: the message parser has already surfaced the forms inside it.
        return FileReading(filename, ignored=True)
    return _read_unknown(filename, extension, claimed)


def _read_unknown(filename: str, extension: str, claimed: App | None) -> FileReading:
    """No format we know by its first bytes: judge by the name."""
    if extension in _LEGACY_EXTENSIONS and claimed is not None:  # Word 2, BIFF4, HTML as .doc
        return _reject(filename, RejectCode.LEGACY_FORMAT, _legacy_reason(filename, claimed))
    if claimed is not None:
        return _corrupt(filename, claimed)
    if extension in _EMAIL_EXTENSIONS:
        return _reject(filename, RejectCode.UNSUPPORTED, _email_reason(filename))
    return _reject(filename, RejectCode.UNSUPPORTED, _other_reason(filename))


def sniff(data: bytes) -> Magic | None:
    """What the first bytes say the file is, if they say anything we know."""
    if data.startswith(OLE_MAGIC):
        return "ole"
    if data.startswith(_ZIP_MAGIC):
        return "zip"
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"{\\rtf"):
        return "rtf"
    if data.startswith(b"\x78\x9f\x3e\x22"):
        return "tnef"
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return "image"
    return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _claimed_app(extension: str, content_type: str) -> App | None:
    """Which Office program the name or content type says the file belongs to."""
    if extension in _WORD_EXTENSIONS or content_type.startswith(
        (
            "application/msword",
            "application/vnd.ms-word",
            "application/vnd.openxmlformats-officedocument.wordprocessingml",
        )
    ):
        return "Word"
    if extension in _EXCEL_EXTENSIONS or (
        extension != ".csv"
        and content_type.startswith(
            (
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml",
            )
        )
    ):
        return "Excel"
    return None


def _ignorable(magic: Magic | None, extension: str, content_type: str) -> bool:
    """Pictures, signatures, contact cards, invitations and HTML copies of the message; a file
    whose bytes say it is an Office document or a PDF is never ignored, whatever it is called."""
    if magic is not None:
        return magic == "image"
    return (
        content_type.startswith("image/")
        or content_type in _IGNORED_TYPES
        or extension in _IGNORED_EXTENSIONS
    )


def _found(filename: str, forms: list[RawForm]) -> FileReading:
    if not forms:
        return _reject(filename, RejectCode.NO_FIELDS, _no_fields_reason(filename))
    return FileReading(filename, forms=forms)


def _reject(filename: str, code: RejectCode, reason: str) -> FileReading:
    return FileReading(filename, rejection=Rejection(code, reason))


# --- OLE2 compound files: legacy Office, and password-protected new Office -------------------


def _read_ole(filename: str, data: bytes, claimed: App | None) -> FileReading:
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # a damaged compound file: judge by the name and a tell-tale stream
        log.info("unreadable compound file: %s", type(exc).__name__)
        if _ENCRYPTED_PACKAGE in data:
            return _reject(filename, RejectCode.ENCRYPTED, _encrypted_reason(filename))
        if claimed is not None:
            return _reject(filename, RejectCode.LEGACY_FORMAT, _legacy_reason(filename, claimed))
        return _corrupt(filename, claimed)
    with ole:
        return _judge_ole(filename, ole, claimed)


def _judge_ole(filename: str, ole: olefile.OleFileIO, claimed: App | None) -> FileReading:
    streams = {"/".join(path).lower() for path in ole.listdir(streams=True, storages=True)}
    if {"encryptioninfo", "encryptedpackage"} & streams:
        return _reject(filename, RejectCode.ENCRYPTED, _encrypted_reason(filename))
    app: App | None = claimed
    encrypted = False
    if "worddocument" in streams:
        app, encrypted = "Word", _word_encrypted(ole.openstream("WordDocument").read(12))
    elif "workbook" in streams or "book" in streams:
        stream = "Workbook" if "workbook" in streams else "Book"
        app, encrypted = "Excel", _biff_encrypted(ole.openstream(stream).read(8192))
    elif any(name.startswith("__substg1.0_") for name in streams):
        return _reject(filename, RejectCode.UNSUPPORTED, _email_reason(filename))
    elif "powerpoint document" in streams:
        return _reject(filename, RejectCode.UNSUPPORTED, _powerpoint_reason(filename))
    if app is None:
        return _reject(filename, RejectCode.UNSUPPORTED, _other_reason(filename))
    if encrypted:
        return _reject(filename, RejectCode.ENCRYPTED, _encrypted_legacy_reason(filename, app))
    return _reject(filename, RejectCode.LEGACY_FORMAT, _legacy_reason(filename, app))


def _word_encrypted(fib: bytes) -> bool:
    return len(fib) >= 12 and bool(struct.unpack_from("<H", fib, 10)[0] & _WORD_ENCRYPTED_FLAG)


def _biff_encrypted(stream: bytes) -> bool:
    """Whether the workbook's first records include FILEPASS (it follows the first BOF)."""
    offset = 0
    for _ in range(64):
        if offset + 4 > len(stream):
            return False
        record, size = struct.unpack_from("<HH", stream, offset)
        if record == _BIFF_FILEPASS:
            return True
        if record == _BIFF_EOF:
            return False
        offset += 4 + size
    return False


# --- zip packages: new Office, OpenDocument, plain archives ----------------------------------


def _read_zip(filename: str, data: bytes, claimed: App | None) -> FileReading:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        problem = _archive_problem(filename, infos)
        if problem is not None:
            return problem
        names = {info.filename for info in infos}
        if "[Content_Types].xml" not in names:
            return _read_other_zip(filename, archive, names, claimed)
        types = _content_types(archive)
        if any("sheet.binary" in t for t in types.values()):
            return _reject(filename, RejectCode.UNSUPPORTED, _xlsb_reason(filename))
        if _has_macros(types, names):
            app = _app_of_types(types) or claimed or "Word"
            return _reject(filename, RejectCode.MACRO_ENABLED, _macro_reason(filename, app))
        return _read_package(filename, data, archive, types, claimed)


def _archive_problem(filename: str, infos: list[zipfile.ZipInfo]) -> FileReading | None:
    """Refuse zip bombs before unpacking anything, and zip-level passwords."""
    total = sum(info.file_size for info in infos)
    too_big = any(info.file_size > MAX_PART_BYTES for info in infos)
    if len(infos) > MAX_ZIP_ENTRIES or total > MAX_UNPACKED_BYTES or too_big:
        return _reject(filename, RejectCode.TOO_LARGE, _unpacked_too_large_reason(filename))
    if any(info.flag_bits & 0x1 for info in infos):
        return _reject(filename, RejectCode.ENCRYPTED, _encrypted_reason(filename))
    return None


def _content_types(archive: zipfile.ZipFile) -> dict[str, str]:
    """Content types by part name (`/word/document.xml`) and by extension (`*.bin`), lower-cased."""
    info = archive.getinfo("[Content_Types].xml")
    if info.file_size > MAX_CONTENT_TYPES_BYTES:
        raise ValueError("[Content_Types].xml is too large")
    root = parse_xml(archive.read(info))
    types: dict[str, str] = {}
    for element in root:
        content_type = (element.get("ContentType") or "").lower()
        if element.tag == f"{{{CONTENT_TYPES}}}Override":
            types[(element.get("PartName") or "").lower()] = content_type
        elif element.tag == f"{{{CONTENT_TYPES}}}Default":
            types["*." + (element.get("Extension") or "").lower()] = content_type
    return types


def _has_macros(types: dict[str, str], names: set[str]) -> bool:
    return any("macroenabled" in t or "vbaproject" in t for t in types.values()) or any(
        name.lower().endswith("vbaproject.bin") for name in names
    )


def _app_of_types(types: dict[str, str]) -> App | None:
    values = " ".join(types.values())
    if "wordprocessingml" in values or "ms-word" in values:
        return "Word"
    if "spreadsheetml" in values or "ms-excel" in values:
        return "Excel"
    return None


def _read_package(
    filename: str,
    data: bytes,
    archive: zipfile.ZipFile,
    types: dict[str, str],
    claimed: App | None,
) -> FileReading:
    """An Office Open XML package without macros: a Word or an Excel form, or something else."""
    if not WORD_MAIN_TYPES.isdisjoint(types.values()):
        return _found(filename, read_docx_archive(archive, filename))
    if any("spreadsheetml" in t for t in types.values()):
        return _found(filename, read_xlsx(data, filename))
    if any("presentationml" in t for t in types.values()):
        return _reject(filename, RejectCode.UNSUPPORTED, _powerpoint_reason(filename))
    names = set(archive.namelist())
    if "word/document.xml" in names:
        return _found(filename, read_docx_archive(archive, filename, "word/document.xml"))
    if "xl/workbook.xml" in names:
        return _found(filename, read_xlsx(data, filename))
    if claimed is not None:
        return _corrupt(filename, claimed)
    return _reject(filename, RejectCode.UNSUPPORTED, _other_reason(filename))


def _read_other_zip(
    filename: str, archive: zipfile.ZipFile, names: set[str], claimed: App | None
) -> FileReading:
    small = "mimetype" in names and archive.getinfo("mimetype").file_size < 200
    if small and b"opendocument" in archive.read("mimetype"):
        return _reject(filename, RejectCode.UNSUPPORTED, _opendocument_reason(filename))
    if claimed is not None:
        return _corrupt(filename, claimed)
    return _reject(filename, RejectCode.UNSUPPORTED, _zip_reason(filename))


# --- what the sender is told -----------------------------------------------------------------

_BLANK = "or use the blank form attached"
_RESEND = f"please save the form again and send it, {_BLANK}."


def _shown(filename: str) -> str:
    """The file's name as quoted to the sender: one line, not too long."""
    name = " ".join(PurePath(filename.replace("\\", "/")).name.split()) if filename else ""
    if not name:
        return "The attached file"
    return f'"{name[:77]}..."' if len(name) > 80 else f'"{name}"'


def _claimed_app_safely(filename: str, content_type: str) -> App | None:
    try:
        return _claimed_app(PurePath(filename).suffix.lower(), _media_type(content_type))
    except Exception:  # the safety net must not fail itself
        return None


def _corrupt(filename: str, app: App | None) -> FileReading:
    what = f"is not really a {app} file" if app else "is not in a format we know"
    reason = f"{_shown(filename)} is damaged or {what}, so we could not read it: {_RESEND}"
    return _reject(filename, RejectCode.CORRUPT, reason)


def _legacy_reason(filename: str, app: App) -> str:
    if app == "Excel":
        return (
            f"{_shown(filename)} is an old Excel 97-2003 workbook, which we cannot read: "
            f"please save it as .xlsx (Excel 2007 or later) {_BLANK}."
        )
    return (
        f"{_shown(filename)} is an old Word 97-2003 document, which we cannot read: "
        f"please save it as .docx (Word 2007 or later) {_BLANK}."
    )


def _encrypted_legacy_reason(filename: str, app: App) -> str:
    kind, extension = ("workbook", ".xlsx") if app == "Excel" else ("document", ".docx")
    return (
        f"{_shown(filename)} is a password-protected old {app} 97-2003 {kind}, which we cannot "
        f"read: please remove the password and save it as {extension}, {_BLANK}."
    )


def _encrypted_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is protected with a password, so we cannot read it: "
        f"please remove the password (File > Info > Protect) and send it again, {_BLANK}."
    )


def _macro_reason(filename: str, app: App) -> str:
    extension = ".xlsx" if app == "Excel" else ".docx"
    return (
        f"{_shown(filename)} is a macro-enabled {app} file, which we do not open for safety: "
        f"please save it as a plain {app} file ({extension}) {_BLANK}."
    )


def _no_fields_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} does not look like our request form (we found none of its fields): "
        "please fill in the blank form attached and send that."
    )


def _too_large_reason(filename: str) -> str:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    return (
        f"{_shown(filename)} is larger than the {limit} MB we accept: please send the form on its "
        "own, without pictures or other files inside it."
    )


def _unpacked_too_large_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is too large for us to read once unpacked: please send the form on "
        f"its own, without pictures or other files inside it, {_BLANK}."
    )


def _pdf_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is a PDF, which we cannot read as a request: please send the "
        f"filled-in form as Word (.docx) or Excel (.xlsx) instead, {_BLANK}."
    )


def _rtf_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is a Rich Text (RTF) document, which we cannot read: "
        f"please save it as .docx (Word 2007 or later) {_BLANK}."
    )


def _tnef_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is an Outlook rich-text wrapper that we could not unpack: please "
        "send the form again with the email set to HTML or plain text format."
    )


def _email_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is an attached email, which we do not open: "
        "please attach the form itself rather than the email that carried it."
    )


def _powerpoint_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is a PowerPoint file, which we cannot read as a request: "
        f"please send the form as Word (.docx) or Excel (.xlsx), {_BLANK}."
    )


def _xlsb_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is an Excel binary workbook, which we cannot read: "
        f"please save it as .xlsx (Excel Workbook) {_BLANK}."
    )


def _opendocument_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is an OpenDocument file, which we cannot read: please save it "
        f"in Word (.docx) or Excel (.xlsx) format and send it again, {_BLANK}."
    )


def _zip_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is a zip archive, which we do not open: "
        "please attach the form itself, not zipped."
    )


def _other_reason(filename: str) -> str:
    return (
        f"{_shown(filename)} is not a kind of file we can read: please send the form as "
        f"Word (.docx), Excel (.xlsx) or CSV, {_BLANK}."
    )


_UNSUPPORTED_REASONS: dict[str, Callable[[str], str]] = {
    "pdf": _pdf_reason,
    "rtf": _rtf_reason,
    "tnef": _tnef_reason,
}
