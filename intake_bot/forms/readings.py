"""Types shared by the readers: an attachment, a parsed message, and what reading a file gave."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from intake_bot.domain.rawform import RawForm


@dataclass(frozen=True)
class Attachment:
    filename: str  # as given, or made up from the content type when missing
    content_type: str
    data: bytes
    inline: bool = False  # Content-Disposition inline (logos, signatures)


@dataclass(frozen=True)
class ParsedMessage:
    """A clean view of one email. Header values are decoded; addresses are lower-cased."""

    message_id: str | None  # with angle brackets, as in the header
    subject: str
    from_addr: str  # bare address, "" when missing or unparseable
    from_name: str
    reply_to: str | None
    to: tuple[str, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text_body: str  # text/plain, or text made from text/html when there is no plain part
    attachments: tuple[Attachment, ...]  # winmail.dat already unpacked into its attachments
    automated: str | None = None  # why this looks like a robot (RFC 3834 etc.), None for a person
    defects: tuple[str, ...] = ()  # MIME defects found, for staff
    # X-Auto-Response-Suppress (Exchange): file it, but send no automatic reply.
    wants_no_auto_reply: bool = False
    # Authentication-Results headers as found; only our own server's are believed (domain.sender).
    authentication: tuple[str, ...] = ()
    # What a limit left unread (parts, the rest of the body), one sentence each for the sender
    # and staff: never dropped in silence.
    cut: tuple[str, ...] = ()


class MessageParseError(Exception):
    """The bytes are not an email that can be read at all."""


class RejectCode(StrEnum):
    LEGACY_FORMAT = "legacy_format"  # .doc, .xls
    MACRO_ENABLED = "macro_enabled"  # .docm, .xlsm
    ENCRYPTED = "encrypted"  # password-protected
    CORRUPT = "corrupt"  # claims a format, is not readable as it
    UNSUPPORTED = "unsupported"  # any other type
    NO_FIELDS = "no_fields"  # a readable file with nothing that looks like the form
    TOO_LARGE = "too_large"  # over a byte, row or count limit
    TOO_SLOW = "too_slow"  # over the time budget of the file or of its email
    FORM_VERSION = "form_version"  # a version of the form that no mapping covers


@dataclass(frozen=True)
class Rejection:
    code: RejectCode
    reason: (
        str  # one sentence for the sender: what was wrong with this file and what to send instead
    )
    form_version: str | None = None  # FORM_VERSION: the version declared, when a short one
    newer: bool = False  # FORM_VERSION: newer than the blank we send; staff reply, none is sent


@dataclass
class FileReading:
    """What one attachment gave: forms, a rejection, or nothing (ignored: a logo, a signature).

    `cut` names what a limit left unread in a file that was read (rows past the limit of a
    sheet, columns past the last one read), one sentence each that quotes the file's name:
    for the reply and the staff view, next to the forms that were read.
    """

    filename: str
    forms: list[RawForm] = field(default_factory=list)
    rejection: Rejection | None = None
    ignored: bool = False
    cut: list[str] = field(default_factory=list)
    # Whether any text seen in the file (not only the form's fields) passes the NHS number check.
    patient_data: bool = False

    @property
    def unmapped_version(self) -> Rejection | None:
        """Its rejection, when it is a form on a version no config/forms/ file maps."""
        why = self.rejection
        return why if why is not None and why.code is RejectCode.FORM_VERSION else None
