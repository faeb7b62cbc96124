"""Read one attachment: decide what it really is, then hand it to the right reader.

Both the name and the first bytes are checked (sniff.py), since mail clients get content types
wrong and people rename files. Anything that cannot be read becomes a rejection whose reason
the sender can act on (rejections.py); `read_file` never raises.

Every file is read within a `Budget` (limits.py): bytes actually inflated, rows, texts and time.
A limit that stops a file refuses it with a reason naming the file and the limit; a limit that
only cuts (rows past the last one read) leaves the forms read and names the cut in
`FileReading.cut`. `read_files` reads one email's attachments within the email's time budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import PurePath

from intake_bot.forms.csv_sheet import read_csv
from intake_bot.forms.limits import (
    DEFAULT_LIMITS,
    MB,
    Budget,
    Clock,
    LimitError,
    OutOfTimeError,
    ReadLimits,
    TooLargeError,
    email_deadline,
)
from intake_bot.forms.mime import decode_text
from intake_bot.forms.ole_files import read_ole
from intake_bot.forms.readings import Attachment, FileReading
from intake_bot.forms.rejections import Refusal, corrupt, found, reject, shown, unmapped
from intake_bot.forms.sniff import App, Magic, claimed_app, ignorable, media_type, sniff
from intake_bot.forms.versions import UnmappedVersionError
from intake_bot.forms.zip_files import read_zip

log = logging.getLogger(__name__)

MAX_FILE_BYTES = DEFAULT_LIMITS.attachment_bytes

_LEGACY_EXTENSIONS = frozenset({".doc", ".dot", ".xls", ".xlt"})
_EMAIL_EXTENSIONS = frozenset({".eml", ".msg"})
_TEXT_EXTENSIONS = frozenset({".txt", ".text", ".htm", ".html", ".xml", ".json", ".tsv", ".md"})
_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/comma-separated-values", "text/x-csv"})
# Formats known by their first bytes that are never read.
_UNSUPPORTED: dict[Magic, Refusal] = {
    "pdf": Refusal.PDF,
    "rtf": Refusal.RTF,
    "tnef": Refusal.TNEF,
}


def read_file(
    filename: str,
    content_type: str,
    data: bytes,
    *,
    limits: ReadLimits = DEFAULT_LIMITS,
    email_deadline: float | None = None,
    clock: Clock = time.monotonic,
) -> FileReading:
    """The forms in one attachment, or why it cannot be read, or `ignored` for a logo or a
    signature. Never raises: anything a reader trips over is reported as a damaged file.

    Read within `limits`, and by `email_deadline` (on `clock`) when the email's time budget
    ends before this file's own does.
    """
    budget = Budget.start(limits, email_deadline, clock)
    try:
        reading = _read(filename, media_type(content_type), data, budget)
        reading.cut += [f"{shown(filename)}: {cut}" for cut in budget.cuts]
    except LimitError as exc:
        log.info("attachment refused at a limit: %s", type(exc).__name__)
        reading = _over_limit(filename, exc, limits)
    except Exception as exc:  # the file's fault, not ours: the sender hears it could not be read
        # No file name or traceback, at any level: names can identify people; the type is enough.
        log.info("could not read an attachment: %s", type(exc).__name__)
        reading = corrupt(filename, _claimed_app_safely(filename, content_type))
    # What was seen before a reader stopped counts too: a refused file may still hold a number.
    reading.patient_data = budget.seen.found()
    return reading


def read_files(
    attachments: Iterable[Attachment],
    *,
    limits: ReadLimits = DEFAULT_LIMITS,
    clock: Clock = time.monotonic,
) -> tuple[FileReading, ...]:
    """Each attachment of one email read, all within the email's time budget: once it has run
    out, the rest are refused unread, each with a reason that says so."""
    ends = email_deadline(limits, clock)
    return tuple(
        read_file(
            a.filename, a.content_type, a.data, limits=limits, email_deadline=ends, clock=clock
        )
        for a in attachments
    )


def _over_limit(filename: str, exc: LimitError, limits: ReadLimits) -> FileReading:
    if isinstance(exc, OutOfTimeError):
        if exc.whole_email:
            return reject(filename, Refusal.EMAIL_TOO_SLOW, seconds=limits.message_seconds)
        return reject(filename, Refusal.TOO_SLOW, seconds=limits.attachment_seconds)
    if isinstance(exc, TooLargeError):
        return reject(filename, Refusal.UNPACKED_TOO_LARGE, detail=exc.what)
    return reject(filename, Refusal.TOO_MUCH, detail=exc.what)


def _read(filename: str, content_type: str, data: bytes, budget: Budget) -> FileReading:
    extension = PurePath(filename).suffix.lower()
    magic = sniff(data)
    claimed = claimed_app(extension, content_type)
    if magic is None and _is_text(extension, content_type):
        # Read, refused or ignored (an HTML copy), any text is looked at for patient data.
        budget.seen.add(decode_text(data[: budget.limits.attachment_bytes], None))
    if claimed is None and ignorable(magic, extension, content_type):
        return FileReading(filename, ignored=True)
    limit = budget.limits.attachment_bytes
    if len(data) > limit:
        return reject(filename, Refusal.TOO_LARGE, limit_mb=max(1, limit // MB))
    if not data:
        return reject(filename, Refusal.EMPTY)
    budget.check_time()  # the email's budget may be spent before this file is begun
    if magic == "ole":
        return read_ole(filename, data, claimed)
    if magic == "zip":
        return read_zip(filename, data, claimed, budget)
    if magic is not None and magic in _UNSUPPORTED:
        return reject(filename, _UNSUPPORTED[magic])
    if extension == ".csv" or content_type in _CSV_TYPES:
        try:
            return found(filename, read_csv(data, filename, budget))
        except UnmappedVersionError as exc:  # its version row names one we cannot read
            return unmapped(filename, exc, budget.limits.form_versions)
    if extension == ".eml" or content_type == "message/rfc822":
        # A forwarded email: the message parser has already surfaced the forms inside it.
        return FileReading(filename, ignored=True)
    return _read_unknown(filename, extension, claimed)


def _is_text(extension: str, content_type: str) -> bool:
    return content_type.startswith("text/") or extension in _TEXT_EXTENSIONS


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
