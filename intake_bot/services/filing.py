"""Filing forms as requests: each checked (the form, its sender, the relationship it names),
triaged and acknowledged (the emails themselves are in answers.py).

A sender is believed only as far as the message proves it: a From that is not exactly one
address read one way is unverified, and a DMARC pass counts only for the From domain the bot
reads. Either way the request is flagged, and a change or an end waits in verification.

Used by intake inside its one transaction: nothing here commits. `check` is also what
`intake-bot parse` judges a form by, so that a preview and a poll never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from intake_bot.domain.fields import FIELDS_BY_KEY, RequestType
from intake_bot.domain.form_versions import older_form
from intake_bot.domain.organisations import OrganisationIndex
from intake_bot.domain.rawform import RawForm
from intake_bot.domain.records import InboundMessage, Relationship, Request, saved_id
from intake_bot.domain.sender import dmarc_concern, domain_of
from intake_bot.domain.status import Status
from intake_bot.domain.triage import queue_for, request_reference, verification_queue
from intake_bot.domain.validation import Flag, Problem, Validation, ValidationContext, validate
from intake_bot.domain.values import email_domain_allowed
from intake_bot.forms.headers import unverified_from
from intake_bot.forms.readings import FileReading, ParsedMessage
from intake_bot.ports import Unit
from intake_bot.ports_reads import RelationshipReads
from intake_bot.services import audit
from intake_bot.services.answers import acknowledge, unread_versions
from intake_bot.services.notify import Notifier
from intake_bot.working_days import add_working_days, today_in_england

# Said instead of checking the register when there is none to check (a preview without a database).
REGISTER_NOT_CHECKED = "the relationship reference was not checked: no database to look it up in"


@dataclass(frozen=True)
class CheckRules:
    """What judging a form needs beyond the database: the validation rules and sender policy."""

    context: ValidationContext
    allowed_domains: tuple[str, ...] = ()
    authserv_id: str = ""  # our receiving server's Authentication-Results id; "" = no check
    require_dmarc_pass: bool = False  # if so, a failing sender goes to verification
    default_office: str | None = None  # the receiving mailbox's office, for forms naming none


@dataclass(frozen=True)
class FilingRules:
    """What filing needs beyond the database: how forms are judged, who answers, the targets."""

    checks: CheckRules
    notifier: Notifier
    targets: Mapping[str, int] = field(default_factory=dict)


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
    attachment_ids: Mapping[int, int],
    rejected: Sequence[FileReading],
    rules: FilingRules,
    now: datetime,
) -> Filed:
    """One request per form, each triaged and acknowledged."""
    filed = Filed()
    for att_index, form in forms:
        checked = check(form, msg, rules.checks, unit.register)
        request = Request(
            inbound_id=saved_id(inbound),
            attachment_id=attachment_ids.get(att_index) if att_index is not None else None,
            source=checked.validation.source,
            status=Status.RECEIVED.value,
            queue="",
            sender_email=msg.from_addr,
            created_at=now,
            updated_at=now,
        )
        # Settled before it is added, so that the store writes it once, as filed.
        status, note = apply_checked(request, checked, rules, now)
        request.flags = [*request.flags, *unread_versions(rejected)]
        unit.add(request)
        record_status(unit, request, Status.RECEIVED, status, now, audit.BOT, note)
        filed.references.append(request_reference(saved_id(request)))
        filed.first_id = filed.first_id or request.id
        filed.replies += acknowledge(
            unit,
            rules.notifier,
            msg,
            inbound,
            request,
            rejected,
            now,
            older_form=older_form(form),
            unknown_labels=form.unknown_labels,
        )
    return filed


@dataclass
class Checked:
    validation: Validation
    verification: str = ""  # why staff must verify the sender before acting, or ""


def check(
    form: RawForm,
    msg: ParsedMessage | None,
    rules: CheckRules,
    register: RelationshipReads | None,
) -> Checked:
    """Validate a form, then the rules about its sender and the relationship it names.

    `msg` None: a form file on its own (a preview), with no sender to check. `register` None:
    no database to look the relationship up in; a flag says it was not checked.
    """
    office_given = form.values.get("dscro") not in (None, "")
    if rules.default_office and not office_given:
        form = replace(form, values={**form.values, "dscro": rules.default_office})
    checked = validate(form, rules.context)
    if rules.default_office and not office_given:
        note = f"no regional office named: placed in {rules.default_office}, the mailbox's office"
        checked.flags.append(Flag("dscro", note))
    sender = msg.from_addr if msg else ""
    if msg and rules.allowed_domains and not email_domain_allowed(sender, rules.allowed_domains):
        who = sender or "an unknown address"
        checked.flags.append(Flag(None, f"sent from {who}, outside the allowed domains"))
    verification = ""
    changes_register = checked.request_type in (RequestType.CHANGE, RequestType.END)
    if checked.complete and changes_register:
        if register is None:
            checked.flags.append(Flag("existing_reference", REGISTER_NOT_CHECKED))
        else:
            verification = _check_relationship(
                register, checked, sender, rules.context.today, rules.context.known_ods
            )
    unverified = unverified_from(msg.defects) if msg else None
    if unverified:
        concern = f"the sender is unverified ({unverified}): check who sent it before acting"
        checked.flags.append(Flag(None, concern))
        if checked.complete and changes_register and not verification:
            verification = concern
    domain = domain_of(sender)
    concern_ = dmarc_concern(msg.authentication, rules.authserv_id, domain) if msg else None
    if concern_:
        checked.flags.append(Flag(None, concern_))
        if rules.require_dmarc_pass and checked.complete and not verification:
            verification = concern_
    return Checked(checked, verification)


def _check_relationship(
    register: RelationshipReads,
    checked: Validation,
    sender: str,
    today: date,
    known: frozenset[str],
) -> str:
    reference = str(checked.values.get("existing_reference") or "")
    relationship = register.by_reference(reference)
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
    if checked.request_type is RequestType.END:
        checked.flags += _commissioner_named(checked, relationship, known)
    if sender.lower() in register.contacts_for(relationship):
        return ""
    return (
        f"{sender or 'the sender'} is not a registered contact of an organisation in "
        f"{relationship.reference}; verify before acting"
    )


def _commissioner_named(
    checked: Validation, relationship: Relationship, known: frozenset[str]
) -> list[Flag]:
    """An end that names another commissioner than the register's may mean another relationship
    (or the successor of one that closed): staff check before ending it. An end's form keeps no
    processor to compare."""
    held = (relationship.commissioner_ods or "").strip().upper()
    named = str(checked.values.get("commissioner_ods") or "").strip().upper()
    if not held or not named or named == held:
        return []
    said = f"the form names {named}; {relationship.reference} names {held}"
    if isinstance(known, OrganisationIndex) and _succeeded(known, held, named):
        said += f" (ODS gives {named} as {held}'s successor)"
    elif isinstance(known, OrganisationIndex) and _succeeded(known, named, held):
        said += f" (ODS gives {held} as {named}'s successor)"
    return [Flag("commissioner_ods", f"{FIELDS_BY_KEY['commissioner_ods'].label}: {said}.")]


def _succeeded(index: OrganisationIndex, old: str, new: str) -> bool:
    """Whether ODS's successions lead from `old` to `new`, over any number of steps."""
    seen, step = {old}, [old]
    while step:
        step = [s for code in step for s in index.direct_successors(code) if s not in seen]
        if new in step:
            return True
        seen.update(step)
    return False


def settle(
    unit: Unit, request: Request, checked: Checked, rules: FilingRules, now: datetime, actor: str
) -> None:
    """Put a checked form (its values and the file it came from) on `request`, and move it to
    its status and queue."""
    before = Status(request.status)
    status, note = apply_checked(request, checked, rules, now)
    record_status(unit, request, before, status, now, actor, note)


def apply_checked(
    request: Request, checked: Checked, rules: FilingRules, now: datetime
) -> tuple[Status, str]:
    """`settle` without its audit event: the request's new status, and the event's note."""
    v = checked.validation
    values = v.values_json()
    dscro = values.get("dscro")
    request.source = v.source  # a corrected form replaces the first one: its file is named now
    request.request_type = v.request_type.value if v.request_type else None
    request.values = values
    request.dscro = dscro if isinstance(dscro, str) and dscro else None
    request.problems = [
        {"field": p.field_key, "label": p.label, "found": p.found, "message": p.message}
        for p in v.problems
    ]
    flags: list[dict[str, Any]] = [{"field": f.field_key, "message": f.message} for f in v.flags]
    if checked.verification:
        flags.append({"field": None, "message": checked.verification})
    request.flags = flags
    request.requester_email = str(values.get("requester_email") or "")
    request.commissioner_ods = str(values.get("commissioner_ods") or "") or None
    if not v.complete:
        status = Status.INCOMPLETE
    elif checked.verification:
        status = Status.VERIFICATION
    else:
        status = Status.TRIAGED
    place(request, status, now, rules.targets)
    return status, f"{len(v.problems)} problem(s), {len(request.flags)} flag(s)"


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
    """The audit event of a status change (invariant 6), through the one writer."""
    audit.record(
        unit,
        action="status",
        at=now,
        actor=actor,
        request=request,
        inbound=request.inbound_id,
        from_status=before,
        to_status=after,
        note=note,
    )
