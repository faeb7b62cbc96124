"""What an attachment is: what its first bytes say, and what its name and content type claim.

Mail clients get content types wrong and people rename files, so both are looked at: the bytes
decide the format; the name and type only say which Office program the sender had in mind.
"""

from __future__ import annotations

from typing import Literal

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
_WORD_TYPES = (
    "application/msword",
    "application/vnd.ms-word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml",
)
_EXCEL_TYPES = (
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml",
)
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


def media_type(content_type: str | None) -> str:
    """`Content-Type` without its parameters, lower-cased."""
    return (content_type or "").split(";")[0].strip().lower()


def claimed_app(extension: str, content_type: str) -> App | None:
    """Which Office program the name or content type says the file belongs to."""
    if extension in _WORD_EXTENSIONS or content_type.startswith(_WORD_TYPES):
        return "Word"
    if extension in _EXCEL_EXTENSIONS or (
        extension != ".csv" and content_type.startswith(_EXCEL_TYPES)
    ):
        return "Excel"
    return None


def ignorable(magic: Magic | None, extension: str, content_type: str) -> bool:
    """Pictures, signatures, contact cards, invitations and HTML copies of the message; a file
    whose bytes say it is an Office document or a PDF is never ignored, whatever it is called."""
    if magic is not None:
        return magic == "image"
    return (
        content_type.startswith("image/")
        or content_type in _IGNORED_TYPES
        or extension in _IGNORED_EXTENSIONS
    )
