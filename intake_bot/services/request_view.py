"""One request as staff see it (`request show`), and whether its legal basis holds.

Read-only: built inside the caller's unit of work. A closed request shows no due date.
"""

from __future__ import annotations

from datetime import date

from intake_bot.domain.legal_basis import approvals_relied_on
from intake_bot.domain.records import Request, saved_id
from intake_bot.domain.register import stored_date
from intake_bot.domain.status import LABELS, Status, is_closed
from intake_bot.domain.triage import request_reference
from intake_bot.domain.workflow_views import LegalBasis, RequestDetail, check_legal_basis
from intake_bot.ports import Unit
from intake_bot.services import history
from intake_bot.services.notify import summary_rows, type_label

# An end request takes a relationship out of the register: its legal basis no longer matters.
_NEEDS_LEGAL_BASIS = ("new", "change")


def request_legal_basis(unit: Unit, request: Request, today: date) -> LegalBasis:
    """The legal basis of a request: the approvals it names, and those of its relationship as
    it stands now; for a new or change request, also on the day it takes effect."""
    values: dict[str, object] = dict(request.values)
    if request.relationship_id is not None:
        relationship = unit.register.get(request.relationship_id)
        if relationship is not None:
            current = unit.register.current_version(relationship).values
            values["s251_references"] = [
                *approvals_relied_on(request.values),
                *approvals_relied_on(current),
            ]
    starts = None
    if request.request_type in _NEEDS_LEGAL_BASIS:
        starts = stored_date(request.values.get("effective_date"))
    return check_legal_basis(values, unit.reference.approvals(), today=today, takes_effect=starts)


def request_detail(unit: Unit, request: Request, today: date) -> RequestDetail:
    """The detail of `request`, read inside `unit`."""
    rid = saved_id(request)
    first = unit.messages.get(request.inbound_id)
    inbound = [m for m in [first, *unit.messages.replies_to(rid)] if m is not None]
    relationship = unit.register.get(request.relationship_id) if request.relationship_id else None
    closed = is_closed(request.status)
    return RequestDetail(
        reference=request_reference(rid),
        kind=type_label(request.request_type),
        request_type=request.request_type,
        status=request.status,
        status_label=_label(request.status),
        closed=closed,
        queue=request.queue,
        dscro=request.dscro,
        assigned_to=request.assigned_to,
        due_on=None if closed else request.due_on,
        source=request.source,
        created_at=request.created_at,
        updated_at=request.updated_at,
        fields=tuple(summary_rows(request.values)),
        problems=tuple(str(p.get("message", "")) for p in request.problems),
        flags=tuple(str(f.get("message", "")) for f in request.flags),
        emails_in=tuple(history.email_in(m) for m in inbound),
        emails_out=history.emails_out(unit.outbox.for_(request_id=rid)),
        attachments=tuple(
            a for m in inbound for a in history.attachments(unit.messages.attachments(saved_id(m)))
        ),
        events=history.trail(unit.events.for_(request_id=rid)),
        relationship=relationship.reference if relationship else None,
        legal_basis=request_legal_basis(unit, request, today),
    )


def _label(status: str) -> str:
    try:
        return LABELS[Status(status)]
    except ValueError:
        return status
