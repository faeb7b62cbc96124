"""Enquiries and quarantined messages: emails that hold no request and wait for staff.

Staff read one (`show`: its headers, its text as plain text, its attachments, what the bot made
of it), answer its sender through the outbox, link it to a request as correspondence, close it,
or — when it sits in quarantine — release it: run it through intake again. Each is an audit
event that names who did it.
"""

from __future__ import annotations

import re
from typing import Protocol

from intake_bot.domain.records import InboundMessage, saved_id
from intake_bot.domain.triage import (
    QUARANTINE,
    message_reference,
    parse_message_reference,
    parse_request_reference,
    request_reference,
)
from intake_bot.domain.workflow import MessageError, UnknownMessageError
from intake_bot.domain.workflow_views import (
    Answered,
    AttachmentFile,
    Closed,
    Linked,
    MessageDetail,
    Released,
)
from intake_bot.forms.limits import ReadLimits
from intake_bot.forms.message import parse_message
from intake_bot.forms.readings import MessageParseError, ParsedMessage
from intake_bot.forms.rejections import shown
from intake_bot.ports import Clock, MessageRef, Store, Unit
from intake_bot.services import audit, history
from intake_bot.services.classify import PATIENT_DATA, read_message
from intake_bot.services.intake import IngestResult
from intake_bot.services.notify import Notifier


class Refiling(Protocol):
    """Intake as a release uses it: `ingest` runs raw bytes through it as a new message at
    `ref`, in its own transaction; `limits` and `own_addresses`, to read a message as it would
    (its forms by the form versions loaded now)."""

    limits: ReadLimits
    own_addresses: tuple[str, ...]

    def ingest(
        self, raw: bytes, ref: MessageRef, *, not_patient_data: bool = False
    ) -> IngestResult: ...


RELEASED = "released"  # the source name of a message released from quarantine
_HELD_FOR_PATIENT_DATA = (
    "{ref} is held because it seems to hold an NHS number: run again, it would be held again. "
    "If you have checked that the number is not one (a reference that happens to pass the "
    "check), release it with --not-patient-data; otherwise close it with a note, and the "
    "retention job purges its raw mail"
)
_STILL_UNREAD = (
    "{ref} still holds a form on a version no config/forms/ file maps ({forms}): add the file "
    "for that version (a restart of the worker reads it), then release it; or answer or close it"
)
BODY_CHARS = 20_000  # `show` prints at most this much of a body: a screenful or a few
TEXT_ANSWER = "staff_answer"  # templates/email/staff_answer.*: the staff's own words
# `message answer --template NAME`: the answers staff can send by name (templates/email/).
ANSWERS = {"send_form": "answer_send_form", "not_ours": "answer_not_ours"}
_WITH_BLANK_FORMS = {"send_form"}
# Control characters other than tab and newline, and the bidirectional overrides: a body is
# printed to a terminal, and must not move the cursor, recolour it or reorder what staff read.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitise(text: str) -> str:
    """Plain text that is safe to print: no control characters, no direction overrides."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


class Messages:
    """Enquiries and quarantine: the messages that hold no request, and what staff do to them."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        intake: Refiling,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.intake = intake
        self.reingest = intake.ingest

    def show(self, reference: str) -> MessageDetail:
        """One archived message: headers, plain-text body, attachments, outcome, trail."""
        with self.store.unit() as unit:
            message = find_message(unit, reference)
            mid = saved_id(message)
            parsed, unreadable = _parse(unit.messages.raw(mid))
            body = sanitise(parsed.text_body) if parsed else ""
            return MessageDetail(
                reference=message_reference(mid),
                outcome=message.outcome,
                queue=message.queue,
                awaiting_staff=_awaiting(message),
                note=message.note,
                request=request_reference(message.request_id) if message.request_id else None,
                mailbox=message.mailbox,
                filed_at=message.filed_at,
                sender=message.from_addr,
                sender_name=sanitise(message.from_name),
                reply_to=parsed.reply_to if parsed else None,
                to=parsed.to if parsed else (),
                subject=sanitise(message.subject),
                sent_at=message.sent_at,
                message_id=message.message_id,
                in_reply_to=parsed.in_reply_to if parsed else None,
                body=body[:BODY_CHARS],
                body_cut=max(len(body) - BODY_CHARS, 0),
                unreadable=unreadable,
                attachments=history.attachments(unit.messages.attachments(mid)),
                emails_out=history.emails_out(unit.outbox.for_(inbound_id=mid)),
                events=history.trail(unit.events.for_(inbound_id=mid)),
            )

    def answer(
        self, reference: str, *, actor: str, template: str | None = None, text: str | None = None
    ) -> Answered:
        """Email the sender a named answer (`ANSWERS`) or the staff's own text, threaded on
        their message, through the outbox; recorded as an event. The message stays where it
        is: close or link it when it needs nothing more."""
        kind, name = _answer_kind(template, text)
        now = self.clock()
        with self.store.unit() as unit:
            message = find_message(unit, reference)
            ref = message_reference(saved_id(message))
            parsed, _ = _parse(unit.messages.raw(saved_id(message)))
            to = ((parsed.reply_to if parsed else None) or message.from_addr).strip()
            if not to:
                raise MessageError(f"{ref} has no sender address to answer")
            row = self.notifier.queue(
                unit,
                kind=kind,
                to=[to],
                context=self._context(message, text or ""),
                now=now,
                in_reply_to=message.message_id,
                references=_thread(parsed, message),
                attach_blank_forms=name in _WITH_BLANK_FORMS,
                inbound_id=message.id,
                auto_submitted="no",  # a person wrote it: robots may answer it
            )
            audit.record(
                unit,
                action="answer",
                at=now,
                actor=actor,
                inbound=message,
                outbox=row,
                note=f"answered {to} ({name})",
            )
            return Answered(ref, to, row.subject, row.message_id, name)

    def link(self, reference: str, request: str, *, actor: str) -> Linked:
        """Attach a waiting message to a request as its correspondence; it leaves the queue."""
        now = self.clock()
        with self.store.unit() as unit:
            message = _waiting(unit, reference)
            request_id = parse_request_reference(request)
            found = unit.requests.get(request_id) if request_id is not None else None
            if found is None:
                raise MessageError(f"no request {request!r} (references look like LR-000123)")
            lr = request_reference(saved_id(found))
            before, outcome = message.queue, message.outcome
            # A reply threaded onto the request: `request show` lists it with its emails.
            message.request_id, message.queue, message.outcome = found.id, None, "reply"
            audit.record(
                unit,
                action="link",
                at=now,
                actor=actor,
                inbound=message,
                request=found,
                from_status=outcome,
                to_status="reply",
                note=f"linked to {lr} from the {before} queue",
            )
            return Linked(message_reference(saved_id(message)), lr, before)

    def close(self, reference: str, *, actor: str, note: str) -> Closed:
        """Take a waiting message out of its queue; `note` says why (it is recorded)."""
        if not note.strip():
            raise MessageError("say why with --note; it is kept in the audit trail")
        now = self.clock()
        with self.store.unit() as unit:
            message = _waiting(unit, reference)
            before = message.queue
            message.queue = None
            audit.record(unit, action="close", at=now, actor=actor, inbound=message, note=note)
            return Closed(message_reference(saved_id(message)), before)

    def attachment(self, reference: str, attachment_id: int) -> AttachmentFile:
        """One file of an archived message; NotFoundError for any other."""
        with self.store.unit() as unit:
            return history.file_of(unit, [find_message(unit, reference).id], attachment_id)

    def release(self, reference: str, *, actor: str, not_patient_data: bool = False) -> Released:
        """Run a quarantined message through intake again (after the cause was fixed).

        The archived bytes are filed as a new message; the quarantine entry is closed and
        names what came of it. Its Message-ID key is set aside first, or intake would take the
        new filing for a duplicate of it. A patient-data hold is released only when staff say
        that what passed the NHS number check is not one (`not_patient_data`): run again, it
        would only be held again.
        """
        with self.store.unit() as unit:
            message = _waiting(unit, reference)
            ref = message_reference(saved_id(message))
            if message.queue != QUARANTINE:
                raise MessageError(f"{ref} is not in quarantine (it is in {message.queue})")
            if message.note.lower().startswith(PATIENT_DATA) and not not_patient_data:
                raise MessageError(_HELD_FOR_PATIENT_DATA.format(ref=ref))
            raw, key = unit.messages.raw(saved_id(message)), message.dedupe_key
            unread = self._unread_versions(raw)
            if unread:  # run again, it would only be quarantined again and its sender re-told
                raise MessageError(_STILL_UNREAD.format(ref=ref, forms="; ".join(unread)))
            message.dedupe_key = _set_aside(ref, key)
        try:
            result = self.reingest(
                raw, MessageRef(RELEASED, ref), not_patient_data=not_patient_data
            )
        except Exception as exc:
            with self.store.unit() as unit:
                find_message(unit, ref).dedupe_key = key  # as it was: still in quarantine
            raise MessageError(f"{ref} could not be processed again: {exc}") from exc
        return self._settle_release(ref, result, actor, not_patient_data)

    def _unread_versions(self, raw: bytes) -> list[str]:
        """The forms of `raw` on a version no config/forms/ file maps, read as intake would."""
        intake = self.intake
        contents = read_message(raw, own_addresses=intake.own_addresses, limits=intake.limits)
        return [
            f"{shown(r.filename)}, version {why.form_version or '(none)'}"
            for r in contents.rejected
            if (why := r.unmapped_version) is not None
        ]

    def _settle_release(
        self, ref: str, result: IngestResult, actor: str, not_patient_data: bool
    ) -> Released:
        now = self.clock()
        requests = tuple(result.references)
        made = message_reference(result.inbound_id) if result.inbound_id else None
        with self.store.unit() as unit:
            message = find_message(unit, ref)
            message.queue = None
            first = parse_request_reference(requests[0]) if requests else None
            message.request_id = message.request_id or first
            outcome = f"{result.outcome}" + (f" as {made}" if made else "")
            outcome += f" ({', '.join(requests)})" if requests else ""
            if not_patient_data:  # staff overrode the NHS number check: say who, in the trail
                outcome += f"; {actor} confirmed it holds no NHS number"
            audit.record(unit, action="release", at=now, actor=actor, inbound=message, note=outcome)
            if result.inbound_id is not None:
                note = f"released from quarantine ({ref}) by {actor}"
                audit.record(
                    unit,
                    action="released",
                    at=now,
                    actor=actor,
                    inbound=result.inbound_id,
                    note=note,
                )
        return Released(ref, str(result.outcome), made, requests)

    def _context(self, message: InboundMessage, text: str) -> dict[str, object]:
        context = self.notifier.base_context(message.from_name)
        subject = message.subject.strip()
        context.update(
            {
                "text": text,
                "paragraphs": [p.strip() for p in text.split("\n\n") if p.strip()],
                "original_subject": subject,
                "subject_prefix": "" if subject.lower().startswith("re:") else "Re: ",
                "form_filenames": [f.filename for f in self.notifier.blank_forms()],
            }
        )
        return context


def find_message(unit: Unit, reference: str) -> InboundMessage:
    """The archived message `reference` names (MSG-12, msg-12 or 12)."""
    inbound_id = parse_message_reference(reference)
    message = unit.messages.get(inbound_id) if inbound_id is not None else None
    if message is None:
        raise UnknownMessageError(f"no message {reference!r} (ids look like MSG-12)")
    return message


def _awaiting(message: InboundMessage) -> bool:
    return message.queue is not None and message.request_id is None


def _waiting(unit: Unit, reference: str) -> InboundMessage:
    message = find_message(unit, reference)
    if not _awaiting(message):
        ref = message_reference(saved_id(message))
        where = f"belongs to {request_reference(message.request_id)}" if message.request_id else ""
        raise MessageError(f"{ref} is not awaiting staff" + (f": it {where}" if where else ""))
    return message


def _answer_kind(template: str | None, text: str | None) -> tuple[str, str]:
    """(template kind, the name the event records) for `--template NAME` or `--text TEXT`."""
    if (template is None) == (text is None):
        raise MessageError("give either --template NAME or --text TEXT")
    if text is not None:
        if not text.strip():
            raise MessageError("--text is empty")
        return TEXT_ANSWER, "text"
    assert template is not None
    name = template.strip().lower().replace("-", "_")
    if name not in ANSWERS:
        raise MessageError(f"no answer {template!r}: one of {', '.join(sorted(ANSWERS))}")
    return ANSWERS[name], name


def _thread(parsed: ParsedMessage | None, message: InboundMessage) -> list[str]:
    """References that put the answer in the sender's thread: theirs, then their message."""
    refs = [*(parsed.references if parsed else ()), message.message_id or ""]
    return [r for r in dict.fromkeys(refs) if r]


def _parse(raw: bytes) -> tuple[ParsedMessage | None, str]:
    try:
        return parse_message(raw), ""
    except MessageParseError as exc:
        return None, str(exc)


def _set_aside(reference: str, key: str) -> str:
    prefix = f"{RELEASED}:{reference}:"
    return key if key.startswith(prefix) else prefix + key
