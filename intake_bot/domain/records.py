"""What intake-bot keeps: plain classes that the services build, read and change.

The store persists them (it maps each onto its table in `store/mapping.py`), so a service works
on these and never on a database row; the in-memory fakes in the tests keep the same classes.
An `id` is None until the unit of work that added the record has flushed it.
`eq=False`: two records are the same only if they are the same object (one per row per unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


def saved_id(record: Any) -> int:
    """The id of a record that has been flushed (every `id` is optional until then)."""
    key = record.id
    if key is None:
        raise ValueError(f"{type(record).__name__} has no id yet: flush the unit first")
    return int(key)


@dataclass(eq=False)
class InboundMessage:
    """Every email the bot took from a mailbox, archived whole."""

    dedupe_key: str  # Message-ID, or "sha256:<hash of the raw bytes>" when there is none
    mailbox: str  # the name of the mailbox it came from
    location: str  # where it sits in that mailbox: the key its mail source gave it
    sha256: str
    size: int
    raw: bytes
    filed_at: datetime
    outcome: str  # filed | enquiry | unreadable | automated | quarantined | reply
    message_id: str | None = None
    from_addr: str = ""
    from_name: str = ""
    subject: str = ""
    sent_at: datetime | None = None
    queue: str | None = None
    note: str = ""  # why, for staff; never message content
    request_id: int | None = None  # the first request filed from it
    id: int | None = None


@dataclass(eq=False)
class Attachment:
    inbound_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    data: bytes
    outcome: str  # form | rejected | ignored
    note: str = ""
    id: int | None = None


@dataclass(eq=False)
class Request:
    """One request (one filled-in form). Its reference is LR-<id, six digits>."""

    inbound_id: int
    source: str
    status: str
    queue: str
    created_at: datetime
    updated_at: datetime
    attachment_id: int | None = None
    request_type: str | None = None
    dscro: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    requester_email: str = ""
    sender_email: str = ""
    commissioner_ods: str | None = None
    assigned_to: str | None = None
    due_on: date | None = None
    relationship_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class Event:
    """The audit trail: who did what, when, from what to what, and why."""

    at: datetime
    actor: str
    action: str
    request_id: int | None = None
    inbound_id: int | None = None
    outbox_id: int | None = None
    from_status: str | None = None
    to_status: str | None = None
    note: str = ""
    id: int | None = None


@dataclass(eq=False)
class Outbox:
    """An email the bot sends, rendered with its Message-ID in the transaction that caused it."""

    message_id: str
    kind: str
    sender: str
    subject: str
    raw: bytes
    next_attempt_at: datetime
    created_at: datetime
    recipients: list[str] = field(default_factory=list)
    first_recipient: str = ""  # for the rate limit
    request_id: int | None = None
    inbound_id: int | None = None
    status: str = "pending"  # pending | sending | sent | failed
    attempts: int = 0
    last_error: str = ""
    sent_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class Organisation:
    ods: str
    name: str
    type: str = "Other"
    contacts: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Approval:
    """A section 251 (CAG) approval, by its canonical reference."""

    reference: str
    title: str
    expires: date
    purposes: list[str] = field(default_factory=list)


@dataclass(eq=False)
class ApprovalExtension:
    """One change of an s251 approval's expiry date."""

    reference: str
    previous_expiry: date
    new_expiry: date
    at: datetime
    note: str = ""
    by: str = ""
    id: int | None = None


@dataclass(eq=False)
class Relationship:
    """A legitimate commissioning relationship in the register (LCR-000123)."""

    reference: str
    created_at: datetime
    updated_at: datetime
    status: str = "active"  # active | ended
    dscro: str | None = None
    commissioner_ods: str | None = None
    processor_ods: str | None = None
    current_version: int = 1
    ended_on: date | None = None
    id: int | None = None


@dataclass(eq=False)
class RelationshipVersion:
    """One state a relationship has had; the newest is current. Changes never overwrite."""

    relationship_id: int
    version: int
    created_at: datetime
    values: dict[str, Any] = field(default_factory=dict)
    effective_from: date | None = None
    request_id: int | None = None
    source: str = ""  # "LR-000123" or "import register.xlsx row 7"
    id: int | None = None


@dataclass(eq=False)
class DigestLog:
    """One staff digest per regional office per day."""

    office: str
    day: date
    sent_at: datetime
    outbox_id: int | None = None
    items: int = 0


@dataclass(eq=False)
class ReminderSent:
    """A reminder before an approval expires: once per (approval, relationship, expiry, offset)."""

    reference: str
    relationship_id: int
    expiry: date
    offset_days: int  # days before expiry; 0 for the expiry alert
    sent_at: datetime
    outbox_id: int | None = None
    id: int | None = None


@dataclass(eq=False)
class StaffAlert:
    """A once-only alert to staff (an approval expired today, an office's reminder summary...)."""

    key: str
    sent_at: datetime
    outbox_id: int | None = None


@dataclass(eq=False)
class StaffAccount:
    """A member of DSfC staff who signs in to the web console (`domain.staff` says what they may
    do). Only a hash of the password is kept."""

    email: str  # lower-cased: how they sign in
    name: str
    role: str  # domain.staff.Role
    offices: list[str]  # the regional offices whose work they see, by name
    password_hash: str
    created_at: datetime
    disabled: bool = False
    failed_logins: int = 0  # wrong passwords in a row
    locked_until: datetime | None = None
    last_login_at: datetime | None = None
    totp_secret: str | None = None  # an admin's second factor (RFC 6238), base32
    id: int | None = None
