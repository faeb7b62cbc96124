"""ingest_message: one raw email in, everything derived from it filed in ONE transaction.

The archived message, its attachments, the requests, the audit events and the replies (outbox
rows) commit together or not at all (DESIGN invariant 1). A message already filed — recognised by
its mailbox location or by its Message-ID/hash — is reported as such and filed nothing again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from intake_bot.calendar import add_working_days
from intake_bot.domain.approvals import Approval as ApprovalInfo
from intake_bot.domain.fields import RequestType
from intake_bot.domain.rawform import RawForm
from intake_bot.domain.status import Status
from intake_bot.domain.triage import ENQUIRIES, QUARANTINE, queue_for, request_reference
from intake_bot.domain.validation import Flag, Validation, ValidationContext, validate
from intake_bot.forms.files import read_file
from intake_bot.forms.message import parse_message
from intake_bot.forms.text import read_body
from intake_bot.forms.types import FileReading, MessageParseError, ParsedMessage
from intake_bot.ports import MessageRef
from intake_bot.services.notify import Notifier, summary_rows, type_label
from intake_bot.store.store import DuplicateError, Store, Unit
from intake_bot.store.tables import Attachment, Event, InboundMessage, Request

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    FILED = "filed"  # one or more requests
    ENQUIRY = "enquiry"  # no form: enquiries queue, how-to reply
    UNREADABLE = "unreadable"  # attachments we cannot read: quarantine queue, reply says why
    AUTOMATED = "automated"  # a robot: archived, never answered
    QUARANTINED = "quarantined"  # not an email we can read at all
    DUPLICATE = "duplicate"  # filed before (a replay after a crash, or a copy)


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    inbound_id: int | None
    references: tuple[str, ...] = ()
    replies: int = 0

    @property
    def move_to_quarantine(self) -> bool:
        return self.outcome is Outcome.QUARANTINED


@dataclass
class Intake:
    """What ingesting needs: the store, the notifier and the rules that come from settings."""

    store: Store
    notifier: Notifier
    dscros: tuple[str, ...]
    allowed_domains: tuple[str, ...] = ()
    purposes_needing_approval: frozenset[str] = frozenset(
        {"Invoice validation", "Risk stratification"}
    )
    own_addresses: tuple[str, ...] = ()
    # Working days staff have to act, by request type (and "verification").
    targets: dict[str, int] = field(default_factory=lambda: {"new": 10, "change": 10, "end": 5})
    _reference: tuple[frozenset[str], dict[str, ApprovalInfo]] | None = field(
        default=None, repr=False
    )

    def refresh_reference_data(self) -> None:
        """Reload organisations and approvals (once a poll, not once a message)."""
        with self.store.unit() as unit:
            ods = unit.known_ods()
            approvals = {
                a.reference: ApprovalInfo(
                    reference=a.reference,
                    title=a.title,
                    purposes=tuple(a.purposes),
                    expires=a.expires,
                )
                for a in unit.approvals()
            }
        self._reference = (ods, approvals)

    def validation_context(self, now: datetime) -> ValidationContext:
        if self._reference is None:
            self.refresh_reference_data()
        assert self._reference is not None
        ods, approvals = self._reference
        return ValidationContext(
            today=now.date(),
            dscros=self.dscros,
            known_ods=ods,
            allowed_domains=self.allowed_domains,
            approvals=approvals,
            purposes_needing_approval=self.purposes_needing_approval,
        )


def dedupe_key(message_id: str | None, raw: bytes) -> str:
    if message_id and message_id.strip("<> "):
        return message_id.strip()[:1000]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def ingest_message(raw: bytes, ref: MessageRef, *, intake: Intake, now: datetime) -> IngestResult:
    """File one email and queue its replies, all in one transaction. Never files twice."""
    try:
        msg: ParsedMessage | None = parse_message(raw, own_addresses=intake.own_addresses)
        parse_error = ""
    except MessageParseError as exc:
        msg, parse_error = None, str(exc)
    key = dedupe_key(msg.message_id if msg else None, raw)
    try:
        with intake.store.unit() as unit:
            existing = unit.find_inbound(ref, key)
            if existing is not None:
                return IngestResult(Outcome.DUPLICATE, existing.id)
            if msg is None:
                return _quarantine(unit, raw, ref, key, parse_error, now)
            return _file(unit, raw, ref, key, msg, intake, now)
    except DuplicateError:
        # Another worker filed the same message between our check and our commit.
        with intake.store.unit() as unit:
            existing = unit.find_inbound(ref, key)
        return IngestResult(Outcome.DUPLICATE, existing.id if existing else None)


def _archive(
    unit: Unit,
    raw: bytes,
    ref: MessageRef,
    key: str,
    msg: ParsedMessage | None,
    now: datetime,
    outcome: Outcome,
    queue: str | None,
    note: str,
) -> InboundMessage:
    row = unit.add(
        InboundMessage(
            dedupe_key=key,
            mailbox=ref.mailbox,
            uidvalidity=ref.uidvalidity,
            uid=ref.uid,
            message_id=msg.message_id if msg else None,
            sha256=hashlib.sha256(raw).hexdigest(),
            size=len(raw),
            raw=raw,
            from_addr=(msg.from_addr if msg else "")[:320],
            from_name=(msg.from_name if msg else "")[:400],
            subject=(msg.subject if msg else "")[:2000],
            sent_at=msg.date if msg else None,
            filed_at=now,
            outcome=outcome.value,
            queue=queue,
            note=note[:4000],
        )
    )
    unit.flush()
    return row


def _quarantine(
    unit: Unit, raw: bytes, ref: MessageRef, key: str, reason: str, now: datetime
) -> IngestResult:
    row = _archive(unit, raw, ref, key, None, now, Outcome.QUARANTINED, QUARANTINE, reason)
    unit.add(
        Event(at=now, actor="intake-bot", action="quarantined", inbound_id=row.id, note=reason)
    )
    return IngestResult(Outcome.QUARANTINED, row.id)


def quarantine_poison(
    store: Store, raw: bytes, ref: MessageRef, reason: str, now: datetime
) -> int | None:
    """Archive a message that failed too often, so that staff see it and the poll moves on."""
    key = dedupe_key(None, raw)
    try:
        with store.unit() as unit:
            existing = unit.find_inbound(ref, key)
            if existing is not None:
                return existing.id
            return _quarantine(unit, raw, ref, key, reason, now).inbound_id
    except DuplicateError:
        return None


def _file(
    unit: Unit,
    raw: bytes,
    ref: MessageRef,
    key: str,
    msg: ParsedMessage,
    intake: Intake,
    now: datetime,
) -> IngestResult:
    if msg.automated:
        row = _archive(unit, raw, ref, key, msg, now, Outcome.AUTOMATED, None, msg.automated)
        unit.add(
            Event(
                at=now,
                actor="intake-bot",
                action="ignored_automated",
                inbound_id=row.id,
                note=msg.automated,
            )
        )
        return IngestResult(Outcome.AUTOMATED, row.id)

    readings = [read_file(a.filename, a.content_type, a.data) for a in msg.attachments]
    forms: list[tuple[int | None, RawForm]] = []
    for index, reading in enumerate(readings):
        forms.extend((index, form) for form in reading.forms)
    rejected = [r for r in readings if r.rejection is not None]
    if not forms and not rejected:
        body_form = read_body(msg.text_body)
        if body_form is not None:
            forms.append((None, body_form))

    if forms:
        outcome, queue, note = Outcome.FILED, None, f"{len(forms)} form(s)"
    elif rejected:
        outcome, queue, note = (
            Outcome.UNREADABLE,
            QUARANTINE,
            "; ".join(f"{r.filename}: {r.rejection.code}" for r in rejected if r.rejection),
        )
    else:
        outcome, queue, note = Outcome.ENQUIRY, ENQUIRIES, "no form found"
    inbound = _archive(unit, raw, ref, key, msg, now, outcome, queue, note)
    assert inbound.id is not None
    attachment_ids = _store_attachments(unit, inbound.id, msg, readings)
    unit.add(
        Event(
            at=now,
            actor="intake-bot",
            action="received",
            inbound_id=inbound.id,
            note=f"{outcome.value}: {note}",
        )
    )

    if outcome is Outcome.FILED:
        ctx = intake.validation_context(now)
        refs: list[str] = []
        replies = 0
        first_id: int | None = None
        for att_index, form in forms:
            checked = validate(form, ctx)
            if intake.allowed_domains and not _domain_allowed(
                msg.from_addr, intake.allowed_domains
            ):
                checked.flags.append(_sender_flag(msg.from_addr))
            target = (
                intake.targets.get(checked.request_type.value) if checked.request_type else None
            )
            request = _add_request(
                unit,
                inbound,
                attachment_ids.get(att_index) if att_index is not None else None,
                checked,
                msg,
                now,
                target,
            )
            refs.append(request_reference(_id(request)))
            first_id = first_id or request.id
            replies += _acknowledge(
                unit, intake.notifier, msg, inbound, request, checked, rejected, now
            )
        inbound.request_id = first_id
        return IngestResult(outcome, inbound.id, tuple(refs), replies)

    kind = "unreadable" if outcome is Outcome.UNREADABLE else "no_form"
    replies = _reply_without_request(unit, intake.notifier, msg, inbound, kind, rejected, now)
    return IngestResult(outcome, inbound.id, (), replies)


def _id(request: Request) -> int:
    assert request.id is not None
    return request.id


def _domain_allowed(address: str, domains: Sequence[str]) -> bool:
    host = address.rpartition("@")[2].lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def _sender_flag(address: str) -> Flag:
    return Flag(None, f"sent from {address or 'an unknown address'}, outside the allowed domains")


def _store_attachments(
    unit: Unit, inbound_id: int, msg: ParsedMessage, readings: Sequence[FileReading]
) -> dict[int, int]:
    ids: dict[int, int] = {}
    for index, (att, reading) in enumerate(zip(msg.attachments, readings, strict=True)):
        if reading.forms:
            outcome, note = "form", f"{len(reading.forms)} form(s)"
        elif reading.rejection is not None:
            outcome, note = "rejected", reading.rejection.reason
        else:
            outcome, note = "ignored", ""
        row = unit.add(
            Attachment(
                inbound_id=inbound_id,
                filename=att.filename[:500],
                content_type=att.content_type[:200],
                size=len(att.data),
                sha256=hashlib.sha256(att.data).hexdigest(),
                data=att.data,
                outcome=outcome,
                note=note[:2000],
            )
        )
        unit.flush()
        assert row.id is not None
        ids[index] = row.id
    return ids


def _add_request(
    unit: Unit,
    inbound: InboundMessage,
    attachment_id: int | None,
    checked: Validation,
    msg: ParsedMessage,
    now: datetime,
    request_type_target: int | None = None,
) -> Request:
    status = Status.TRIAGED if checked.complete else Status.INCOMPLETE
    due_on = None
    if checked.complete and request_type_target is not None:
        due_on = add_working_days(now.date(), request_type_target)
    values = checked.values_json()
    dscro = values.get("dscro")
    request_type: RequestType | None = checked.request_type
    assert inbound.id is not None
    request = unit.add(
        Request(
            inbound_id=inbound.id,
            attachment_id=attachment_id,
            source=checked.source[:500],
            request_type=request_type.value if request_type else None,
            status=status.value,
            queue=queue_for(
                dscro if isinstance(dscro, str) else None, request_type, checked.complete
            ),
            dscro=dscro if isinstance(dscro, str) else None,
            values=values,
            problems=[
                {"field": p.field_key, "label": p.label, "found": p.found, "message": p.message}
                for p in checked.problems
            ],
            flags=[{"field": f.field_key, "message": f.message} for f in checked.flags],
            requester_email=str(values.get("requester_email") or "")[:320],
            sender_email=msg.from_addr[:320],
            commissioner_ods=str(values.get("commissioner_ods") or "")[:10] or None,
            created_at=now,
            updated_at=now,
            due_on=due_on,
        )
    )
    unit.flush()
    unit.add(
        Event(
            at=now,
            actor="intake-bot",
            action="status",
            request_id=request.id,
            inbound_id=inbound.id,
            from_status=Status.RECEIVED.value,
            to_status=status.value,
            note=f"{len(checked.problems)} problem(s), {len(checked.flags)} flag(s)",
        )
    )
    return request


def _reply_to(msg: ParsedMessage) -> str:
    """Where an automatic reply goes; "" when there is nowhere or the sender asked for none."""
    if msg.wants_no_auto_reply:
        return ""
    return (msg.reply_to or msg.from_addr or "").strip()


def _acknowledge(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    inbound: InboundMessage,
    request: Request,
    checked: Validation,
    rejected: Sequence[FileReading],
    now: datetime,
) -> int:
    to = _reply_to(msg)
    if not to or not notifier.may_auto_reply(unit, to, now):
        unit.add(
            Event(
                at=now,
                actor="intake-bot",
                action="reply_suppressed",
                request_id=request.id,
                inbound_id=inbound.id,
                note=_suppressed_why(msg, to),
            )
        )
        return 0
    context = notifier.base_context(msg.from_name)
    context["request"] = {
        "reference": request_reference(_id(request)),
        "type_label": type_label(request.request_type),
        "source": request.source,
        "office": request.dscro or "DSfC",
        "due_on": request.due_on.strftime("%d/%m/%Y") if request.due_on else "",
        "summary": summary_rows(request.values),
        "problems": [p.message for p in checked.problems],
    }
    context["rejected_files"] = _rejections(rejected)
    kind = "ack_valid" if checked.complete else "ack_problems"
    notifier.queue(
        unit,
        kind=kind,
        to=[to],
        context=context,
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
        request_id=request.id,
        inbound_id=inbound.id,
    )
    return 1


def _rejections(rejected: Sequence[FileReading]) -> list[dict[str, str]]:
    return [{"filename": r.filename, "reason": r.rejection.reason} for r in rejected if r.rejection]


def _reply_without_request(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    inbound: InboundMessage,
    kind: str,
    rejected: Sequence[FileReading],
    now: datetime,
) -> int:
    to = _reply_to(msg)
    if not to or not notifier.may_auto_reply(unit, to, now):
        unit.add(
            Event(
                at=now,
                actor="intake-bot",
                action="reply_suppressed",
                inbound_id=inbound.id,
                note=_suppressed_why(msg, to),
            )
        )
        return 0
    context = notifier.base_context(msg.from_name)
    context["rejected_files"] = _rejections(rejected)
    context["form_filenames"] = [f.filename for f in notifier.blank_forms()]
    notifier.queue(
        unit,
        kind=kind,
        to=[to],
        context=context,
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
        attach_blank_forms=True,
        inbound_id=inbound.id,
    )
    return 1


def _suppressed_why(msg: ParsedMessage, to: str) -> str:
    if msg.wants_no_auto_reply:
        return "the sender asked for no automatic replies (X-Auto-Response-Suppress)"
    return "no address to reply to" if not to else "rate limit of automatic replies reached"
