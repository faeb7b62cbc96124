"""What staff see as they move requests and messages along: one request, one archived email,
and what each action did (the queues themselves are `queue_views`). Pure: no I/O; the use cases
build these, entry points show them (tables as dd/mm/yyyy, JSON as ISO 8601).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from intake_bot.domain.legal_basis import Expiring, approvals_relied_on, legal_basis_expired

# -- history: emails in and out, attachments, the audit trail ---------------------------------


@dataclass(frozen=True)
class EmailIn:
    reference: str  # MSG-12
    sender: str
    subject: str
    message_id: str | None
    outcome: str
    filed_at: datetime


@dataclass(frozen=True)
class EmailOut:
    kind: str
    to: tuple[str, ...]
    subject: str
    status: str  # pending | sending | sent | failed
    message_id: str
    created_at: datetime
    sent_at: datetime | None
    last_error: str = ""


@dataclass(frozen=True)
class AttachmentInfo:
    filename: str
    content_type: str
    size: int  # bytes
    outcome: str  # form | rejected | ignored
    note: str
    id: int | None = None  # to download it (`Requests.attachment`, `Messages.attachment`)


@dataclass(frozen=True)
class AttachmentFile:
    """An attachment's bytes, to hand to staff as a download (never to open in the browser)."""

    filename: str
    content_type: str  # as the sender declared it: not to be trusted
    data: bytes


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str


# -- legal basis ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartsWithoutLegalBasis:
    """An s251 approval relied on expires before the relationship takes effect."""

    approval: str
    expires: date
    takes_effect: date


@dataclass(frozen=True)
class LegalBasis:
    """The s251 approvals a request (or its relationship) relies on, and any that do not hold."""

    relied_on: tuple[str, ...]
    expired: tuple[str, ...]  # expired by today
    lapses_before_start: tuple[StartsWithoutLegalBasis, ...] = ()

    @property
    def holds(self) -> bool:
        return not self.expired and not self.lapses_before_start


def check_legal_basis(
    values: Mapping[str, object],
    approvals: Sequence[Expiring],
    *,
    today: date,
    takes_effect: date | None,
) -> LegalBasis:
    """Which approvals `values` rely on have expired by `today`, and which expire before
    `takes_effect` (a relationship approved today that starts later would start without
    them). The rule itself is `legal_basis.legal_basis_expired`."""
    relied = approvals_relied_on(values)
    expired = legal_basis_expired(relied, approvals, today)
    later: list[StartsWithoutLegalBasis] = []
    if takes_effect is not None and takes_effect > today:
        expiry = {a.reference: a.expires for a in approvals}
        for ref in legal_basis_expired(relied, approvals, takes_effect):
            if ref not in expired:
                later.append(StartsWithoutLegalBasis(ref, expiry[ref], takes_effect))
    return LegalBasis(tuple(relied), tuple(expired), tuple(later))


# -- requests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestDetail:
    """Everything about one request: fields, problems, emails in and out, attachments, trail."""

    reference: str
    kind: str  # "New relationship"...
    request_type: str | None
    status: str
    status_label: str
    closed: bool
    queue: str
    dscro: str | None
    assigned_to: str | None
    due_on: date | None  # None once the request is closed: nothing is due
    source: str
    created_at: datetime
    updated_at: datetime
    fields: tuple[tuple[str, str], ...]  # (label, value) in form order
    problems: tuple[str, ...]
    flags: tuple[str, ...]
    emails_in: tuple[EmailIn, ...]
    emails_out: tuple[EmailOut, ...]
    attachments: tuple[AttachmentInfo, ...]
    events: tuple[AuditEntry, ...]
    relationship: str | None  # LCR-000123 once approved
    legal_basis: LegalBasis


@dataclass(frozen=True)
class StatusChange:
    reference: str
    from_status: str
    to_status: str
    relationship: str | None  # LCR reference when an approval changed the register
    email_queued: bool  # the requester will be told
    # An approval whose relationship has (or will have, when it takes effect) no legal basis.
    legal_basis: LegalBasis | None = None


@dataclass(frozen=True)
class Assignment:
    reference: str
    before: str | None
    after: str | None


# -- messages that hold no request -----------------------------------------------------------


@dataclass(frozen=True)
class MessageDetail:
    """One archived email as staff read it. The body is plain text, never rendered HTML."""

    reference: str  # MSG-12
    outcome: str  # filed | enquiry | unreadable | automated | quarantined | reply
    queue: str | None
    awaiting_staff: bool  # in a queue and taken over by no request
    note: str  # what the bot made of it
    request: str | None  # the request it filed or was linked to
    mailbox: str
    filed_at: datetime
    sender: str
    sender_name: str
    reply_to: str | None
    to: tuple[str, ...]
    subject: str
    sent_at: datetime | None
    message_id: str | None
    in_reply_to: str | None
    body: str
    body_cut: int  # characters of the body not shown
    unreadable: str  # why the message could not be read at all ("" when it could)
    attachments: tuple[AttachmentInfo, ...]
    emails_out: tuple[EmailOut, ...]
    events: tuple[AuditEntry, ...]


@dataclass(frozen=True)
class Answered:
    reference: str
    to: str
    subject: str
    message_id: str  # of the answer, fixed in the outbox
    template: str


@dataclass(frozen=True)
class Linked:
    reference: str
    request: str
    queue_before: str | None


@dataclass(frozen=True)
class Closed:
    reference: str
    queue_before: str | None


@dataclass(frozen=True)
class Released:
    reference: str
    outcome: str  # what intake made of it this time
    result: str | None  # the message filed from it (MSG-n), None if nothing was archived
    requests: tuple[str, ...]  # requests filed from it


# -- digests -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestReport:
    """What one run did, office by office (office names as configured)."""

    sent: dict[str, int] = field(default_factory=dict)  # office → items, review items too
    skipped_empty: tuple[str, ...] = ()
    skipped_already_sent: tuple[str, ...] = ()
    skipped_no_staff: tuple[str, ...] = ()
