"""Staff move requests along: change a request's status, assign it, show it.

Each change is one transaction: the new status, its audit event, the register change an approval
makes, and the email that tells the requester (DESIGN invariants 2 and 6).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from intake_bot.domain.records import Request, saved_id
from intake_bot.domain.status import LABELS, NEEDS_NOTE, TOLD, Status, check_transition
from intake_bot.domain.triage import parse_request_reference, request_reference
from intake_bot.domain.workflow import LifecycleError, UnknownRequestError
from intake_bot.domain.workflow_views import (
    Assignment,
    AttachmentFile,
    LegalBasis,
    RequestDetail,
    StatusChange,
    check_legal_basis,
)
from intake_bot.ports import Clock, Store, Unit
from intake_bot.services import audit
from intake_bot.services.filing import place, record_status
from intake_bot.services.history import file_of
from intake_bot.services.notify import Notifier, display_value, summary_rows, type_label
from intake_bot.services.ods_reviews import follow_register
from intake_bot.services.register import RegisterError, apply_approved_request
from intake_bot.services.request_view import request_detail
from intake_bot.working_days import today_in_england

NOTE_CHARS = 4000  # an internal note, as the audit trail keeps it


class Requests:
    """The requests use case: what staff do to one request."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        targets: Mapping[str, int],
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.targets = dict(targets)  # working days to act, by request type

    def show(self, reference: str) -> RequestDetail:
        """Everything about one request, including whether its legal basis holds."""
        now = self.clock()
        with self.store.unit() as unit:
            return request_detail(unit, find_request(unit, reference), today_in_england(now))

    def change_status(
        self, reference: str, target: Status, *, actor: str, note: str = ""
    ) -> StatusChange:
        """Move a request to `target`; refuses an illegal transition with the reason.

        Approval applies the request to the register and reports a relationship that would
        have no legal basis (an s251 approval expired, or expiring before it takes effect):
        staff are warned, the approval stands. The requester is emailed when `TOLD` says so.
        """
        now = self.clock()
        with self.store.unit() as unit:
            request = find_request(unit, reference)
            ref = request_reference(saved_id(request))
            current = Status(request.status)
            refused = check_transition(current, target)
            if refused is not None:
                raise LifecycleError(f"{ref}: {refused.message}")
            if target in NEEDS_NOTE and not note.strip():
                raise LifecycleError(f"{ref}: say why with --note; the requester is told")
            lcr, basis = None, None
            if target is Status.APPROVED:
                lcr, basis = self._approve(unit, request, now, actor)
            place(request, target, now, self.targets)
            record_status(unit, request, current, target, now, actor, note)
            queued = target in TOLD and self._tell(unit, request, target, note, lcr, now)
        if lcr is not None:  # the relationship may name an organisation that has closed
            follow_register(self.store, self.notifier, now, [lcr])
        return StatusChange(ref, current.value, target.value, lcr, queued, basis)

    def add_note(self, reference: str, text: str, *, actor: str) -> str:
        """An internal note on a request: kept in its audit trail for staff, never emailed.
        The request's reference."""
        if not text.strip():
            raise LifecycleError("the note is empty")
        if len(text) > NOTE_CHARS:  # the audit trail keeps this much: refused, never cut
            raise LifecycleError(f"the note is over {NOTE_CHARS:,} characters")
        with self.store.unit() as unit:
            request = find_request(unit, reference)
            audit.record(
                unit, action="note", at=self.clock(), actor=actor, request=request, note=text
            )
            return request_reference(saved_id(request))

    def attachment(self, reference: str, attachment_id: int) -> AttachmentFile:
        """One file that came with the request (or a reply to it); NotFoundError otherwise."""
        with self.store.unit() as unit:
            request = find_request(unit, reference)
            replies = unit.messages.replies_to(saved_id(request))
            return file_of(unit, [request.inbound_id, *(m.id for m in replies)], attachment_id)

    def assign(self, reference: str, name: str, *, actor: str) -> Assignment:
        """Give a request to a member of staff (an empty name: to nobody)."""
        now = self.clock()
        with self.store.unit() as unit:
            request = find_request(unit, reference)
            before = request.assigned_to
            request.assigned_to = name.strip() or None
            request.updated_at = now
            audit.record(
                unit,
                action="assign",
                at=now,
                actor=actor,
                request=request,
                note=f"{before or 'nobody'} → {request.assigned_to or 'nobody'}",
            )
            return Assignment(request_reference(saved_id(request)), before, request.assigned_to)

    def _approve(
        self, unit: Unit, request: Request, now: datetime, actor: str
    ) -> tuple[str, LegalBasis | None]:
        """Apply the request to the register; the relationship's legal basis, if it fails."""
        ref = request_reference(saved_id(request))
        try:
            relationship = apply_approved_request(unit, request, now=now, actor=actor)
        except RegisterError as exc:
            raise LifecycleError(f"{ref}: {exc}") from exc
        if request.request_type == "end":
            return relationship.reference, None
        version = unit.register.current_version(relationship)
        basis = check_legal_basis(
            version.values,
            unit.reference.approvals(),
            today=today_in_england(now),
            takes_effect=version.effective_from,
        )
        if basis.holds:
            return relationship.reference, None
        audit.record(
            unit,
            action="legal_basis_warning",
            at=now,
            actor=actor,
            request=request,
            note=_describe(relationship.reference, basis),
        )
        return relationship.reference, basis

    def _tell(
        self,
        unit: Unit,
        request: Request,
        target: Status,
        note: str,
        relationship: str | None,
        now: datetime,
    ) -> bool:
        """Queue the status email to the requester (as given on the form, else the sender)."""
        to = (request.requester_email or request.sender_email or "").strip()
        if not to:
            return False
        in_reply_to, references = thread_headers(unit, request)
        context = self.notifier.base_context(str(request.values.get("requester_name") or ""))
        context["request"] = {
            "reference": request_reference(saved_id(request)),
            "type_label": type_label(request.request_type),
            "status": target.value,
            "status_label": LABELS[target],
            "what_next": TOLD[target],
            "note": note,
            "relationship": relationship or "",
            "summary": summary_rows(request.values),
            "commissioner": display_value(request.values.get("commissioner_name")),
        }
        self.notifier.queue(
            unit,
            kind="status_update",
            to=[to],
            context=context,
            now=now,
            in_reply_to=in_reply_to,
            references=references,
            request_id=request.id,
            inbound_id=request.inbound_id,
            auto_submitted="auto-generated",
        )
        return True


def find_request(unit: Unit, reference: str) -> Request:
    """The request `reference` names (LR-000123, lr123); UnknownRequestError if none."""
    request_id = parse_request_reference(reference)
    request = unit.requests.get(request_id) if request_id is not None else None
    if request is None:
        raise UnknownRequestError(f"no request {reference!r} (references look like LR-000123)")
    return request


def thread_headers(unit: Unit, request: Request) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References) that put an email in the requester's own thread."""
    inbound = unit.messages.get(request.inbound_id)
    original = inbound.message_id if inbound else None
    refs = [original] if original else []
    refs += [o.message_id for o in unit.outbox.for_(request_id=request.id)]
    return original, [r for r in refs if r]


def _describe(relationship: str, basis: LegalBasis) -> str:
    parts = [f"expired: {', '.join(basis.expired)}"] if basis.expired else []
    parts += [
        f"{lapse.approval} expires {lapse.expires:%d/%m/%Y}, before {relationship} takes effect"
        f" on {lapse.takes_effect:%d/%m/%Y}"
        for lapse in basis.lapses_before_start
    ]
    return f"{relationship} approved without a legal basis: " + "; ".join(parts)
