"""Replies thread onto their request instead of being filed as new ones.

A reply is recognised by `classify.find_thread` (In-Reply-To/References naming one of our own
emails, or a request reference in its subject). Recognising it proves nothing about who sent
it: a reply may change its request only when its From is verified (one address, read one way;
DMARC passing for that address's domain when our server checks it) and that address is the
request's requester, the one who sent it, its authoriser or a registered contact of an
organisation it names (`who_may_change`). Anyone else's reply is correspondence: attached to
the request and flagged for staff, its forms not applied nor filed, and its sender told only
that it was passed on (`reply_not_applied`), never anything about the request.

From a party to the request, a corrected form attached to a reply to an incomplete request
replaces the form and is checked again; answers typed into the reply's body correct only the
fields they name, the others keeping the request's answers (people type the one line they were
asked to fix, not the whole form again). Any further form is filed anew. The requester's
address never changes through a reply, and mail about the request goes only to the addresses
recorded when it was filed (and registered contacts): never to a Reply-To the reply brought.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from intake_bot.domain.form_versions import older_form
from intake_bot.domain.rawform import RawForm, RawValue
from intake_bot.domain.records import InboundMessage, Request, saved_id
from intake_bot.domain.sender import dmarc_concern, domain_of
from intake_bot.domain.status import Status
from intake_bot.domain.triage import QUARANTINE, message_reference, request_reference
from intake_bot.forms.headers import unverified_from
from intake_bot.forms.readings import FileReading, ParsedMessage
from intake_bot.forms.text import SOURCE as TYPED
from intake_bot.ports import ReferenceRepository, Unit
from intake_bot.services import audit
from intake_bot.services.answers import (
    STAFF_WILL_LOOK,
    acknowledge,
    form_not_applied,
    reply_not_applied,
    reply_without_request,
    unread_versions,
)
from intake_bot.services.filing import CheckRules, FilingRules, check, file_forms, settle
from intake_bot.services.notify import display_value

# A corrected form is applied to a request in these states; later, staff decide.
CORRECTABLE = frozenset({Status.INCOMPLETE.value, Status.VERIFICATION.value})
TYPED_IN_REPLY = " and answers typed in a reply"


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
    answers_ours: bool = False,
    typed: RawForm | None = None,
) -> ThreadResult:
    """Attach `inbound` to `request`; from a party to it, apply a corrected form and file any
    further forms anew; from anyone else, flag it for staff and change nothing.

    `answers_ours`: the reply names one of our emails in its headers (then a reply without a
    form is never answered automatically: that is how loops with robots start). `typed`: the
    answers typed in its body, read as a correction (the sender's own lines above the sign-off,
    one will do); for a request still correctable they stand for any form typed in the body,
    and apply only from a party. A party's reply in which nothing is read is flagged.
    """
    reference = request_reference(saved_id(request))
    inbound.request_id = request.id
    sender = msg.from_addr or "unknown"
    _event(unit, request, inbound, now, "reply_received", f"from {sender}")
    refused = who_may_change(unit.reference, request, msg, rules.checks)
    if refused:
        return _correspondence(
            unit, request, inbound, msg, forms, rules, now, refused, answers_ours
        )
    result = ThreadResult([reference], 0)
    unread = unread_versions(rejected)
    if request.status in CORRECTABLE and (not forms or forms[0][0] is None):
        # Typed into the reply: read as a correction (the sender's own lines, above the sign-off),
        # unless it declares a version no file maps: then not read at all, as such a file is
        body_unread = any(r.filename == TYPED and r.unmapped_version for r in rejected)
        forms = [] if typed is None or body_unread else [(None, typed)]
    if not forms:
        if unread and request.status not in CORRECTABLE:  # nothing to correct: told why
            _not_applied(unit, request, inbound, msg, rejected, rules, now, result, answer=True)
        elif unread:  # a form on a version no mapping covers: told, and shown to staff
            _unread_form(unit, request, inbound, msg, rejected, rules, now, result)
        elif request.status in CORRECTABLE or rejected:
            files = f"; {len(rejected)} attached file(s) not read" if rejected else ""
            _flag(request, f"a reply from {sender} with no form nor answers read{files}: read it")
        return result
    (index, form), extra = forms[0], forms[1:]
    if request.status in CORRECTABLE:
        before, typed_keys = list(request.flags), set(form.values)
        if index is None:  # typed into the reply: the fields named, onto the request's answers
            form = onto_request(request, form)
        _apply_correction(unit, request, inbound, msg, form, rules, now)
        if index is None:  # what staff were told of the answers kept still holds
            kept = [f for f in before if f.get("field") not in typed_keys]
            request.flags = [*request.flags, *(f for f in kept if f not in request.flags)]
        request.flags = [*request.flags, *unread]
        if index is not None:
            request.attachment_id = attachment_ids.get(index)
        to = _recorded_address(unit.reference, request, msg)
        result.replies += acknowledge(
            unit,
            rules.notifier,
            msg,
            inbound,
            request,
            rejected,
            now,
            to=to,
            older_form=older_form(form),
            unknown_labels=form.unknown_labels,
        )
    else:
        _flag(request, f"a new form arrived while the request was {request.status}; not applied")
        # an attached form is answered; text in the body may be our own ack forwarded back
        answer = index is not None
        _not_applied(unit, request, inbound, msg, rejected, rules, now, result, answer=answer)
    if extra:
        filed = file_forms(
            unit,
            inbound=inbound,
            msg=msg,
            forms=extra,
            attachment_ids=attachment_ids,
            rejected=rejected,
            rules=rules,
            now=now,
        )
        result.references += filed.references
        result.replies += filed.replies
    return result


def _not_applied(
    unit: Unit,
    request: Request,
    inbound: InboundMessage,
    msg: ParsedMessage,
    rejected: Sequence[FileReading],
    rules: FilingRules,
    now: datetime,
    result: ThreadResult,
    *,
    answer: bool,
) -> None:
    """A party's form to a request no longer being corrected: recorded for staff and, when
    `answer`, the sender told why (at the address recorded for the request)."""
    told = (
        f"the sender was told their form was not applied, the request being {request.status}"
        if answer
        else "the sender was not answered"
    )
    request.flags = [*request.flags, *unread_versions(rejected, told=told)]
    _event(unit, request, inbound, now, "form_not_applied", f"request was {request.status}")
    if answer:
        to = _recorded_address(unit.reference, request, msg)
        result.replies += form_not_applied(unit, rules.notifier, msg, inbound, request, now, to=to)


def _unread_form(
    unit: Unit,
    request: Request,
    inbound: InboundMessage,
    msg: ParsedMessage,
    rejected: Sequence[FileReading],
    rules: FilingRules,
    now: datetime,
    result: ThreadResult,
) -> None:
    """A party's reply whose only form is on a version the bot cannot read: the request is
    flagged, the email goes to the quarantine queue as a new one would (released once a
    config/forms/ file maps the version, it is applied as the correction it is), and the
    sender is sent the cannot-read reply with the current form, saying the request still
    waits (at the address recorded for the request). No robot sends a form: no loop."""
    newer = all(r.rejection.newer for r in rejected if r.rejection is not None)
    told = STAFF_WILL_LOOK if newer else "the sender was asked to send it again on today's form"
    # Waiting in quarantine, as a new email on such a version does: not yet the request's.
    inbound.queue, inbound.request_id = QUARANTINE, None
    inbound.note = f"{inbound.note}: its form is on a version no config/forms/ file maps"
    # Said as what happened, which stays true once staff release or close it.
    ref = message_reference(saved_id(inbound))
    held = f"{told}; the email was put in the quarantine queue as {ref}"
    request.flags = [*request.flags, *unread_versions(rejected, told=held)]
    _event(unit, request, inbound, now, "flagged", "a reply's form is on a version not read")
    to = _recorded_address(unit.reference, request, msg)
    result.replies += reply_without_request(
        unit, rules.notifier, msg, inbound, "unreadable", rejected, now, to=to, request=request
    )


class Contacts(Protocol):
    """The registered contacts of organisations (`ReferenceRepository` has them)."""

    def organisation_contacts(self, ods_codes: Sequence[str]) -> set[str]: ...


def who_may_change(
    reference: Contacts, request: Request, msg: ParsedMessage, rules: CheckRules
) -> str:
    """Why a reply may not change `request` ("" when it may): see the module docstring."""
    unverified = unverified_from(msg.defects)
    if unverified:
        return f"the sender is unverified ({unverified})"
    if rules.authserv_id:
        concern = dmarc_concern(msg.authentication, rules.authserv_id, domain_of(msg.from_addr))
        if concern:
            return concern
    if not may_speak_for(reference, request, msg.from_addr):
        return (
            f"{msg.from_addr or 'an unknown address'} is neither the requester, the authoriser "
            "nor a registered contact of the organisations involved"
        )
    return ""


def may_speak_for(reference: Contacts, request: Request, sender: str) -> bool:
    """Whether `sender` is a party to `request`: its requester, the one who sent it, its
    authoriser, or a registered contact of an organisation it names."""
    sender = sender.strip().lower()
    return bool(sender) and sender in _parties(reference, request)


def _parties(reference: Contacts, request: Request) -> set[str]:
    own = {
        request.requester_email.lower(),
        request.sender_email.lower(),
        str(request.values.get("authoriser_email") or "").lower(),
    }
    codes = [request.commissioner_ods, str(request.values.get("processor_ods") or "")]
    return (own | reference.organisation_contacts([c for c in codes if c])) - {""}


def _recorded_address(reference: ReferenceRepository, request: Request, msg: ParsedMessage) -> str:
    """Where the answer to a party's reply goes: its Reply-To only if that too is a party,
    else its From (a party, or it would not be answered at all)."""
    parties = _parties(reference, request)
    for candidate in (msg.reply_to, msg.from_addr):
        if candidate and candidate.strip().lower() in parties:
            return candidate.strip().lower()
    return ""


def _apply_correction(
    unit: Unit,
    request: Request,
    inbound: InboundMessage,
    msg: ParsedMessage,
    form: RawForm,
    rules: FilingRules,
    now: datetime,
) -> None:
    """Check a corrected form and put it on `request`, keeping the addresses it was filed with."""
    requester, sender = request.requester_email, request.sender_email
    checked = check(form, msg, rules.checks, unit.register)
    settle(unit, request, checked, rules, now, actor="requester")
    _event(unit, request, inbound, now, "form_replaced", f"corrected form from {form.source}")
    named = request.requester_email
    request.sender_email = sender
    if requester and named.lower() != requester.lower():
        request.requester_email = requester
        request.values = {**request.values, "requester_email": requester}
        _flag(
            request,
            f"the corrected form names another requester ({named or 'none'}); mail still goes "
            f"to {requester}, as filed: staff may change it after checking",
        )
        _event(unit, request, inbound, now, "flagged", "corrected form names another requester")


def onto_request(request: Request, typed: RawForm) -> RawForm:
    """`typed` (answers in a reply's body) laid over the answers `request` holds, as text read
    again the way a form gives it: a field typed replaces the request's answer, a field left
    out keeps it. One that failed its check has no answer kept, so it is asked for again."""
    kept: dict[str, RawValue] = {}
    for key, value in request.values.items():
        shown = display_value(value)
        if shown:
            kept[key] = shown
    given = {k: v for k, v in typed.values.items() if v not in (None, "")}
    source = request.source or typed.source
    if not source.endswith(TYPED_IN_REPLY):  # a second typed correction says it once
        source += TYPED_IN_REPLY
    return replace(typed, source=source, values={**kept, **given})


def _correspondence(
    unit: Unit,
    request: Request,
    inbound: InboundMessage,
    msg: ParsedMessage,
    forms: Sequence[tuple[int | None, RawForm]],
    rules: FilingRules,
    now: datetime,
    why: str,
    answers_ours: bool,
) -> ThreadResult:
    """A reply from someone who may not change the request: kept, flagged, barely answered."""
    forms_note = f"; {len(forms)} form(s) in it not applied" if forms else ""
    _flag(request, f"a reply that may not change this request: {why}{forms_note}")
    _event(
        unit, request, inbound, now, "flagged", f"correspondence, not applied: {why}{forms_note}"
    )
    if answers_ours and not forms:
        audit.record(
            unit,
            action="reply_suppressed",
            at=now,
            request=request,
            inbound=inbound,
            note="answers one of our emails without a form: no second automatic reply",
        )
        return ThreadResult([request_reference(saved_id(request))], 0)
    replies = reply_not_applied(unit, rules.notifier, msg, inbound, now)
    return ThreadResult([request_reference(saved_id(request))], replies)


def _flag(request: Request, message: str) -> None:
    # Reassign, not append: the JSON column only notices a new list.
    request.flags = [*request.flags, {"field": None, "message": message}]


def _event(
    unit: Unit, request: Request, inbound: InboundMessage, now: datetime, action: str, note: str
) -> None:
    audit.record(unit, action=action, at=now, request=request, inbound=inbound, note=note)
