"""What `intake-bot parse` shows: what a poll would file or reject, and why, without filing it.

The decision is the poll's own: the same `classify.read_message`, `classify.examine` and
`filing.check`, with the same rules; only nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum

from intake_bot.domain.form_versions import declares_newer, how_read
from intake_bot.domain.patient_data import where_nhs_numbers_are
from intake_bot.domain.rawform import RawForm, Versioning
from intake_bot.domain.records import Request
from intake_bot.domain.subject import subject_matches
from intake_bot.domain.validation import ValidationContext
from intake_bot.forms.files import read_file
from intake_bot.forms.limits import DEFAULT_LIMITS, ReadLimits
from intake_bot.forms.readings import FileReading, RejectCode
from intake_bot.nhs_number import nhs_number_valid
from intake_bot.ports_reads import ReferenceReads, RelationshipReads, ThreadReads
from intake_bot.services.classify import (
    PATIENT_DATA,
    Contents,
    Decision,
    Kind,
    examine,
    read_message,
    typed_correction,
)
from intake_bot.services.filing import Checked, CheckRules, check
from intake_bot.services.replies import CORRECTABLE, onto_request, who_may_change
from intake_bot.services.reply_preview import OrganisationContacts, reply_outcome

OFFICE_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF")
FORM_SUFFIXES = (
    ".docx",
    ".docm",
    ".doc",
    ".xlsx",
    ".xlsm",
    ".xls",
    ".csv",
    ".pdf",
    ".odt",
    ".ods",
    ".dat",
)


class Verdict(IntEnum):
    """Also the exit status of `intake-bot parse`."""

    ACCEPTED = 0
    REJECTED = 1
    UNREADABLE = 2


@dataclass(frozen=True)
class FormJudgement:
    """One form as a poll would file it: its type, values, problems and flags for staff."""

    source: str
    request_type: str | None
    complete: bool
    values: Mapping[str, object]
    problems: tuple[str, ...]
    flags: tuple[str, ...]
    form_version: str | None = None  # the version the file declared
    read_as: str = ""  # domain.rawform.Versioning, or "newer": how the version had it read
    how_read: str = ""  # the same, for people


@dataclass(frozen=True)
class FileProblem:
    filename: str
    code: str
    reason: str
    form_version: str | None = None  # a form on a version the bot cannot read: the version
    read_as: str = ""  # "unmapped" then (domain.rawform.Versioning), as for a form read


@dataclass(frozen=True)
class AttachmentSeen:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class EmailSeen:
    """The headers a poll goes by."""

    subject: str
    from_addr: str
    message_id: str | None
    subject_matches: bool
    attachments: tuple[AttachmentSeen, ...]
    defects: tuple[str, ...]


@dataclass(frozen=True)
class Preview:
    verdict: Verdict
    kind: str  # "email" or "file"
    summary: str
    reference_data: str  # where approvals and organisations came from: "database" or "config"
    outcome: str | None = None  # what a poll would file the email as (`classify.Kind`)
    email: EmailSeen | None = None
    requests: tuple[FormJudgement, ...] = ()
    rejections: tuple[FileProblem, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The JSON form of `intake-bot parse --json`."""
        details: dict[str, object] = {}
        if self.email is not None:
            e = self.email
            details = {
                "subject": e.subject,
                "from": e.from_addr,
                "message_id": e.message_id,
                "subject_matches": e.subject_matches,
                "attachments": [vars(a) for a in e.attachments],
                "defects": list(e.defects),
            }
        return {
            "verdict": self.verdict.name.lower(),
            "kind": self.kind,
            "summary": self.summary,
            "outcome": self.outcome,
            "reference_data": self.reference_data,
            "details": details,
            "requests": [
                {
                    "source": r.source,
                    "request_type": r.request_type,
                    "complete": r.complete,
                    "values": dict(r.values),
                    "problems": list(r.problems),
                    "flags": list(r.flags),
                    "form_version": r.form_version,
                    "read_as": r.read_as,
                }
                for r in self.requests
            ],
            "rejections": [vars(r) for r in self.rejections],
        }


def looks_like_office_file(name: str, data: bytes) -> bool:
    return data.startswith(OFFICE_MAGIC) or name.lower().endswith(FORM_SUFFIXES)


def judge(
    name: str,
    data: bytes,
    *,
    rules: CheckRules,
    watched_subject: str,
    own_addresses: tuple[str, ...] = (),
    requests: ThreadReads | None = None,
    register: RelationshipReads | None = None,
    contacts: ReferenceReads | None = None,
    reference_data: str = "config",
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Preview:
    """Read `data` as a form file or a raw email and judge it as a poll would.

    `requests` and `register`: the database's, to find the request a reply answers and the
    relationship a change names; None when there is no database (then neither is looked up).
    `contacts`: the organisations, whose registered contacts may change a request naming them.
    """
    if looks_like_office_file(name, data):
        reading = read_file(name, "application/octet-stream", data, limits=limits)
        where = patient_data_in_file(reading)
        if where:
            return _withheld("file", f"{PATIENT_DATA}: NHS number in {where}", reference_data)
        checks = [(form, check(form, None, rules, register)) for form in reading.forms]
        return _of_file(name, reading, checks, reference_data)
    contents = read_message(data, own_addresses=own_addresses, limits=limits)
    decision, thread = examine(contents, requests)
    if contents.patient_data:
        return _withheld("email", decision.note, reference_data, decision.kind)
    forms = [form for _, form in contents.forms]
    if decision.kind is Kind.REPLY and thread is not None:
        forms = _corrected(contents, thread, limits) or forms
    checks = [(form, check(form, contents.message, rules, register)) for form in forms]
    preview = _of_email(contents, decision, checks, watched_subject, reference_data)
    if decision.kind is Kind.REPLY and contents.message is not None and preview.email is not None:
        msg = contents.message
        parties = OrganisationContacts(contacts.organisations()) if contacts else None
        refused = who_may_change(parties, thread, msg, rules) if thread and parties else ""
        complete = [r.complete for r in preview.requests]
        accepted, summary = reply_outcome(
            decision.note, thread, refused, complete, len(preview.rejections)
        )
        verdict = Verdict.ACCEPTED if accepted else Verdict.REJECTED
        if preview.email.subject_matches:
            preview = replace(preview, verdict=verdict, summary=summary)
    return preview


def _corrected(contents: Contents, thread: Request, limits: ReadLimits) -> list[RawForm]:
    """Answers typed into a reply to a request still being corrected, laid over the request's
    own, as a poll applies them when the reply is from a party to it (`parse` cannot tell who
    sent it, so it judges them as a party's); [] when there are none."""
    if thread.status not in CORRECTABLE:
        return []
    typed = typed_correction(contents, limits)
    return [] if typed is None else [onto_request(thread, typed)]


def preview(name: str, data: bytes, ctx: ValidationContext, watched_subject: str) -> Preview:
    """`judge` with validation rules alone: no database, no sender policy."""
    return judge(name, data, rules=CheckRules(ctx), watched_subject=watched_subject)


def patient_data_in_file(reading: FileReading) -> str:
    """Where one file holds an NHS number: its forms' fields, else its text ("" if nowhere)."""
    forms = [(f"form {n + 1}", form.values) for n, form in enumerate(reading.forms)]
    found = where_nhs_numbers_are(nhs_number_valid, subject="", body="", forms=forms)
    if reading.patient_data and not found:
        found.append("the text of the file")
    return ", ".join(found)


def _withheld(kind: str, note: str, source: str, outcome: str | None = None) -> Preview:
    """Patient data: what a poll would do and where the number is, and nothing of the content
    (a preview is printed on a terminal and may be pasted anywhere)."""
    summary = f"held in quarantine, nothing shown: {note}"
    return Preview(Verdict.REJECTED, kind, summary, source, outcome=outcome)


def _judgement(form: RawForm, checked: Checked) -> FormJudgement:
    v = checked.validation
    flags = [f.message for f in v.flags]
    if checked.verification:
        flags.append(checked.verification)  # as filing puts it among the request's flags
    return FormJudgement(
        source=v.source,
        request_type=v.request_type.value if v.request_type else None,
        complete=v.complete,
        values=v.values_json(),
        problems=tuple(p.message for p in v.problems),
        flags=tuple(flags),
        form_version=form.version,
        read_as="newer" if declares_newer(form) else form.versioning.value,
        how_read=how_read(form),
    )


def _problems(readings: Sequence[FileReading]) -> tuple[FileProblem, ...]:
    return tuple(
        FileProblem(
            r.filename,
            r.rejection.code.value,
            r.rejection.reason,
            r.rejection.form_version,
            Versioning.UNMAPPED.value if r.rejection.code is RejectCode.FORM_VERSION else "",
        )
        for r in readings
        if r.rejection
    )


def _verdict(requests: Sequence[FormJudgement], rejections: Sequence[FileProblem]) -> Verdict:
    if requests and all(r.complete for r in requests) and not rejections:
        return Verdict.ACCEPTED
    return Verdict.REJECTED


def _count(requests: Sequence[FormJudgement]) -> str:
    ok = sum(1 for r in requests if r.complete)
    return f"{len(requests)} request(s): {ok} complete, {len(requests) - ok} with problems"


def _of_file(
    name: str, reading: FileReading, checks: list[tuple[RawForm, Checked]], source: str
) -> Preview:
    requests = tuple(_judgement(form, c) for form, c in checks)
    rejections = _problems([reading])
    if reading.rejection and reading.rejection.code is RejectCode.CORRUPT:
        summary = reading.rejection.reason
        return Preview(Verdict.UNREADABLE, "file", summary, source, rejections=rejections)
    if reading.ignored:
        summary = f"{name} is not a request form"
    elif rejections:
        summary = rejections[0].reason
    else:
        summary = _count(requests)
    verdict = _verdict(requests, rejections)
    return Preview(verdict, "file", summary, source, requests=requests, rejections=rejections)


def _of_email(
    contents: Contents,
    decision: Decision,
    checks: list[tuple[RawForm, Checked]],
    watched_subject: str,
    source: str,
) -> Preview:
    msg = contents.message
    if msg is None:
        summary = f"not a readable email: {contents.parse_error}"
        return Preview(Verdict.UNREADABLE, "email", summary, source, outcome=decision.kind)
    seen = EmailSeen(
        subject=msg.subject,
        from_addr=msg.from_addr,
        message_id=msg.message_id,
        subject_matches=subject_matches(msg.subject, watched_subject),
        attachments=tuple(
            AttachmentSeen(a.filename, a.content_type, len(a.data)) for a in msg.attachments
        ),
        defects=tuple(msg.defects),
    )
    requests = tuple(_judgement(form, c) for form, c in checks)
    rejections = _problems(contents.rejected)
    if contents.held and seen.subject_matches:  # held whole for staff, whatever else it holds
        verdict, summary = Verdict.REJECTED, f"held for staff, nothing filed: {contents.held}"
    else:
        verdict, summary = _email_verdict(decision, seen, requests, rejections)
    return Preview(verdict, "email", summary, source, decision.kind, seen, requests, rejections)


def _email_verdict(
    decision: Decision,
    seen: EmailSeen,
    requests: tuple[FormJudgement, ...],
    rejections: tuple[FileProblem, ...],
) -> tuple[Verdict, str]:
    if decision.kind is Kind.AUTOMATED:
        return Verdict.REJECTED, f"automatic mail, never answered: {decision.note}"
    if not seen.subject_matches:
        return Verdict.REJECTED, "the subject is not the one watched; it would be left alone"
    if decision.kind is Kind.ENQUIRY:
        return Verdict.REJECTED, "no form found: an enquiry, answered with the blank form"
    if decision.kind is Kind.UNREADABLE:
        return Verdict.REJECTED, "no readable form: " + rejections[0].reason
    if decision.kind is Kind.REPLY:  # judged by `judge` as services/replies.py files it
        return Verdict.ACCEPTED, f"a {decision.note}: threaded onto that request"
    return _new_requests(requests, rejections)


def _new_requests(
    requests: tuple[FormJudgement, ...], rejections: tuple[FileProblem, ...]
) -> tuple[Verdict, str]:
    """A new email's forms as a poll files them. A file beside them that cannot be read does
    not stop them: the poll files the requests and the acknowledgement names the file."""
    summary = _count(requests)
    if rejections:
        summary += f"; {_files(len(rejections))} not read, named in the acknowledgement"
    if requests and all(r.complete for r in requests):
        return Verdict.ACCEPTED, summary
    return Verdict.REJECTED, summary


def _files(n: int) -> str:
    return "1 other file" if n == 1 else f"{n} other files"
