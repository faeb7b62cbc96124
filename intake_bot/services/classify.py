"""What a message is, decided once: for a poll (`Intake.ingest`) and for `intake-bot parse`.

`read_message` reads an email and every attachment in it (bounded by the readers); `classify`
decides from that reading, and from the request it answers if it answers one, what the message
is and which staff queue holds it; `examine` does both, looking the request up. Nothing here
writes anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from intake_bot.domain.patient_data import where_nhs_numbers_are
from intake_bot.domain.rawform import RawForm
from intake_bot.domain.records import Request, saved_id
from intake_bot.domain.triage import ENQUIRIES, QUARANTINE, references_in, request_reference
from intake_bot.forms.files import read_files
from intake_bot.forms.limits import DEFAULT_LIMITS, ReadLimits
from intake_bot.forms.message import parse_message
from intake_bot.forms.readings import FileReading, MessageParseError, ParsedMessage
from intake_bot.forms.rejections import unmapped
from intake_bot.forms.robots import subject_only
from intake_bot.forms.text import SOURCE, read_body
from intake_bot.forms.versions import UnmappedVersionError
from intake_bot.nhs_number import nhs_number_valid
from intake_bot.ports_reads import ThreadReads

PATIENT_DATA = "patient data"  # how a decision's note begins when an NHS number was found


TYPED_FORM = "The form typed in your email"  # as the sender is told of it


class Kind(StrEnum):
    """What a message is; stored as the archived message's outcome."""

    FILED = "filed"  # one or more forms: one request each
    ENQUIRY = "enquiry"  # no form: enquiries queue, how-to reply
    UNREADABLE = "unreadable"  # attachments we cannot read: quarantine queue, reply says why
    AUTOMATED = "automated"  # a robot: archived, never answered
    QUARANTINED = "quarantined"  # not an email we can read at all
    REPLY = "reply"  # answers one of our emails: threaded onto its request
    # Not a kind `classify` gives: what ingesting says of a message it had filed already.
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Contents:
    """What one email holds, read once: the message, each attachment's reading, the forms.

    `message` is None when the bytes are not a readable email (`parse_error` says why).
    Each form comes with the index of the attachment it came from (None: the email body).
    """

    message: ParsedMessage | None
    parse_error: str = ""
    readings: tuple[FileReading, ...] = ()
    forms: tuple[tuple[int | None, RawForm], ...] = ()
    # Where an NHS number was found ("body", "form.docx: field"...): never what it was.
    patient_data: tuple[str, ...] = ()
    held: str = ""  # why the whole email waits for staff instead of being filed (too many forms)
    # The form typed in the body, when it declares a version the bot cannot read.
    body_rejection: FileReading | None = None

    @property
    def rejected(self) -> tuple[FileReading, ...]:
        """The attachments (and the typed form) that could not be read, each with the reason
        for the sender."""
        typed = (self.body_rejection,) if self.body_rejection else ()
        return tuple(r for r in (*self.readings, *typed) if r.rejection is not None)


@dataclass(frozen=True)
class Decision:
    kind: Kind
    queue: str | None  # the staff queue that holds the message itself (no request takes it)
    note: str  # why, for staff; never message content


def read_message(
    raw: bytes, *, own_addresses: tuple[str, ...] = (), limits: ReadLimits = DEFAULT_LIMITS
) -> Contents:
    """Parse `raw` and read its attachments; the form typed in the body when there is no file.

    A robot's mail is not read further than its headers: it is never filed nor answered.
    Everything is read within `limits` (bytes, rows, the time budgets of a file and the email).
    """
    try:
        msg = parse_message(raw, own_addresses=own_addresses, limits=limits)
    except MessageParseError as exc:
        return Contents(None, parse_error=str(exc))
    if msg.automated and not subject_only(msg.automated):
        return Contents(msg, patient_data=patient_data_in(msg, ()))
    readings = read_files(msg.attachments, limits=limits)
    forms: list[tuple[int | None, RawForm]] = [
        (index, form) for index, reading in enumerate(readings) for form in reading.forms
    ]
    typed_unread = None
    if not forms and not any(r.rejection for r in readings):
        try:
            body_form = read_body(msg.text_body, limits.form_versions)
        except UnmappedVersionError as exc:  # "Form version: ..." names one we cannot read
            body_form = None
            typed_unread = unmapped(SOURCE, exc, limits.form_versions, shown_as=TYPED_FORM)
        if body_form is not None:
            forms.append((None, body_form))
    if msg.automated and forms:  # only its subject looked automatic: a person sent a form
        msg = replace(msg, automated=None)
    held = ""
    if len(forms) > limits.requests_per_email:
        held = (
            f"{len(forms)} requests in one email, more than the {limits.requests_per_email} filed"
            " automatically: none was filed; staff will review the email and reply"
        )
    # Whatever a limit left unread is named once, on the message: the reply and staff see it.
    cut = (*msg.cut, *(line for reading in readings for line in reading.cut), *filter(None, [held]))
    msg = replace(msg, cut=cut)
    found = patient_data_in(msg, forms, readings)
    return Contents(
        msg,
        readings=readings,
        forms=tuple(forms),
        patient_data=found,
        held=held,
        body_rejection=typed_unread,
    )


def typed_correction(contents: Contents, limits: ReadLimits = DEFAULT_LIMITS) -> RawForm | None:
    """Answers typed into a reply that attached no form: a party correcting its own incomplete
    request types the one line it was asked to fix, so one field (not a contact's) will do,
    and a file that is not a form (a signed contract) does not hide it."""
    msg = contents.message
    if msg is None or any(index is not None for index, _ in contents.forms):
        return None
    return read_body(msg.text_body, limits.form_versions, correction=True)


def patient_data_in(
    msg: ParsedMessage,
    forms: Sequence[tuple[int | None, RawForm]],
    readings: Sequence[FileReading] = (),
) -> tuple[str, ...]:
    """Where `msg` holds what passes the NHS number check: its subject, body, form values, and
    any text seen in an attachment. Attachments are named by position, not by file name (a name
    may hold the number itself)."""
    named = [
        (f"attachment {index + 1}" if index is not None else "the form in the body", form.values)
        for index, form in forms
    ]
    found = where_nhs_numbers_are(
        nhs_number_valid, subject=msg.subject, body=msg.text_body, forms=named
    )
    for index, reading in enumerate(readings):
        named_already = any(where.startswith(f"attachment {index + 1}:") for where in found)
        if reading.patient_data and not named_already:
            found.append(f"attachment {index + 1}")
    return tuple(found)


def classify(contents: Contents, *, reply_to: str | None = None) -> Decision:
    """What the message is. `reply_to`: the reference of the request it answers, if any."""
    msg = contents.message
    if msg is None:
        return Decision(Kind.QUARANTINED, QUARANTINE, contents.parse_error)
    if contents.patient_data:  # before anything that could answer or file it
        where = ", ".join(contents.patient_data)
        return Decision(Kind.QUARANTINED, QUARANTINE, f"{PATIENT_DATA}: NHS number in {where}")
    if msg.automated:
        return Decision(Kind.AUTOMATED, None, msg.automated)
    decision = _decide(contents, reply_to)
    if msg.cut and not contents.held:
        return replace(decision, note=f"{decision.note}; not read: {'; '.join(msg.cut)}")
    return decision


def _decide(contents: Contents, reply_to: str | None) -> Decision:
    if contents.held:  # too many forms: the whole email waits for staff
        return Decision(Kind.UNREADABLE, QUARANTINE, contents.held)
    if reply_to is not None:
        return Decision(Kind.REPLY, None, f"reply to {reply_to}")
    if contents.forms:
        return Decision(Kind.FILED, None, f"{len(contents.forms)} form(s)")
    if contents.rejected:
        codes = "; ".join(
            f"{r.filename}: {r.rejection.code}" for r in contents.rejected if r.rejection
        )
        return Decision(Kind.UNREADABLE, QUARANTINE, codes)
    return Decision(Kind.ENQUIRY, ENQUIRIES, "no form found")


def find_thread(requests: ThreadReads, msg: ParsedMessage) -> Request | None:
    """The request this email answers, if it answers one of ours: In-Reply-To/References name
    one of our emails, or its subject names a request reference."""
    request_id = requests.for_outgoing([r for r in (msg.in_reply_to, *msg.references) if r])
    if request_id is not None:
        return requests.get(request_id)
    for candidate in references_in(msg.subject):
        found = requests.get(candidate)
        if found is not None:
            return found
    return None


# Our Message-IDs, as mail/compose.py makes them: "<...intake-bot@" + our sending domain + ">".
OUR_ID_TAG = "intake-bot@"


def our_message_ids(msg: ParsedMessage, own_addresses: Sequence[str]) -> list[str]:
    """The Message-IDs among In-Reply-To/References that we made (by their form)."""
    refs = (msg.in_reply_to, *msg.references)
    return [mid for mid in refs if mid and is_our_message_id(mid, own_addresses)]


def is_our_message_id(mid: str, own_addresses: Sequence[str]) -> bool:
    """Whether `mid` has the form of the Message-IDs we make ("<…intake-bot@our domain>")."""
    domains = {a.rpartition("@")[2].strip().lower() for a in own_addresses if "@" in a}
    local, _, domain = mid.strip("<> ").lower().rpartition("@")
    return domain in domains and (local + "@").endswith(OUR_ID_TAG)


def answers_our_mail(
    msg: ParsedMessage, own_addresses: Sequence[str], requests: ThreadReads | None
) -> bool:
    """Whether `msg` answers any email of ours: one about a request (found in the outbox by
    Message-ID) or any other (how-to, cannot-read: known by the Message-IDs we make)."""
    if our_message_ids(msg, own_addresses):
        return True
    ids = [r for r in (msg.in_reply_to, *msg.references) if r]
    return bool(ids) and requests is not None and requests.for_outgoing(ids) is not None


def examine(contents: Contents, requests: ThreadReads | None) -> tuple[Decision, Request | None]:
    """`classify`, having looked up the request the message answers (when there are requests
    to look in: `intake-bot parse` may run without a database)."""
    msg = contents.message
    thread = None
    if requests is not None and msg is not None and not msg.automated:
        thread = find_thread(requests, msg)
    reply_to = request_reference(saved_id(thread)) if thread is not None else None
    return classify(contents, reply_to=reply_to), thread
