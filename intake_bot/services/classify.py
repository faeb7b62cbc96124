"""What a message is, decided once: for a poll (`Intake.ingest`) and for `intake-bot parse`.

`read_message` reads an email and every attachment in it (bounded by the readers); `classify`
decides from that reading, and from the request it answers if it answers one, what the message
is and which staff queue holds it; `examine` does both, looking the request up. Nothing here
writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from intake_bot.domain.rawform import RawForm
from intake_bot.domain.records import Request, saved_id
from intake_bot.domain.triage import ENQUIRIES, QUARANTINE, references_in, request_reference
from intake_bot.forms.files import read_file
from intake_bot.forms.message import parse_message
from intake_bot.forms.readings import FileReading, MessageParseError, ParsedMessage
from intake_bot.forms.text import read_body
from intake_bot.ports import RequestRepository


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

    @property
    def rejected(self) -> tuple[FileReading, ...]:
        """The attachments that could not be read, each with the reason for the sender."""
        return tuple(r for r in self.readings if r.rejection is not None)


@dataclass(frozen=True)
class Decision:
    kind: Kind
    queue: str | None  # the staff queue that holds the message itself (no request takes it)
    note: str  # why, for staff; never message content


def read_message(raw: bytes, *, own_addresses: tuple[str, ...] = ()) -> Contents:
    """Parse `raw` and read its attachments; the form typed in the body when there is no file.

    A robot's mail is not read further than its headers: it is never filed nor answered.
    """
    try:
        msg = parse_message(raw, own_addresses=own_addresses)
    except MessageParseError as exc:
        return Contents(None, parse_error=str(exc))
    if msg.automated:
        return Contents(msg)
    readings = tuple(read_file(a.filename, a.content_type, a.data) for a in msg.attachments)
    forms: list[tuple[int | None, RawForm]] = [
        (index, form) for index, reading in enumerate(readings) for form in reading.forms
    ]
    if not forms and not any(r.rejection for r in readings):
        body_form = read_body(msg.text_body)
        if body_form is not None:
            forms.append((None, body_form))
    return Contents(msg, readings=readings, forms=tuple(forms))


def classify(contents: Contents, *, reply_to: str | None = None) -> Decision:
    """What the message is. `reply_to`: the reference of the request it answers, if any."""
    msg = contents.message
    if msg is None:
        return Decision(Kind.QUARANTINED, QUARANTINE, contents.parse_error)
    if msg.automated:
        return Decision(Kind.AUTOMATED, None, msg.automated)
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


def find_thread(requests: RequestRepository, msg: ParsedMessage) -> Request | None:
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


def examine(
    contents: Contents, requests: RequestRepository | None
) -> tuple[Decision, Request | None]:
    """`classify`, having looked up the request the message answers (when there are requests
    to look in: `intake-bot parse` may run without a database)."""
    msg = contents.message
    thread = None
    if requests is not None and msg is not None and not msg.automated:
        thread = find_thread(requests, msg)
    reply_to = request_reference(saved_id(thread)) if thread is not None else None
    return classify(contents, reply_to=reply_to), thread
