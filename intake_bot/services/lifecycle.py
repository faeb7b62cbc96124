"""Staff move requests along: change_status, assign, and the detail of one request.

Each change is one transaction: the new status, its audit event, the register change an approval
makes, and the email that tells the requester (DESIGN invariants 2 and 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from intake_bot.calendar import today_in_england
from intake_bot.domain.register import stored_list
from intake_bot.domain.status import Status, check_transition
from intake_bot.domain.triage import parse_request_reference, request_reference
from intake_bot.services.filing import place, record_status
from intake_bot.services.notify import Notifier, display_value, summary_rows, type_label
from intake_bot.services.register import RegisterError, apply_approved_request
from intake_bot.store import approvals as approval_queries
from intake_bot.store import register as register_queries
from intake_bot.store.store import Store, Unit
from intake_bot.domain.records import Event, InboundMessage, Relationship, Request, saved_id

# Transitions the requester hears about, and what the email says happens next.
NOTIFY = {
    Status.IN_REVIEW: "A member of the team is now reviewing your request.",
    Status.APPROVED: "Your request has been approved.",
    Status.REJECTED: "Your request has not been approved.",
    Status.WITHDRAWN: "Your request has been withdrawn and will not be taken further.",
    Status.INCOMPLETE: "We need more information before we can go on: please reply to this email.",
}
STATUS_LABELS = {
    Status.RECEIVED: "Received",
    Status.INCOMPLETE: "Awaiting your reply",
    Status.TRIAGED: "Waiting for review",
    Status.VERIFICATION: "Being verified",
    Status.IN_REVIEW: "In review",
    Status.APPROVED: "Approved",
    Status.REJECTED: "Not approved",
    Status.WITHDRAWN: "Withdrawn",
}


class LifecycleError(Exception):
    """Staff asked for something that cannot be done; the message says why."""


@dataclass(frozen=True)
class StatusChange:
    reference: str
    from_status: str
    to_status: str
    relationship: str | None  # LCR reference when an approval changed the register
    email_queued: bool


def find_request(unit: Unit, reference: str) -> Request:
    request_id = parse_request_reference(reference)
    request = unit.request(request_id) if request_id is not None else None
    if request is None:
        raise LifecycleError(f"no request {reference!r} (references look like LR-000123)")
    return request


def change_status(
    *,
    store: Store,
    notifier: Notifier,
    reference: str,
    target: Status,
    now: datetime,
    actor: str,
    note: str = "",
    targets: dict[str, int] | None = None,
) -> StatusChange:
    """Move a request to `target`; refuses illegal transitions with the reason."""
    with store.unit() as unit:
        request = find_request(unit, reference)
        current = Status(request.status)
        refused = check_transition(current, target)
        if refused is not None:
            raise LifecycleError(f"{reference}: {refused.message}")
        if target in (Status.REJECTED, Status.INCOMPLETE) and not note.strip():
            raise LifecycleError(f"{reference}: say why with --note; the requester is told")
        lcr = _apply_register(unit, request, target, now, actor)
        _move(unit, request, current, target, now, actor, note, targets or {})
        queued = False
        if target in NOTIFY:
            queued = _tell_requester(unit, notifier, request, target, note, lcr, now)
        return StatusChange(request_reference(saved_id(request)), current, target, lcr, queued)


def _apply_register(
    unit: Unit, request: Request, target: Status, now: datetime, actor: str
) -> str | None:
    if target is not Status.APPROVED:
        return None
    try:
        return apply_approved_request(unit, request, now=now, actor=actor).reference
    except RegisterError as exc:
        raise LifecycleError(f"{request_reference(saved_id(request))}: {exc}") from exc


def _move(
    unit: Unit,
    request: Request,
    current: Status,
    target: Status,
    now: datetime,
    actor: str,
    note: str,
    targets: dict[str, int],
) -> None:
    place(request, target, now, targets)
    record_status(unit, request, current, target, now, actor, note)


def thread_headers(unit: Unit, request: Request) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References) that put an email in the requester's own thread."""
    inbound = unit.inbound_by_id(request.inbound_id)
    original = inbound.message_id if inbound else None
    refs = [original] if original else []
    refs += [o.message_id for o in unit.outbox_for(request_id=request.id)]
    return original, [r for r in refs if r]


def _tell_requester(
    unit: Unit,
    notifier: Notifier,
    request: Request,
    target: Status,
    note: str,
    relationship: str | None,
    now: datetime,
) -> bool:
    to = _requester_address(unit, request)
    if not to:
        return False
    in_reply_to, references = thread_headers(unit, request)
    context = notifier.base_context(str(request.values.get("requester_name") or ""))
    context["request"] = {
        "reference": request_reference(saved_id(request)),
        "type_label": type_label(request.request_type),
        "status": target.value,
        "status_label": STATUS_LABELS[target],
        "what_next": NOTIFY[target],
        "note": note,
        "relationship": relationship or "",
        "summary": summary_rows(request.values),
        "commissioner": display_value(request.values.get("commissioner_name")),
    }
    notifier.queue(
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


def _requester_address(unit: Unit, request: Request) -> str:
    """The requester's address as given on the form, else whoever sent it."""
    return (request.requester_email or request.sender_email or "").strip()


def assign(*, store: Store, reference: str, name: str, now: datetime, actor: str) -> str:
    """Give a request to a member of staff; returns who had it before."""
    with store.unit() as unit:
        request = find_request(unit, reference)
        before = request.assigned_to or ""
        request.assigned_to = name.strip() or None
        request.updated_at = now
        unit.add(
            Event(
                at=now,
                actor=actor,
                action="assign",
                request_id=request.id,
                note=f"{before or 'nobody'} → {name or 'nobody'}",
            )
        )
        return before


def _legal_basis_expired(unit: Unit, request: Request, today: date) -> list[str]:
    """Approvals relied on (by the request, or its relationship now) whose expiry day has come."""
    expired = {a.reference for a in approval_queries.expired_approvals(unit, today)}
    refs = stored_list(request.values.get("s251_references"))
    if request.relationship_id is not None:
        relationship = unit.get(Relationship, request.relationship_id)
        if relationship is not None:
            current = register_queries.current_version(unit, relationship)
            refs += stored_list(current.values.get("s251_references"))
    return sorted({ref for ref in refs if ref in expired})


def request_detail(store: Store, reference: str, now: datetime) -> dict[str, Any]:
    """Everything about one request: fields, problems, emails in and out, attachments, trail."""
    with store.unit() as unit:
        request = find_request(unit, reference)
        rid = saved_id(request)
        inbound_rows = _emails_in(unit, request)
        return {
            "reference": request_reference(rid),
            "type": type_label(request.request_type),
            "status": request.status,
            "queue": request.queue,
            "dscro": request.dscro,
            "assigned_to": request.assigned_to,
            "due_on": request.due_on.isoformat() if request.due_on else None,
            "source": request.source,
            "created_at": request.created_at.isoformat(),
            "fields": dict(summary_rows(request.values)),
            "problems": [p["message"] for p in request.problems],
            "flags": [f["message"] for f in request.flags],
            "emails_in": [_email_in(m) for m in inbound_rows],
            "emails_out": [
                {
                    "kind": o.kind,
                    "to": o.recipients,
                    "subject": o.subject,
                    "status": o.status,
                    "message_id": o.message_id,
                    "created_at": o.created_at.isoformat(),
                    "sent_at": o.sent_at.isoformat() if o.sent_at else None,
                }
                for o in unit.outbox_for(request_id=rid)
            ],
            "attachments": [
                {"filename": a.filename, "size": a.size, "outcome": a.outcome, "note": a.note}
                for m in inbound_rows
                for a in unit.attachments(saved_id(m))
            ],
            "events": [
                {
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "from": e.from_status,
                    "to": e.to_status,
                    "note": e.note,
                }
                for e in unit.events(request_id=rid)
            ],
            "relationship_id": request.relationship_id,
            "legal_basis_expired": _legal_basis_expired(unit, request, today_in_england(now)),
        }


def _emails_in(unit: Unit, request: Request) -> list[InboundMessage]:
    first = unit.inbound_by_id(request.inbound_id)
    replies = unit.replies_to(saved_id(request))
    return [m for m in [first, *replies] if m is not None]


def _email_in(m: InboundMessage) -> dict[str, Any]:
    return {
        "from": m.from_addr,
        "subject": m.subject,
        "message_id": m.message_id,
        "outcome": m.outcome,
        "filed_at": m.filed_at.isoformat(),
    }
