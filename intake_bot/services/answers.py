"""The emails intake sends by itself, and when it sends none.

Acknowledgements, the how-to and cannot-read replies, the word to the sender of a reply that
was not applied, and the patient-data warning (to the sender) and alert (to staff). Every
automatic reply passes `may_reply`: none to a sender who asked for none, none past the
per-mailbox hourly limit, and each one not sent is an audit event saying why. Used by intake
inside its one transaction: nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from intake_bot.domain.form_versions import CURRENT_VERSION, OlderForm
from intake_bot.domain.printable import clean_line
from intake_bot.domain.records import InboundMessage, Request, saved_id
from intake_bot.domain.status import CLOSED, LABELS, Status
from intake_bot.domain.triage import message_reference, request_reference
from intake_bot.forms.readings import FileReading, ParsedMessage, Rejection
from intake_bot.forms.rejections import BLANK_OFFERED, shown
from intake_bot.forms.text import SOURCE as TYPED
from intake_bot.ports import Unit
from intake_bot.services import audit
from intake_bot.services.notify import Notifier, summary_rows, type_label


def auto_reply_address(msg: ParsedMessage) -> str:
    """Where an automatic reply goes; "" when there is nowhere or the sender asked for none."""
    if msg.wants_no_auto_reply:
        return ""
    return (msg.reply_to or msg.from_addr or "").strip()


def may_reply(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    now: datetime,
    *,
    request: Request | None,
    inbound: InboundMessage,
    to: str | None = None,
) -> str:
    """The address to answer (`to`, else the sender's), or "" and an audit event saying why
    not."""
    if to is None:
        to = auto_reply_address(msg)
    elif msg.wants_no_auto_reply:
        to = ""
    if to and notifier.may_auto_reply(unit, to, now, inbound.id):
        return to
    if msg.wants_no_auto_reply:
        why = "the sender asked for no automatic replies (X-Auto-Response-Suppress)"
    else:
        why = "no address to reply to" if not to else "rate limit of automatic replies reached"
    suppressed(unit, now, inbound=inbound, request=request, why=why)
    return ""


def suppressed(
    unit: Unit,
    now: datetime,
    *,
    inbound: InboundMessage,
    why: str,
    request: Request | None = None,
) -> None:
    """The audit event of an automatic reply not sent, and why."""
    audit.record(
        unit, action="reply_suppressed", at=now, request=request, inbound=inbound, note=why
    )


def acknowledge(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    inbound: InboundMessage,
    request: Request,
    rejected: Sequence[FileReading],
    now: datetime,
    *,
    to: str | None = None,
    older_form: OlderForm | None = None,
    unknown_labels: Sequence[str] = (),
) -> int:
    """The acknowledgement of one request: what was filed, or every problem in one email.

    `to`: where it goes when that is not the sender's own choice (a reply to a request is
    answered only at an address recorded for it). `older_form`: the version of the form it
    came on, when that is an older one: the reply says so and attaches the current form.
    `unknown_labels`: the form's labels that name no field; when an answer is missing, the
    reply quotes them (the answer may be beside one) and attaches the blank form.
    """
    to = may_reply(unit, notifier, msg, now, request=request, inbound=inbound, to=to)
    if not to:
        return 0
    context = notifier.base_context(msg.from_name)
    context["request"] = request_context(request)
    context["rejected_files"] = rejections(rejected)
    context["not_read"] = list(msg.cut)
    unrecognised = _unrecognised(request, unknown_labels)
    # named only where the email offers them: the first call makes them (python-docx, openpyxl)
    blanks = [f.filename for f in notifier.blank_forms()] if older_form or unrecognised else []
    context["unrecognised"] = unrecognised and {**unrecognised, "filenames": blanks}
    context["older_form"] = (
        {
            "version": older_form.version,
            "declared": older_form.declared,
            "current": CURRENT_VERSION,
            "filenames": blanks,
        }
        if older_form
        else None
    )
    notifier.queue(
        unit,
        kind="ack_problems" if request.problems else "ack_valid",
        to=[to],
        context=context,
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
        # a file that could not be read may be named with "or use the blank form attached"
        attach_blank_forms=bool(
            older_form or _copy_asked(rejected) or offers_blank(rejected) or unrecognised
        ),
        request_id=request.id,
        inbound_id=inbound.id,
    )
    return 1


MAX_LABELS_QUOTED = 10  # a hand-made form's labels quoted back; the rest counted


def _unrecognised(request: Request, labels: Sequence[str]) -> dict[str, Any] | None:
    """The labels to quote when an answer is missing: the sender's own words, back to them."""
    missing = any(p.get("found") is None for p in request.problems)
    if not missing or not labels:
        return None
    quoted = [clean_line(label)[:80] for label in labels[:MAX_LABELS_QUOTED]]
    return {"labels": quoted, "more": max(0, len(labels) - MAX_LABELS_QUOTED)}


def _copy_asked(rejected: Sequence[FileReading]) -> bool:
    """Whether a form on a version not read is answered "copy your answers into the current
    form, attached" (one newer than the blank we send is not: staff reply to it)."""
    return any((why := r.unmapped_version) is not None and not why.newer for r in rejected)


STAFF_WILL_LOOK = "the sender was told our staff would look at it"


def unread_versions(
    rejected: Sequence[FileReading], *, told: str = STAFF_WILL_LOOK
) -> list[dict[str, Any]]:
    """Flags for the forms of an email that are on a version the bot cannot read, for each
    request the email filed or corrected, not only in its archive; `told`: what the sender
    was told of them."""
    return [
        {"field": None, "message": _unread_note(r.filename, why, told)}
        for r in rejected
        if (why := r.unmapped_version) is not None
    ]


def _unread_note(filename: str, rejection: Rejection, told: str) -> str:
    """For staff, not the sender's sentence: what the file is, what the sender was told, and
    what is theirs to do."""
    version = f"version {rejection.form_version}" if rejection.form_version else "a version"
    newer = ", newer than the blank the bot sends" if rejection.newer else ""
    what, where = (
        ("the form typed in the email", "text")
        if filename == TYPED
        else (shown(filename), "attachments")
    )
    return (
        f"not read: {what}, a form on {version}{newer} that no config/forms/ file maps; "
        f"{told}: read it in this email's {where} (it may hold another office's request)"
    )


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


def offers_blank(rejected: Sequence[FileReading]) -> bool:
    """Whether the reason given for a file that could not be read offers the blank form."""
    return any(r.rejection and BLANK_OFFERED in r.rejection.reason for r in rejected)


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
    *,
    to: str | None = None,
    request: Request | None = None,
    held: str = "",
) -> int:
    """The how-to reply (no form) or the cannot-read reply, with the blank forms attached;
    `to` and `request` as for `acknowledge`, when it answers a reply to a request. `held`: why
    the whole email waits for staff (too many forms), who will reply."""
    to = may_reply(unit, notifier, msg, now, request=request, inbound=inbound, to=to)
    if not to:
        return 0
    context = notifier.base_context(msg.from_name)
    # About a request: the subject names it, as every reply about one does.
    context["reference"] = request_reference(saved_id(request)) if request is not None else ""
    context["rejected_files"] = rejections(rejected)
    # a form typed into the email, not a file: said so, not "the file you sent"
    context["typed_only"] = bool(rejected) and all(r.filename == TYPED for r in rejected)
    context["not_read"] = list(msg.cut)
    context["form_filenames"] = [f.filename for f in notifier.blank_forms()]
    # A form newer than any we read: staff will answer; today's blank is sent all the same.
    refused = [r.rejection for r in rejected if r.rejection is not None]
    context["staff_will_reply"] = bool(refused) and all(r.newer for r in refused)
    context["held"] = held  # too many forms: staff will reply, nothing is asked of the sender
    notifier.queue(
        unit,
        kind=kind,
        to=[to],
        context=context,
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
        attach_blank_forms=not held,
        request_id=request.id if request is not None else None,
        inbound_id=inbound.id,
    )
    return 1


def form_not_applied(
    unit: Unit,
    notifier: Notifier,
    msg: ParsedMessage,
    inbound: InboundMessage,
    request: Request,
    now: datetime,
    *,
    to: str,
) -> int:
    """To a party whose form came after its request left correction (with staff, or decided):
    not applied, and what to do instead. At `to`, the address recorded for the request."""
    to = may_reply(unit, notifier, msg, now, request=request, inbound=inbound, to=to)
    if not to:
        return 0
    status = Status(request.status)
    context = notifier.base_context(msg.from_name)
    context["reference"] = request_reference(saved_id(request))
    context["status"] = LABELS[status]
    context["closed"] = status in CLOSED
    context["approved"] = status is Status.APPROVED
    notifier.queue(
        unit,
        kind="form_not_applied",
        to=[to],
        context=context,
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
        request_id=request.id,
        inbound_id=inbound.id,
    )
    return 1


def reply_not_applied(
    unit: Unit, notifier: Notifier, msg: ParsedMessage, inbound: InboundMessage, now: datetime
) -> int:
    """To the sender of a reply that may not change its request: passed to staff, nothing
    more (no reference, no detail of the request)."""
    to = may_reply(unit, notifier, msg, now, request=None, inbound=inbound)
    if not to:
        return 0
    notifier.queue(
        unit,
        kind="reply_not_applied",
        to=[to],
        context=notifier.base_context(msg.from_name),
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
        inbound_id=inbound.id,
    )
    return 1


def warn_patient_data(
    unit: Unit, notifier: Notifier, msg: ParsedMessage, inbound: InboundMessage, now: datetime
) -> int:
    """Tell the sender, in plain words and without quoting anything, not to email patient
    data. Never to a robot (it would not read it)."""
    if msg.automated:
        return 0
    to = may_reply(unit, notifier, msg, now, request=None, inbound=inbound)
    if not to:
        return 0
    notifier.queue(
        unit,
        kind="patient_data",
        to=[to],
        context=notifier.base_context(msg.from_name),
        now=now,
        in_reply_to=msg.message_id,
        references=msg.references,
        inbound_id=inbound.id,
    )
    return 1


def alert_staff_patient_data(
    unit: Unit,
    notifier: Notifier,
    inbound: InboundMessage,
    staff: Sequence[str],
    where: Sequence[str],
    now: datetime,
) -> None:
    """An email to staff: a message held in quarantine for patient data, where it was found
    (never what), and what to do."""
    if not staff:
        return
    context = notifier.base_context("")
    context["message"] = message_reference(saved_id(inbound))
    context["where"] = list(where)
    context["received"] = now.strftime("%d/%m/%Y %H:%M")
    notifier.queue(
        unit,
        kind="patient_data_staff",
        to=list(staff),
        context=context,
        now=now,
        inbound_id=inbound.id,
        auto_submitted="auto-generated",
    )
