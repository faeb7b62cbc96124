"""Replies thread onto their request instead of being filed as new ones.

A reply is recognised by `classify.find_thread` (In-Reply-To/References naming one of our own
emails, or a request reference in its subject). A corrected form in a reply to an incomplete
request replaces the form and is checked again; anything else is attached to the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from intake_bot.domain.rawform import RawForm
from intake_bot.domain.records import InboundMessage, Request, saved_id
from intake_bot.domain.status import Status
from intake_bot.domain.triage import request_reference
from intake_bot.forms.readings import FileReading, ParsedMessage
from intake_bot.ports import ReferenceRepository, Unit
from intake_bot.services import audit
from intake_bot.services.filing import FilingRules, acknowledge, check, file_forms, settle

# A corrected form is applied to a request in these states; later, staff decide.
CORRECTABLE = frozenset({Status.INCOMPLETE.value, Status.VERIFICATION.value})


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
    attachment_ids: Mapping[int, int],
    rejected: Sequence[FileReading],
    rules: FilingRules,
    now: datetime,
) -> ThreadResult:
    """Attach `inbound` to `request`; apply a corrected form; file any further forms anew."""
    reference = request_reference(saved_id(request))
    inbound.request_id = request.id
    sender = msg.from_addr or "unknown"
    _event(unit, request, inbound, now, "reply_received", f"from {sender}")
    if not may_speak_for(unit.reference, request, msg.from_addr):
        _flag(
            request,
            f"a reply came from {msg.from_addr or 'an unknown address'}, who is neither the "
            "requester nor a registered contact of the organisations involved",
        )
        _event(unit, request, inbound, now, "flagged", "reply from an unregistered address")
    result = ThreadResult([reference], 0)
    if not forms:
        return result
    (index, form), extra = forms[0], forms[1:]
    if request.status in CORRECTABLE:
        checked = check(form, msg, rules.checks, unit.register)
        settle(unit, request, checked, rules, now, actor="requester")
        if index is not None:
            request.attachment_id = attachment_ids.get(index)
        _event(unit, request, inbound, now, "form_replaced", f"corrected form from {form.source}")
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


def may_speak_for(reference: ReferenceRepository, request: Request, sender: str) -> bool:
    """Whether a reply from `sender` may change `request`: its requester, the one who sent it,
    its authoriser, or a registered contact of an organisation it names."""
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
    return sender in reference.organisation_contacts([c for c in codes if c])


def _flag(request: Request, message: str) -> None:
    # Reassign, not append: the JSON column only notices a new list.
    request.flags = [*request.flags, {"field": None, "message": message}]


def _event(
    unit: Unit, request: Request, inbound: InboundMessage, now: datetime, action: str, note: str
) -> None:
    audit.record(unit, action=action, at=now, request=request, inbound=inbound, note=note)
