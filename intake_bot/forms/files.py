"""Read one attachment: decide what it really is, then hand it to the right reader.

Both the name and the first bytes are checked (sniff.py), since mail clients get content types
wrong and people rename files. Anything that cannot be read becomes a rejection whose reason
the sender can act on (rejections.py); `read_file` never raises.
"""

from __future__ import annotations

import logging
from pathlib import PurePath

from intake_bot.forms.csv_sheet import read_csv
from intake_bot.forms.ole_files import read_ole
from intake_bot.forms.readings import FileReading
from intake_bot.forms.rejections import Refusal, corrupt, found, reject
from intake_bot.forms.sniff import App, Magic, claimed_app, ignorable, media_type, sniff
from intake_bot.forms.zip_files import read_zip

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024

_LEGACY_EXTENSIONS = frozenset({".doc", ".dot", ".xls", ".xlt"})
_EMAIL_EXTENSIONS = frozenset({".eml", ".msg"})
_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values", "text/x-csv"})
# Formats known by their first bytes that are never read.
_UNSUPPORTED: dict[Magic, Refusal] = {
    "pdf": Refusal.PDF,
    "rtf": Refusal.RTF,
    "tnef": Refusal.TNEF,
}


def read_file(filename: str, content_type: str, data: bytes) -> FileReading:
    """The forms in one attachment, or why it cannot be read, or `ignored` for a logo or a
    signature. Never raises: anything a reader trips over is reported as a damaged file."""
    try:
        return _read(filename, media_type(content_type), data)
    except Exception as exc:  # the file's fault, not ours: the sender hears it could not be read
        # No file name or traceback at INFO: names can identify people; the type is enough.
        log.info("could not read an attachment: %s", type(exc).__name__)
        log.debug("reader failure", exc_info=True)
        return corrupt(filename, _claimed_app_safely(filename, content_type))


def _read(filename: str, content_type: str, data: bytes) -> FileReading:
    extension = PurePath(filename).suffix.lower()
    magic = sniff(data)
    claimed = claimed_app(extension, content_type)
    if claimed is None and ignorable(magic, extension, content_type):
        return FileReading(filename, ignored=True)
    if len(data) > MAX_FILE_BYTES:
        return reject(filename, Refusal.TOO_LARGE, limit_mb=MAX_FILE_BYTES // (1024 * 1024))
    if not data:
        return reject(filename, Refusal.EMPTY)
    if magic == "ole":
        return read_ole(filename, data, claimed)
    if magic == "zip":
        return read_zip(filename, data, claimed)
    if magic is not None and magic in _UNSUPPORTED:
        return reject(filename, _UNSUPPORTED[magic])
    if extension == ".csv" or content_type in _CSV_TYPES:
        return found(filename, read_csv(data, filename))
    if extension == ".eml" or content_type == "message/rfc822":
        # A forwarded email: the message parser has already surfaced the forms inside it.
        return FileReading(filename, ignored=True)
    return _read_unknown(filename, extension, claimed)


def _read_unknown(filename: str, extension: str, claimed: App | None) -> FileReading:
    """No format we know by its first bytes: judge by the name."""
    if extension in _LEGACY_EXTENSIONS and claimed is not None:  # Word 2, BIFF4, HTML as .doc
        return reject(filename, Refusal.LEGACY, claimed)
    if claimed is not None:
        return corrupt(filename, claimed)
    if extension in _EMAIL_EXTENSIONS:
        return reject(filename, Refusal.EMAIL)
    return reject(filename, Refusal.OTHER)


def _claimed_app_safely(filename: str, content_type: str) -> App | None:
    try:
        return claimed_app(PurePath(filename).suffix.lower(), media_type(content_type))
    except Exception:  # the safety net must not fail itself
        return None
