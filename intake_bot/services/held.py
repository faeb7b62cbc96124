"""Mail that intake keeps but does not file: patient data, and robots' answers to our emails.

Patient data (DESIGN invariant 7): a message holding what passes the NHS number check goes to
the quarantine queue and folder, whatever else it is; nothing in it is filed as a request nor
echoed back. Its sender is told in plain words not to email patient data (the `patient_data`
email, which quotes nothing), and staff are alerted (`patient_data_staff`, saying where the
number was, never what). Only where it was found reaches the audit trail; logs get nothing.

A robot's answer to one of our emails about a request (a bounce, an out-of-office) is recorded
on that request as an audit event and a flag, so that staff see that the email did not reach
its reader. Used inside intake's one transaction: nothing here commits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from intake_bot.domain.records import InboundMessage
from intake_bot.domain.subject import looks_like_bounce
from intake_bot.domain.triage import request_reference
from intake_bot.forms.readings import ParsedMessage
from intake_bot.ports import Unit
from intake_bot.services import audit
from intake_bot.services.answers import alert_staff_patient_data, warn_patient_data
from intake_bot.services.classify import is_our_message_id
from intake_bot.services.notify import Notifier

# Message-IDs named in a report's returned headers (message/rfc822, text/rfc822-headers).
_RETURNED_IDS = re.compile(
    rb"(?im)^(?:original-)?(?:message-id|in-reply-to|references)[ \t]*:[ \t]*(<[!-;=?-~]{1,250}>)"
)
SCANNED_BYTES = 256 * 1024  # a report names the returned message near its start
MAX_IDS = 50


def hold_patient_data(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    inbound: InboundMessage,
    *,
    where: Sequence[str],
    staff: Sequence[str],
    may_answer: bool,
    now: datetime,
) -> int:
    """Record the hold, tell the sender (when `may_answer`) and alert staff; replies queued."""
    audit.record(
        unit,
        action="patient_data_held",
        at=now,
        inbound=inbound,
        note=f"NHS number in {', '.join(where)}: quarantined; not filed, not echoed",
    )
    replies = warn_patient_data(unit, notifier, msg, inbound, now) if may_answer else 0
    alert_staff_patient_data(unit, notifier, inbound, staff, where, now)
    return replies


def returned_ids(raw: bytes) -> list[str]:
    """The Message-IDs a report's returned headers name, each once, at most MAX_IDS."""
    found = (m.decode("ascii") for m in _RETURNED_IDS.findall(raw[:SCANNED_BYTES]))
    return list(dict.fromkeys(found))[:MAX_IDS]


def returns_our_mail(raw: bytes, own_addresses: Sequence[str]) -> bool:
    """Whether a delivery report (a bounce whose subject is not ours) returns one of our own
    emails: one of its returned Message-IDs is of the form we make. Anyone else's bounce in the
    shared mailbox is left where it is, for the people who sent that email."""
    return any(is_our_message_id(mid, own_addresses) for mid in returned_ids(raw))


def note_automatic_answer(
    unit: Unit, msg: ParsedMessage, raw: bytes, inbound: InboundMessage, now: datetime
) -> str | None:
    """If a robot's message answers or returns one of our emails about a request, record it on
    that request (a bounce: "delivery_failed"; anything else: "automatic_answer"); the request's
    reference, or None."""
    ids = [i for i in (msg.in_reply_to, *msg.references) if i] + returned_ids(raw)
    ids = list(dict.fromkeys(ids))[:MAX_IDS]
    request_id = unit.requests.for_outgoing(ids) if ids else None
    request = unit.requests.get(request_id) if request_id is not None else None
    if request is None:
        return None
    reason = msg.automated or "automatic"
    head = raw[:SCANNED_BYTES]
    if _is_bounce(msg, head, reason):
        audit.record(
            unit, action="delivery_failed", at=now, request=request, inbound=inbound, note=reason
        )
        flag = f"an email about this request came back undelivered ({reason[:80]})"
        request.flags = [*request.flags, {"field": None, "message": flag}]
    else:
        audit.record(
            unit, action="automatic_answer", at=now, request=request, inbound=inbound, note=reason
        )
    inbound.request_id = request.id
    return request_reference(request_id) if request_id is not None else None


def _is_bounce(msg: ParsedMessage, head: bytes, reason: str) -> bool:
    """A delivery failure (not an out-of-office or a read receipt): a delivery-status report,
    a null return path, or a bounce's subject."""
    return (
        b"delivery-status" in head.lower()
        or "Return-Path" in reason
        or looks_like_bounce(msg.subject)
    )
