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

from intake_bot.calendar import today_in_england
from intake_bot.domain.approvals import Approval as ApprovalInfo
from intake_bot.domain.rawform import RawForm
from intake_bot.domain.triage import ENQUIRIES, QUARANTINE, request_reference
from intake_bot.domain.validation import ValidationContext
from intake_bot.forms.files import read_file
from intake_bot.forms.message import parse_message
from intake_bot.forms.text import read_body
from intake_bot.forms.types import FileReading, MessageParseError, ParsedMessage
from intake_bot.ports import MessageRef
from intake_bot.services import filing
from intake_bot.services.notify import Notifier
from intake_bot.services.threading import file_reply, find_thread
from intake_bot.store.store import DuplicateError, Store, Unit
from intake_bot.domain.records import Approval, Attachment, Event, InboundMessage, saved_id

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    FILED = "filed"  # one or more requests
    ENQUIRY = "enquiry"  # no form: enquiries queue, how-to reply
    UNREADABLE = "unreadable"  # attachments we cannot read: quarantine queue, reply says why
    AUTOMATED = "automated"  # a robot: archived, never answered
    QUARANTINED = "quarantined"  # not an email we can read at all
    DUPLICATE = "duplicate"  # filed before (a replay after a crash, or a copy)
    REPLY = "reply"  # answers one of our emails: threaded onto its request


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
    authserv_id: str = ""
    require_dmarc_pass: bool = False
    _reference: tuple[frozenset[str], dict[str, ApprovalInfo]] | None = field(
        default=None, repr=False
    )

    def refresh_reference_data(self) -> None:
        """Reload organisations and approvals (once a poll, not once a message)."""
        with self.store.unit() as unit:
            ods = unit.known_ods()
            approvals = {a.reference: approval_info(a) for a in unit.approvals()}
        self._reference = (ods, approvals)

    def rules(self, now: datetime) -> filing.FilingRules:
        return filing.FilingRules(
            notifier=self.notifier,
            context=self.validation_context(now),
            targets=self.targets,
            allowed_domains=self.allowed_domains,
            authserv_id=self.authserv_id,
            require_dmarc_pass=self.require_dmarc_pass,
        )

    def validation_context(self, now: datetime) -> ValidationContext:
        if self._reference is None:
            self.refresh_reference_data()
        assert self._reference is not None
        ods, approvals = self._reference
        return ValidationContext(
            today=today_in_england(now),
            dscros=self.dscros,
            known_ods=ods,
            allowed_domains=self.allowed_domains,
            approvals=approvals,
            purposes_needing_approval=self.purposes_needing_approval,
        )


def approval_info(row: Approval) -> ApprovalInfo:
    """A stored approval as the validation rules see it."""
    return ApprovalInfo(
        reference=row.reference, title=row.title, purposes=tuple(row.purposes), expires=row.expires
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
        _received(unit, row, now, "ignored_automated", msg.automated)
        return IngestResult(Outcome.AUTOMATED, row.id)

    readings = [read_file(a.filename, a.content_type, a.data) for a in msg.attachments]
    forms: list[tuple[int | None, RawForm]] = [
        (index, form) for index, reading in enumerate(readings) for form in reading.forms
    ]
    rejected = [r for r in readings if r.rejection is not None]
    if not forms and not rejected:
        body_form = read_body(msg.text_body)
        if body_form is not None:
            forms.append((None, body_form))
    rules = intake.rules(now)

    thread = find_thread(unit, msg)
    if thread is not None:
        note = f"reply to {request_reference(saved_id(thread))}"
        inbound = _archive(unit, raw, ref, key, msg, now, Outcome.REPLY, None, note)
        ids = _store_attachments(unit, saved_id(inbound), msg, readings)
        _received(unit, inbound, now, "received", note)
        threaded = file_reply(
            unit,
            request=thread,
            inbound=inbound,
            msg=msg,
            forms=forms,
            attachment_ids=ids,
            rejected=rejected,
            rules=rules,
            now=now,
        )
        return IngestResult(Outcome.REPLY, inbound.id, tuple(threaded.references), threaded.replies)

    if forms:
        outcome, queue, note = Outcome.FILED, None, f"{len(forms)} form(s)"
    elif rejected:
        codes = "; ".join(f"{r.filename}: {r.rejection.code}" for r in rejected if r.rejection)
        outcome, queue, note = Outcome.UNREADABLE, QUARANTINE, codes
    else:
        outcome, queue, note = Outcome.ENQUIRY, ENQUIRIES, "no form found"
    inbound = _archive(unit, raw, ref, key, msg, now, outcome, queue, note)
    attachment_ids = _store_attachments(unit, saved_id(inbound), msg, readings)
    _received(unit, inbound, now, "received", f"{outcome.value}: {note}")
    if outcome is Outcome.FILED:
        filed = filing.file_forms(
            unit,
            inbound=inbound,
            msg=msg,
            forms=forms,
            attachment_ids=attachment_ids,
            rejected=rejected,
            rules=rules,
            now=now,
        )
        inbound.request_id = filed.first_id
        return IngestResult(outcome, inbound.id, tuple(filed.references), filed.replies)
    kind = "unreadable" if outcome is Outcome.UNREADABLE else "no_form"
    replies = filing.reply_without_request(unit, intake.notifier, msg, inbound, kind, rejected, now)
    return IngestResult(outcome, inbound.id, (), replies)


def _received(unit: Unit, inbound: InboundMessage, now: datetime, action: str, note: str) -> None:
    unit.add(Event(at=now, actor="intake-bot", action=action, inbound_id=inbound.id, note=note))


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
