"""Filing forms as requests, and the replies that tell senders what happened.

Used by intake inside its one transaction: nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from intake_bot.calendar import add_working_days, today_in_england
from intake_bot.domain.fields import FIELDS_BY_KEY, RequestType
from intake_bot.domain.rawform import RawForm
from intake_bot.domain.sender import dmarc_concern
from intake_bot.domain.status import Status
from intake_bot.domain.triage import queue_for, request_reference, verification_queue
from intake_bot.domain.validation import Flag, Problem, Validation, ValidationContext, validate
from intake_bot.domain.values import email_domain_allowed
from intake_bot.forms.types import FileReading, ParsedMessage
from intake_bot.services.notify import Notifier, summary_rows, type_label
from intake_bot.store import register as register_queries
from intake_bot.store.store import Unit
from intake_bot.domain.records import Event, InboundMessage, Request, saved_id


@dataclass
class FilingRules:
    """What filing needs beyond the database: the validation rules and who answers."""

    notifier: Notifier
    context: ValidationContext
    targets: dict[str, int] = field(default_factory=dict)
    allowed_domains: tuple[str, ...] = ()
    authserv_id: str = ""  # our receiving server's Authentication-Results id; "" = no check
    require_dmarc_pass: bool = False  # if so, a failing sender goes to verification


@dataclass
class Filed:
    references: list[str] = field(default_factory=list)
    replies: int = 0
    first_id: int | None = None


def file_forms(
    unit: Unit,
    *,
    inbound: InboundMessage,
    msg: ParsedMessage,
    forms: Sequence[tuple[int | None, RawForm]],
    attachment_ids: dict[int, int],
    rejected: Sequence[FileReading],
    rules: FilingRules,
    now: datetime,
) -> Filed:
    """One request per form, each triaged and acknowledged."""
    filed = Filed()
    for att_index, form in forms:
        checked = check(unit, form, msg, rules)
        request = unit.add(
            Request(
                inbound_id=saved_id(inbound),
                attachment_id=attachment_ids.get(att_index) if att_index is not None else None,
                source=checked.validation.source[:500],
                status=Status.RECEIVED.value,
                queue="",
                sender_email=msg.from_addr[:320],
                created_at=now,
                updated_at=now,
            )
        )
        settle(unit, request, checked, rules, now, actor="intake-bot")
        filed.references.append(request_reference(saved_id(request)))
        filed.first_id = filed.first_id or request.id
        filed.replies += acknowledge(unit, rules.notifier, msg, inbound, request, rejected, now)
    return filed


@dataclass
class Checked:
    validation: Validation
    verification: str = ""  # why staff must verify the sender before acting, or ""


def check(unit: Unit, form: RawForm, msg: ParsedMessage, rules: FilingRules) -> Checked:
    """Validate a form, then the rules that need the database: the relationship and the sender."""
    checked = validate(form, rules.context)
    if rules.allowed_domains and not email_domain_allowed(msg.from_addr, rules.allowed_domains):
        who = msg.from_addr or "an unknown address"
        checked.flags.append(Flag(None, f"sent from {who}, outside the allowed domains"))
    verification = ""
    if checked.complete and checked.request_type in (RequestType.CHANGE, RequestType.END):
        verification = _check_relationship(unit, checked, msg.from_addr, rules.context.today)
    concern = dmarc_concern(msg.authentication, rules.authserv_id)
    if concern:
        checked.flags.append(Flag(None, concern))
        if rules.require_dmarc_pass and checked.complete and not verification:
            verification = concern
    return Checked(checked, verification)


def _check_relationship(unit: Unit, checked: Validation, sender: str, today: date) -> str:
    reference = str(checked.values.get("existing_reference") or "")
    relationship = register_queries.relationship_by_reference(unit, reference)
    field_ = FIELDS_BY_KEY["existing_reference"]
    if relationship is None:
        checked.problems.append(
            Problem(
                "existing_reference",
                field_.label,
                reference,
                "the reference of a relationship in the register, e.g. LCR-000123",
            )
        )
        return ""
    if relationship.ended_on is not None and relationship.ended_on <= today:
        checked.problems.append(
            Problem("existing_reference", field_.label, reference, "a relationship not yet ended")
        )
        return ""
    contacts = register_queries.contacts_for(unit, relationship)
    if sender.lower() in contacts:
        return ""
    return (
        f"{sender or 'the sender'} is not a registered contact of an organisation in "
        f"{relationship.reference}; verify before acting"
    )


def settle(
    unit: Unit, request: Request, checked: Checked, rules: FilingRules, now: datetime, actor: str
) -> None:
    """Put a checked form's values on `request` and move it to its status and queue."""
    v = checked.validation
    before = Status(request.status)
    values = v.values_json()
    dscro = values.get("dscro") if isinstance(values.get("dscro"), str) else None
    request.request_type = v.request_type.value if v.request_type else None
    request.values = values
    request.dscro = str(dscro) if dscro else None
    request.problems = [
        {"field": p.field_key, "label": p.label, "found": p.found, "message": p.message}
        for p in v.problems
    ]
    flags = [{"field": f.field_key, "message": f.message} for f in v.flags]
    if checked.verification:
        flags.append({"field": None, "message": checked.verification})
    request.flags = flags
    request.requester_email = str(values.get("requester_email") or "")[:320]
    request.commissioner_ods = str(values.get("commissioner_ods") or "")[:10] or None
    if not v.complete:
        status = Status.INCOMPLETE
    elif checked.verification:
        status = Status.VERIFICATION
    else:
        status = Status.TRIAGED
    place(request, status, now, rules.targets)
    unit.flush()
    record_status(
        unit,
        request,
        before,
        status,
        now,
        actor,
        f"{len(v.problems)} problem(s), {len(request.flags)} flag(s)",
    )


def place(request: Request, status: Status, now: datetime, targets: Mapping[str, int]) -> None:
    """Put a request in `status`, with the queue and the due date that status means."""
    request_type = RequestType(request.request_type) if request.request_type else None
    if status is Status.INCOMPLETE:
        request.queue = queue_for(request.dscro, request_type, False)
    elif status is Status.VERIFICATION:
        request.queue = verification_queue(request.dscro)
    elif status is Status.TRIAGED:
        request.queue = queue_for(request.dscro, request_type, True)
    if status in (Status.TRIAGED, Status.VERIFICATION) and request.due_on is None:
        kind = "verification" if status is Status.VERIFICATION else request.request_type or ""
        days = targets.get(kind)
        request.due_on = add_working_days(today_in_england(now), days) if days else None
    request.status = status.value
    request.updated_at = now


def record_status(
    unit: Unit,
    request: Request,
    before: Status,
    after: Status,
    now: datetime,
    actor: str,
    note: str,
) -> None:
    """The audit event of a status change (invariant 6)."""
    unit.add(
        Event(
            at=now,
            actor=actor,
            action="status",
            request_id=request.id,
            inbound_id=request.inbound_id,
            from_status=before.value,
            to_status=after.value,
            note=note[:4000],
        )
    )


def auto_reply_address(msg: ParsedMessage) -> str:
    """Where an automatic reply goes; "" when there is nowhere or the sender asked for none."""
    if msg.wants_no_auto_reply:
        return ""
    return (msg.reply_to or msg.from_addr or "").strip()


def _may_reply(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    now: datetime,
    *,
    request_id: int | None,
    inbound_id: int | None,
) -> str:
    """The address to answer, or "" (and an audit event saying why not)."""
    to = auto_reply_address(msg)
    if to and notifier.may_auto_reply(unit, to, now):
        return to
    if msg.wants_no_auto_reply:
        why = "the sender asked for no automatic replies (X-Auto-Response-Suppress)"
    else:
        why = "no address to reply to" if not to else "rate limit of automatic replies reached"
    unit.add(
        Event(
            at=now,
            actor="intake-bot",
            action="reply_suppressed",
            request_id=request_id,
            inbound_id=inbound_id,
            note=why,
        )
    )
    return ""


def acknowledge(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    inbound: InboundMessage,
    request: Request,
    rejected: Sequence[FileReading],
    now: datetime,
) -> int:
    """The acknowledgement of one request: what was filed, or every problem in one email."""
    to = _may_reply(unit, notifier, msg, now, request_id=request.id, inbound_id=inbound.id)
    if not to:
        return 0
    context = notifier.base_context(msg.from_name)
    context["request"] = request_context(request)
    context["rejected_files"] = rejections(rejected)
    kind = "ack_problems" if request.problems else "ack_valid"
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


def request_context(request: Request) -> dict[str, Any]:
    verifying = request.status == Status.VERIFICATION.value
    return {
        "reference": request_reference(saved_id(request)),
        "type_label": type_label(request.request_type),
        "source": request.source,
        "office": request.dscro or "DSfC",
        "due_on": request.due_on.strftime("%d/%m/%Y") if request.due_on else "",
        "summary": summary_rows(request.values),
        "problems": [p["message"] for p in request.problems],
        "verification": (
            "Because this request changes the register, we will first check that it comes "
            "from a registered contact of the organisations involved."
            if verifying
            else ""
        ),
    }


def rejections(rejected: Sequence[FileReading]) -> list[dict[str, str]]:
    return [{"filename": r.filename, "reason": r.rejection.reason} for r in rejected if r.rejection]


def reply_without_request(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    inbound: InboundMessage,
    kind: str,
    rejected: Sequence[FileReading],
    now: datetime,
) -> int:
    """The how-to reply (no form) or the cannot-read reply, with the blank forms attached."""
    to = _may_reply(unit, notifier, msg, now, request_id=None, inbound_id=inbound.id)
    if not to:
        return 0
    context = notifier.base_context(msg.from_name)
    context["rejected_files"] = rejections(rejected)
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
