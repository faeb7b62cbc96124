"""Replies thread onto their request instead of being filed as new ones.

A reply is recognised by a request reference in its subject, or by In-Reply-To/References naming
one of our own emails. A corrected form in a reply to an incomplete request replaces the form
and is checked again; anything else is attached to the request for staff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from intake_bot.domain.rawform import RawForm
from intake_bot.domain.status import Status
from intake_bot.domain.triage import references_in, request_reference
from intake_bot.forms.types import FileReading, ParsedMessage
from intake_bot.services.filing import (
    FilingRules,
    acknowledge,
    check,
    file_forms,
    settle,
)
from intake_bot.store.store import Unit
from intake_bot.domain.records import Event, InboundMessage, Request, saved_id

# A corrected form is applied to a request in these states; later, staff decide.
CORRECTABLE = frozenset({Status.INCOMPLETE.value, Status.VERIFICATION.value})


def find_thread(unit: Unit, msg: ParsedMessage) -> Request | None:
    """The request this email answers, if it answers one of ours."""
    request_id_ = unit.request_for_outgoing([r for r in (msg.in_reply_to, *msg.references) if r])
    if request_id_ is not None:
        return unit.request(request_id_)
    for candidate in references_in(msg.subject):
        found = unit.request(candidate)
        if found is not None:
            return found
    return None


@dataclass
class ThreadResult:
    references: list[str]
    replies: int


def file_reply(
    unit: Unit,
    *,
    request: Request,
    inbound: InboundMessage,
    msg: ParsedMessage,
    forms: Sequence[tuple[int | None, RawForm]],
    attachment_ids: dict[int, int],
    rejected: Sequence[FileReading],
    rules: FilingRules,
    now: datetime,
) -> ThreadResult:
    """Attach `inbound` to `request`; apply a corrected form; file any further forms anew."""
    reference = request_reference(saved_id(request))
    inbound.request_id = request.id
    _event(unit, request, inbound, now, "reply_received", f"from {msg.from_addr or 'unknown'}")
    if not _may_speak_for(unit, request, msg.from_addr):
        _flag(
            request,
            f"a reply came from {msg.from_addr or 'an unknown address'}, who is neither the "
            "requester nor a registered contact of the organisations involved",
        )
        _event(unit, request, inbound, now, "flagged", "reply from an unregistered address")
    result = ThreadResult([reference], 0)
    if not forms:
        return result
    first, extra = forms[0], forms[1:]
    if request.status in CORRECTABLE:
        settle(unit, request, check(unit, first[1], msg, rules), rules, now, actor="requester")
        if first[0] is not None:
            request.attachment_id = attachment_ids.get(first[0])
        _event(
            unit, request, inbound, now, "form_replaced", f"corrected form from {first[1].source}"
        )
        result.replies += acknowledge(unit, rules.notifier, msg, inbound, request, rejected, now)
    else:
        _flag(request, f"a new form arrived while the request was {request.status}; not applied")
        _event(unit, request, inbound, now, "form_not_applied", f"request was {request.status}")
    if extra:
        filed = file_forms(
            unit,
            inbound=inbound,
            msg=msg,
            forms=extra,
            attachment_ids=attachment_ids,
            rejected=(),
            rules=rules,
            now=now,
        )
        result.references += filed.references
        result.replies += filed.replies
    return result


def _may_speak_for(unit: Unit, request: Request, sender: str) -> bool:
    sender = sender.lower()
    if not sender:
        return False
    own = {
        request.requester_email.lower(),
        request.sender_email.lower(),
        str(request.values.get("authoriser_email") or "").lower(),
    }
    if sender in own:
        return True
    codes = [request.commissioner_ods, str(request.values.get("processor_ods") or "")]
    return sender in unit.organisation_contacts([c for c in codes if c])


def _flag(request: Request, message: str) -> None:
    # Reassign, not append: the JSON column only notices a new list.
    request.flags = [*request.flags, {"field": None, "message": message}]


def _event(
    unit: Unit, request: Request, inbound: InboundMessage, now: datetime, action: str, note: str
) -> None:
    unit.add(
        Event(
            at=now,
            actor="intake-bot",
            action=action,
            request_id=request.id,
            inbound_id=inbound.id,
            note=note,
        )
    )
