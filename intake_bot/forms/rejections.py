"""Why a file is not read, as the sender is told it: what was wrong with it and what to send
instead, in one sentence that quotes the file's name.

One table holds every reason with its code, so that the wording is kept in one place.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import PurePath

from intake_bot.domain.form_versions import FormVersions, is_newer, valid_version
from intake_bot.domain.rawform import RawForm
from intake_bot.forms.readings import FileReading, RejectCode, Rejection
from intake_bot.forms.sniff import App
from intake_bot.forms.versions import UnmappedVersionError

_BLANK = "or use the blank form attached"
BLANK_OFFERED = "blank form attached"  # in every reason that offers it: the reply attaches it
_RESEND = f"please save the form again and send it, {_BLANK}."
_ON_ITS_OWN = "please send the form on its own, without pictures or other files inside it"
_AS_WORD_OR_EXCEL = "Word (.docx) or Excel (.xlsx)"


class Refusal(StrEnum):
    EMPTY = "empty"
    DAMAGED = "damaged"  # claims to be a Word or Excel file
    UNKNOWN_FORMAT = "unknown_format"  # damaged, or claims nothing we know
    TOO_LARGE = "too_large"
    UNPACKED_TOO_LARGE = "unpacked_too_large"
    TOO_MUCH = "too_much"  # more rows, texts or parts than a limit allows
    TOO_SLOW = "too_slow"  # the file's own time budget ran out
    EMAIL_TOO_SLOW = "email_too_slow"  # the email's time budget ran out
    LEGACY = "legacy"
    ENCRYPTED = "encrypted"
    ENCRYPTED_LEGACY = "encrypted_legacy"
    MACRO = "macro"
    NO_FIELDS = "no_fields"
    PDF = "pdf"
    RTF = "rtf"
    TNEF = "tnef"
    EMAIL = "email"
    POWERPOINT = "powerpoint"
    XLSB = "xlsb"
    OPENDOCUMENT = "opendocument"
    ZIP = "zip"
    OTHER = "other"
    FORM_VERSION = "form_version"
    FORM_VERSION_NEWER = "form_version_newer"  # a version newer than any we read
    # newer than the blank we send, older than one we read: today's form would be a step back
    FORM_VERSION_AHEAD = "form_version_ahead"


# {name} is the file as quoted to the sender; {app}, {kind} and {extension} the Office program.
_REASONS: dict[Refusal, tuple[RejectCode, str]] = {
    Refusal.EMPTY: (RejectCode.CORRUPT, "{name} is empty: {resend}"),
    Refusal.DAMAGED: (
        RejectCode.CORRUPT,
        "{name} is damaged or is not really {a_app} file, so we could not read it: {resend}",
    ),
    Refusal.UNKNOWN_FORMAT: (
        RejectCode.CORRUPT,
        "{name} is damaged or is not in a format we know, so we could not read it: {resend}",
    ),
    Refusal.TOO_LARGE: (
        RejectCode.TOO_LARGE,
        "{name} is larger than the {limit_mb} MB we accept: {on_its_own}.",
    ),
    Refusal.UNPACKED_TOO_LARGE: (
        RejectCode.TOO_LARGE,
        "{name} is too large for us to read once unpacked{detail}: {on_its_own}, {blank}.",
    ),
    Refusal.TOO_MUCH: (
        RejectCode.TOO_LARGE,
        "{name} is more than we read from one file{detail}: "
        "please send the form with only the rows and sheets it needs, {blank}.",
    ),
    Refusal.TOO_SLOW: (
        RejectCode.TOO_SLOW,
        "{name} is too slow to read: it took longer than the {seconds} seconds we allow for one "
        "file, so we stopped reading it; please send the form with only the rows and sheets it "
        "needs, {blank}.",
    ),
    Refusal.EMAIL_TOO_SLOW: (
        RejectCode.TOO_SLOW,
        "{name} is not read: the files in this email took longer to read than the {seconds} "
        "seconds we allow for one email; please send it again in an email of its own.",
    ),
    Refusal.LEGACY: (
        RejectCode.LEGACY_FORMAT,
        "{name} is an old {app} 97-2003 {kind}, which we cannot read: "
        "please save it as {extension} ({app} 2007 or later) {blank}.",
    ),
    Refusal.ENCRYPTED: (
        RejectCode.ENCRYPTED,
        "{name} is protected with a password, so we cannot read it: "
        "please remove the password (File > Info > Protect) and send it again, {blank}.",
    ),
    Refusal.ENCRYPTED_LEGACY: (
        RejectCode.ENCRYPTED,
        "{name} is a password-protected old {app} 97-2003 {kind}, which we cannot read: "
        "please remove the password and save it as {extension}, {blank}.",
    ),
    Refusal.MACRO: (
        RejectCode.MACRO_ENABLED,
        "{name} is a macro-enabled {app} file, which we do not open for safety: "
        "please save it as a plain {app} file ({extension}) {blank}.",
    ),
    Refusal.NO_FIELDS: (
        RejectCode.NO_FIELDS,
        # "none" would be untrue of a letter that names two of them ("Name", "Email")
        "{name} does not look like our request form (we found fewer than three of its fields): "
        "please fill in the blank form attached and send that.",
    ),
    Refusal.PDF: (
        RejectCode.UNSUPPORTED,
        "{name} is a PDF, which we cannot read as a request: "
        "please send the filled-in form as {word_or_excel} instead, {blank}.",
    ),
    Refusal.RTF: (
        RejectCode.UNSUPPORTED,
        "{name} is a Rich Text (RTF) document, which we cannot read: "
        "please save it as .docx (Word 2007 or later) {blank}.",
    ),
    Refusal.TNEF: (
        RejectCode.UNSUPPORTED,
        "{name} is an Outlook rich-text wrapper that we could not unpack: "
        "please send the form again with the email set to HTML or plain text format.",
    ),
    Refusal.EMAIL: (
        RejectCode.UNSUPPORTED,
        "{name} is an attached email, which we do not open: "
        "please attach the form itself rather than the email that carried it.",
    ),
    Refusal.POWERPOINT: (
        RejectCode.UNSUPPORTED,
        "{name} is a PowerPoint file, which we cannot read as a request: "
        "please send the form as {word_or_excel}, {blank}.",
    ),
    Refusal.XLSB: (
        RejectCode.UNSUPPORTED,
        "{name} is an Excel binary workbook, which we cannot read: "
        "please save it as .xlsx (Excel Workbook) {blank}.",
    ),
    Refusal.OPENDOCUMENT: (
        RejectCode.UNSUPPORTED,
        "{name} is an OpenDocument file, which we cannot read: "
        "please save it in {word_or_excel} format and send it again, {blank}.",
    ),
    Refusal.ZIP: (
        RejectCode.UNSUPPORTED,
        "{name} is a zip archive, which we do not open: please attach the form itself, not zipped.",
    ),
    Refusal.OTHER: (
        RejectCode.UNSUPPORTED,
        "{name} is not a kind of file we can read: "
        "please send the form as Word (.docx), Excel (.xlsx) or CSV, {blank}.",
    ),
    Refusal.FORM_VERSION: (
        RejectCode.FORM_VERSION,
        "{name} is on {version}, which we cannot read automatically: "
        "please copy your answers into the current form (version {current}), attached; "
        "our staff will also look at the form you sent.",
    ),
    Refusal.FORM_VERSION_NEWER: (
        RejectCode.FORM_VERSION,
        "{name} is on {version}, newer than the forms we can read: we cannot read it "
        "automatically yet, so our staff will look at the form you sent and reply to you.",
    ),
    Refusal.FORM_VERSION_AHEAD: (
        RejectCode.FORM_VERSION,
        "{name} is on {version}, which we cannot read automatically yet, so our staff will "
        "look at the form you sent and reply to you.",
    ),
}
_APP_WORDS: dict[App | None, dict[str, str]] = {
    "Word": {"app": "Word", "a_app": "a Word", "kind": "document", "extension": ".docx"},
    "Excel": {"app": "Excel", "a_app": "an Excel", "kind": "workbook", "extension": ".xlsx"},
    # Not expected (callers name the program where the wording needs it), but never a crash.
    None: {"app": "Office", "a_app": "an Office", "kind": "file", "extension": ".docx or .xlsx"},
}


def reason(
    refusal: Refusal,
    filename: str,
    app: App | None = None,
    limit_mb: int = 0,
    *,
    detail: str = "",
    seconds: float = 0,
    version: str = "",
    current: str = "",
    shown_as: str = "",
) -> str:
    """The sentence the sender is told about `filename`; `detail` completes "it ..." with the
    limit it went over, `seconds` is the time budget that ran out; `version` the form version
    it declared ("version 2030.1"), `current` the one we read; `shown_as`: how the sentence
    names what was sent when it is no attached file (the form typed in the email)."""
    return _REASONS[refusal][1].format(
        name=shown_as or shown(filename),
        blank=_BLANK,
        resend=_RESEND,
        on_its_own=_ON_ITS_OWN,
        word_or_excel=_AS_WORD_OR_EXCEL,
        limit_mb=limit_mb,
        detail=f" (it {detail})" if detail else "",
        seconds=f"{seconds:g}",
        version=version,
        current=current,
        **_APP_WORDS[app],
    )


def reject(
    filename: str,
    refusal: Refusal,
    app: App | None = None,
    *,
    limit_mb: int = 0,
    detail: str = "",
    seconds: float = 0,
    version: str = "",
    current: str = "",
    shown_as: str = "",
) -> FileReading:
    """`filename` refused, with the code and the sentence for `refusal`."""
    code = _REASONS[refusal][0]
    text = reason(
        refusal,
        filename,
        app,
        limit_mb,
        detail=detail,
        seconds=seconds,
        version=version,
        current=current,
        shown_as=shown_as,
    )
    return FileReading(filename, rejection=Rejection(code, text))


def unmapped(
    filename: str, exc: UnmappedVersionError, versions: FormVersions, *, shown_as: str = ""
) -> FileReading:
    """A form on a version we cannot read: the sender is told which, and sent the current one;
    on one newer than ours, that staff will look at it (the current form would be a step back).
    `shown_as`: as for `reason`."""
    shown = valid_version(exc.shown)
    if shown is not None:
        version = f"version {shown} of the request form"
    else:  # the sender's text is not repeated: it may be anything
        version = "a version of the request form that we do not recognise"
    # Newer than the blank we send: the sender is not sent it (a step back), staff reply; it is
    # "newer than the forms we can read" only when newer than every version read.
    newer = shown is not None and is_newer(shown, versions.current)
    newest = newer and not any(is_newer(v, shown or "") for v in versions.newer)
    refusal = (
        Refusal.FORM_VERSION_NEWER
        if newest
        else Refusal.FORM_VERSION_AHEAD
        if newer
        else Refusal.FORM_VERSION
    )
    reading = reject(
        filename, refusal, version=version, current=versions.current, shown_as=shown_as
    )
    if reading.rejection is not None:  # `intake-bot parse` shows it as a read form's version
        reading.rejection = replace(reading.rejection, form_version=shown, newer=newer)
    return reading


def corrupt(filename: str, app: App | None) -> FileReading:
    """A file that could not be read, though it claims (or does not claim) to be `app`'s."""
    return reject(filename, Refusal.DAMAGED if app else Refusal.UNKNOWN_FORMAT, app)


def found(filename: str, forms: list[RawForm]) -> FileReading:
    """The forms read from a file; a file that gave none is refused as not being the form."""
    if not forms:
        return reject(filename, Refusal.NO_FIELDS)
    return FileReading(filename, forms=forms)


def shown(filename: str) -> str:
    """The file's name as quoted to the sender: one line, not too long."""
    name = " ".join(PurePath(filename.replace("\\", "/")).name.split()) if filename else ""
    if not name:
        return "The attached file"
    return f'"{name[:77]}..."' if len(name) > 80 else f'"{name}"'
