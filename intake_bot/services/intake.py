"""Intake: one raw email in, everything derived from it filed in ONE transaction.

The archived message, its attachments, the requests, the audit events and the replies (outbox
rows) commit together or not at all (DESIGN invariant 1). A message already filed (mailbox place
or Message-ID/hash known) files nothing again; `classify` decides what it is, for `parse` too.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from intake_bot.domain.approvals import Approval as ApprovalInfo
from intake_bot.domain.records import Approval, InboundMessage, Organisation, saved_id
from intake_bot.domain.validation import ValidationContext
from intake_bot.forms.limits import DEFAULT_LIMITS, ReadLimits
from intake_bot.forms.readings import ParsedMessage
from intake_bot.ports import Clock, DuplicateError, MessageRef, Store, StoreError, Unit
from intake_bot.ports_reads import OpenParseReads, ParseReads
from intake_bot.services import audit
from intake_bot.services.answers import reply_without_request, suppressed
from intake_bot.services.archive import (
    archive,
    dedupe_key,
    flag_collision,
    identify,
    note_collision,
    store_attachments,
)
from intake_bot.services.classify import (
    Contents,
    Decision,
    Kind,
    answers_our_mail,
    classify,
    examine,
    read_message,
    typed_correction,
)
from intake_bot.services.filing import CheckRules, FilingRules, file_forms
from intake_bot.services.held import hold_patient_data, note_automatic_answer
from intake_bot.services.notify import Notifier
from intake_bot.services.preview import Preview, judge
from intake_bot.services.replies import file_reply
from intake_bot.working_days import today_in_england

log = logging.getLogger(__name__)
__all__ = ["IngestResult", "Intake", "dedupe_key", "quarantine_poison"]

ConfigReference = Callable[[], tuple[Sequence[Organisation], Sequence[Approval]]]


@dataclass(frozen=True)
class IngestResult:
    outcome: Kind  # what the message is; DUPLICATE if it was filed before
    inbound_id: int | None
    references: tuple[str, ...] = ()
    replies: int = 0

    @property
    def move_to_quarantine(self) -> bool:
        return self.outcome is Kind.QUARANTINED


@dataclass(frozen=True)
class ReferenceData:
    """Organisations and s251 approvals as validation reads them, and where they came from."""

    known_ods: frozenset[str]
    approvals: Mapping[str, ApprovalInfo]
    source: str  # "database", or "config" (the files in config/)

    @classmethod
    def of(
        cls, orgs: Sequence[Organisation], approvals: Sequence[Approval], source: str
    ) -> ReferenceData:
        return cls(
            frozenset(o.ods for o in orgs),
            {a.reference: approval_info(a) for a in approvals},
            source,
        )


def _from_database(unit: ParseReads) -> ReferenceData:
    data = ReferenceData.of(unit.reference.organisations(), unit.reference.approvals(), "database")
    return replace(data, known_ods=unit.organisations.index(data.known_ods))  # and ODS's list


def approval_info(row: Approval) -> ApprovalInfo:
    """A stored approval as the validation rules see it."""
    return ApprovalInfo(
        reference=row.reference, title=row.title, purposes=tuple(row.purposes), expires=row.expires
    )


@dataclass(kw_only=True)
class Intake:
    """Files emails (`ingest`, `quarantine`) and previews them (`parse`) by the same rules."""

    store: Store
    parse_reads: OpenParseReads | None = None  # `parse` reads through it, if not store.unit
    notifier: Notifier
    clock: Clock
    dscros: tuple[str, ...]
    dscro_aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # "M&E"
    watched_subject: str = ""
    allowed_domains: tuple[str, ...] = ()
    purposes_needing_approval: frozenset[str] = frozenset(
        {"Invoice validation", "Risk stratification"}
    )
    own_addresses: tuple[str, ...] = ()
    # Working days staff have to act, by request type (and "verification").
    targets: Mapping[str, int] = field(default_factory=lambda: {"new": 10, "change": 10, "end": 5})
    authserv_id: str = ""
    require_dmarc_pass: bool = False
    # `parse` takes reference data from config/ when no database is present (no SQLite file yet).
    config_reference: ConfigReference = field(default=lambda: ((), ()))
    database_present: Callable[[], bool] = field(default=lambda: True)
    # Who is alerted to patient data, by office; else the enquiries mailbox (which staff read).
    office_staff: Mapping[str, Sequence[str]] = field(default_factory=dict)
    limits: ReadLimits = DEFAULT_LIMITS  # bytes, rows and seconds a message may cost
    _reference: ReferenceData | None = field(default=None, init=False, repr=False)

    def refresh_reference_data(self) -> None:
        """Reload organisations and approvals (once a poll, not once a message)."""
        with self.store.unit() as unit:
            self._reference = _from_database(unit)

    def ingest(
        self,
        raw: bytes,
        ref: MessageRef,
        *,
        now: datetime | None = None,
        default_office: str | None = None,
        not_patient_data: bool = False,
        contents: Contents | None = None,
    ) -> IngestResult:
        """File one email and queue its replies, all in one transaction. Never files twice.

        `default_office`: the regional office of the mailbox it came to, for forms naming none.
        `not_patient_data`: staff have checked that what passed the NHS number check is not one.
        `contents`: `raw` as a poll's reader process read it already (else it is read here).
        """
        now = now or self.clock()
        own, limits = self.own_addresses, self.limits
        contents = contents or read_message(raw, own_addresses=own, limits=limits)
        if not_patient_data:
            contents = replace(contents, patient_data=())
        message_id = contents.message.message_id if contents.message else None
        digest = hashlib.sha256(raw).hexdigest()
        try:
            with self.store.unit() as unit:
                found = identify(unit, ref, message_id, raw, digest)
                if found.duplicate is not None:
                    return IngestResult(Kind.DUPLICATE, found.duplicate.id)
                filing = _Filing(raw, ref, found.key, digest, contents, now, found.collided)
                return self._file(unit, filing, default_office)
        except DuplicateError:
            # Another worker filed the same message between our check and our commit.
            with self.store.unit() as unit:
                found = identify(unit, ref, message_id, raw, digest)
            duplicate = found.duplicate
            return IngestResult(Kind.DUPLICATE, duplicate.id if duplicate else None)

    def quarantine(
        self, raw: bytes, ref: MessageRef, reason: str, *, now: datetime | None = None
    ) -> int | None:
        """Archive a message that failed too often, so that staff see it and the poll moves on."""
        return quarantine_poison(self.store, raw, ref, reason, now or self.clock())

    def parse(self, name: str, data: bytes) -> Preview:
        """What a poll would make of `data` (a raw email or one form file), filing nothing.
        Reference data comes from the database when there is one to read, else from config/;
        the preview says which (`Preview.reference_data`)."""
        now = self.clock()
        try:
            if not self.database_present():
                raise StoreError("no database")
            with (self.parse_reads or self.store.unit)() as unit:
                reference = _from_database(unit)
                return judge(
                    name,
                    data,
                    rules=self._check_rules(now, reference),
                    watched_subject=self.watched_subject,
                    own_addresses=self.own_addresses,
                    requests=unit.requests,
                    register=unit.register,
                    contacts=unit.reference,
                    reference_data=reference.source,
                    limits=self.limits,
                )
        except StoreError as exc:
            log.debug("parse: reference data from config/ (database: %s)", type(exc).__name__)
        orgs, approvals = self.config_reference()
        reference = ReferenceData.of(orgs, approvals, "config")
        return judge(
            name,
            data,
            rules=self._check_rules(now, reference),
            watched_subject=self.watched_subject,
            own_addresses=self.own_addresses,
            reference_data=reference.source,
            limits=self.limits,
        )

    def rules(self, now: datetime, default_office: str | None = None) -> FilingRules:
        """The rules a message is filed by at `now` (reference data as of the last refresh)."""
        if self._reference is None:
            self.refresh_reference_data()
        assert self._reference is not None
        return FilingRules(
            checks=self._check_rules(now, self._reference, default_office),
            notifier=self.notifier,
            targets=self.targets,
        )

    def _check_rules(
        self, now: datetime, reference: ReferenceData, default_office: str | None = None
    ) -> CheckRules:
        context = ValidationContext(
            today=today_in_england(now),
            dscros=self.dscros,
            dscro_aliases=self.dscro_aliases,
            known_ods=reference.known_ods,
            allowed_domains=self.allowed_domains,
            approvals=reference.approvals,
            purposes_needing_approval=self.purposes_needing_approval,
        )
        return CheckRules(
            context=context,
            allowed_domains=self.allowed_domains,
            authserv_id=self.authserv_id,
            require_dmarc_pass=self.require_dmarc_pass,
            default_office=default_office,
        )

    def _file(self, unit: Unit, f: _Filing, default_office: str | None = None) -> IngestResult:
        contents, now = f.contents, f.now
        decision, thread = examine(contents, unit.requests)
        msg = contents.message
        if msg is None:
            return _quarantine(unit, f.raw, f.ref, f.key, decision, now, f.digest)
        inbound = f.archive(unit, msg, decision)
        if f.collided is not None:
            note_collision(unit, inbound, f.collided, now)
        if contents.patient_data:
            return self._hold(unit, inbound, msg, contents, default_office, now)
        if decision.kind is Kind.AUTOMATED:
            _received(unit, inbound, now, "ignored_automated", decision.note)
            note_automatic_answer(unit, msg, f.raw, inbound, now)
            return IngestResult(decision.kind, inbound.id)
        ids = store_attachments(unit, saved_id(inbound), msg, contents.readings)
        rules = self.rules(now, default_office)
        if thread is not None and not contents.held:  # held whole, a reply as a new email
            _received(unit, inbound, now, "received", decision.note)
            threaded = file_reply(  # a copy under an earlier message's Message-ID: not applied
                unit,
                request=thread,
                inbound=inbound,
                msg=msg,
                forms=() if f.collided else contents.forms,
                attachment_ids=ids,
                rejected=contents.rejected,
                rules=rules,
                now=now,
                answers_ours=answers_our_mail(msg, self.own_addresses, unit.requests),
                typed=None if f.collided else typed_correction(contents, self.limits),
            )
            if f.collided is not None:
                flag_collision(unit, inbound, f.collided)
            return IngestResult(
                decision.kind, inbound.id, tuple(threaded.references), threaded.replies
            )
        _received(unit, inbound, now, "received", f"{decision.kind.value}: {decision.note}")
        if decision.kind is Kind.FILED:
            filed = file_forms(
                unit,
                inbound=inbound,
                msg=msg,
                forms=contents.forms,
                attachment_ids=ids,
                rejected=contents.rejected,
                rules=rules,
                now=now,
            )
            unit.messages.link_request(inbound, filed.first_id)
            if f.collided is not None:
                flag_collision(unit, inbound, f.collided)
            return IngestResult(decision.kind, inbound.id, tuple(filed.references), filed.replies)
        if answers_our_mail(msg, self.own_addresses, unit.requests):
            # An autoresponder's answer to our how-to, most likely: a second reply starts a loop.
            why = "answers one of our emails without a form: no second automatic reply"
            suppressed(unit, now, inbound=inbound, why=why)
            return IngestResult(decision.kind, inbound.id)
        kind = "unreadable" if decision.kind is Kind.UNREADABLE else "no_form"
        replies = reply_without_request(
            unit, self.notifier, msg, inbound, kind, contents.rejected, now, held=contents.held
        )
        return IngestResult(decision.kind, inbound.id, (), replies)

    def _hold(
        self,
        unit: Unit,
        inbound: InboundMessage,
        msg: ParsedMessage,
        contents: Contents,
        office: str | None,
        now: datetime,
    ) -> IngestResult:
        """Patient data: quarantined, sender warned, staff alerted (services/held.py)."""
        if len(contents.readings) == len(msg.attachments):
            store_attachments(unit, saved_id(inbound), msg, contents.readings)
        enquiries = (self.notifier.letterhead.from_address,)
        staff = tuple(self.office_staff.get(office or "", ())) or enquiries
        may_answer = not answers_our_mail(msg, self.own_addresses, unit.requests)
        replies = hold_patient_data(
            unit,
            self.notifier,
            msg,
            inbound,
            where=contents.patient_data,
            staff=staff,
            may_answer=may_answer,
            now=now,
        )
        return IngestResult(Kind.QUARANTINED, inbound.id, (), replies)


@dataclass(frozen=True)
class _Filing:
    """One message on its way into the store: what was read and how it will be keyed."""

    raw: bytes
    ref: MessageRef
    key: str
    digest: str
    contents: Contents
    now: datetime
    collided: InboundMessage | None = None  # an earlier message with its Message-ID

    def archive(self, unit: Unit, msg: ParsedMessage | None, decision: Decision) -> InboundMessage:
        return archive(
            unit,
            self.raw,
            self.ref,
            self.key,
            msg,
            digest=self.digest,
            filed_at=self.now,
            outcome=decision.kind.value,
            queue=decision.queue,
            note=decision.note,
        )


def quarantine_poison(
    store: Store, raw: bytes, ref: MessageRef, reason: str, now: datetime
) -> int | None:
    """Archive a message that failed too often, so that staff see it and the poll moves on."""
    key = dedupe_key(None, raw)
    try:
        with store.unit() as unit:
            existing = unit.messages.find(ref, key)
            if existing is not None:
                return existing.id
            decision = classify(Contents(None, parse_error=reason))
            digest = hashlib.sha256(raw).hexdigest()
            return _quarantine(unit, raw, ref, key, decision, now, digest).inbound_id
    except DuplicateError:
        return None


def _quarantine(
    unit: Unit,
    raw: bytes,
    ref: MessageRef,
    key: str,
    decision: Decision,
    now: datetime,
    digest: str,
) -> IngestResult:
    inbound = _Filing(raw, ref, key, digest, Contents(None), now).archive(unit, None, decision)
    audit.record(unit, action="quarantined", at=now, inbound=inbound, note=decision.note)
    return IngestResult(Kind.QUARANTINED, inbound.id)


def _received(unit: Unit, inbound: InboundMessage, now: datetime, action: str, note: str) -> None:
    audit.record(unit, action=action, at=now, inbound=inbound, note=note)
