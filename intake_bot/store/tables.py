"""The database tables. Changes here need an Alembic migration (store/migrations/versions).

The services never see these rows: `mapping.py` maps the domain records onto the same tables."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import deferred
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which drops the zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc() -> Any:
    return Column(UtcDateTime(), nullable=False)


def _utc_null() -> Any:
    return Column(UtcDateTime(), nullable=True)


class MailboxCursor(SQLModel, table=True):
    """Where a mailbox's poll stands: the cursor its source gave last, and how the last poll went.

    Keyed by the mailbox's name in the settings, which stays put when its URL changes.
    """

    __tablename__ = "mailbox_cursor"
    mailbox: str = Field(primary_key=True, max_length=400)
    # Opaque, read only by the mail source (IMAP "uidvalidity:uid"; a Graph delta link is long).
    cursor: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = Field(sa_column=_utc())  # when the cursor last moved
    polled_at: datetime | None = Field(default=None, sa_column=_utc_null())
    poll_seconds: float | None = None  # how long the last poll took
    poll_ok: bool | None = None
    poll_detail: str = Field(default="", max_length=1000)
    failing_since: datetime | None = Field(default=None, sa_column=_utc_null())


class Lease(SQLModel, table=True):
    """A named lease (e.g. the poller of one mailbox), so that replicas take turns."""

    __tablename__ = "lease"
    name: str = Field(primary_key=True, max_length=400)
    holder: str = Field(max_length=200)
    expires_at: datetime = Field(sa_column=_utc())


class ProcessingAttempt(SQLModel, table=True):
    """Failures at one message: counted only when processing it raised (a kill is not one)."""

    __tablename__ = "processing_attempt"
    mailbox: str = Field(primary_key=True, max_length=400)
    location: str = Field(primary_key=True, max_length=500)  # the source's key for it
    attempts: int = 0
    last_error: str = ""
    updated_at: datetime = Field(sa_column=_utc())


class InboundMessageRow(SQLModel, table=True):
    """Every email the bot took from the mailbox, archived whole."""

    __tablename__ = "inbound_message"
    __table_args__ = (UniqueConstraint("mailbox", "location", name="uq_inbound_location"),)
    id: int | None = Field(default=None, primary_key=True)
    # Message-ID, or "sha256:<hash of the raw bytes>" when there is none: one filing per key.
    dedupe_key: str = Field(unique=True, max_length=1000)
    mailbox: str = Field(max_length=400)  # the mailbox's name in the settings
    location: str = Field(max_length=500)  # where it sat: the key its mail source gave it
    message_id: str | None = Field(default=None, index=True, max_length=1000)
    sha256: str = Field(max_length=64)
    size: int
    raw: bytes = Field(sa_column=deferred(Column(LargeBinary, nullable=False)))  # type: ignore[call-overload]
    from_addr: str = Field(default="", index=True, max_length=320)
    from_name: str = Field(default="", max_length=400)
    subject: str = Field(default="", max_length=2000)
    sent_at: datetime | None = Field(default=None, sa_column=_utc_null())
    filed_at: datetime = Field(sa_column=_utc())
    # filed | enquiry | unreadable | automated | quarantined | reply
    outcome: str = Field(max_length=40, index=True)
    queue: str | None = Field(default=None, index=True, max_length=200)
    note: str = Field(default="", max_length=4000)  # why, for staff; never message content
    # The first request filed from it (no foreign key: request → inbound already points back).
    request_id: int | None = Field(default=None, index=True)


class AttachmentRow(SQLModel, table=True):
    __tablename__ = "attachment"
    id: int | None = Field(default=None, primary_key=True)
    inbound_id: int = Field(foreign_key="inbound_message.id", index=True)
    filename: str = Field(max_length=500)
    content_type: str = Field(max_length=200)
    size: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=deferred(Column(LargeBinary, nullable=False)))  # type: ignore[call-overload]
    outcome: str = Field(max_length=40)  # form | rejected | ignored
    note: str = Field(default="", max_length=2000)


class RequestRow(SQLModel, table=True):
    """One request (one filled-in form). Its reference is LR-<id, six digits>."""

    __tablename__ = "request"
    __table_args__ = (
        Index("ix_request_queue_status", "queue", "status"),
        # The console's counts per queue read this index alone, not 50,000 rows.
        Index("ix_request_status_queue_due", "status", "queue", "due_on"),
        # A search reads this narrow index, not the rows with their forms (a tenth the bytes).
        Index("ix_request_search", "status", "office", "search_text", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    inbound_id: int = Field(foreign_key="inbound_message.id", index=True)
    attachment_id: int | None = Field(default=None, foreign_key="attachment.id")
    source: str = Field(max_length=500)
    request_type: str | None = Field(default=None, max_length=20)
    status: str = Field(max_length=30, index=True)
    queue: str = Field(max_length=200)
    dscro: str | None = Field(default=None, max_length=200)
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    problems: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    flags: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    requester_email: str = Field(default="", index=True, max_length=320)
    sender_email: str = Field(default="", max_length=320)
    commissioner_ods: str | None = Field(default=None, index=True, max_length=10)
    assigned_to: str | None = Field(default=None, max_length=200)
    due_on: date | None = None
    relationship_id: int | None = Field(default=None, foreign_key="relationship.id", index=True)
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())
    # The office part of the queue ("north" of "north/new"), and what the console's search
    # looks in, lower-cased: both kept by the store (store/request_queries.py), for its indexes.
    office: str = Field(default="", max_length=200)
    search_text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class EventRow(SQLModel, table=True):
    """The audit trail: who did what, when, from what to what, and why."""

    __tablename__ = "event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_utc())
    actor: str = Field(max_length=200)
    action: str = Field(max_length=60)
    request_id: int | None = Field(default=None, foreign_key="request.id", index=True)
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id", index=True)
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")
    from_status: str | None = Field(default=None, max_length=30)
    to_status: str | None = Field(default=None, max_length=30)
    note: str = Field(default="", max_length=4000)


class OutboxRow(SQLModel, table=True):
    """Every email the bot sends, rendered with its Message-ID in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True, max_length=500)
    kind: str = Field(max_length=40)
    request_id: int | None = Field(default=None, foreign_key="request.id", index=True)
    inbound_id: int | None = Field(default=None, foreign_key="inbound_message.id", index=True)
    sender: str = Field(max_length=320)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    first_recipient: str = Field(default="", index=True, max_length=320)  # for the rate limit
    subject: str = Field(max_length=1000)
    raw: bytes = Field(sa_column=deferred(Column(LargeBinary, nullable=False)))  # type: ignore[call-overload]
    status: str = Field(default="pending", max_length=20)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=_utc())
    last_error: str = Field(default="", max_length=2000)
    created_at: datetime = Field(sa_column=_utc())
    sent_at: datetime | None = Field(default=None, sa_column=_utc_null())


class OrganisationRow(SQLModel, table=True):
    __tablename__ = "organisation"
    ods: str = Field(primary_key=True, max_length=10)
    name: str = Field(max_length=400)
    type: str = Field(default="Other", max_length=60)
    contacts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ApprovalRow(SQLModel, table=True):
    """A section 251 (CAG) approval, by its canonical reference."""

    __tablename__ = "approval"
    reference: str = Field(primary_key=True, max_length=60)
    title: str = Field(max_length=1000)
    purposes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    expires: date


class RelationshipRow(SQLModel, table=True):
    """A legitimate commissioning relationship in the register (LCR-000123)."""

    __tablename__ = "relationship"
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=20)
    status: str = Field(default="active", max_length=20, index=True)  # active | ended
    dscro: str | None = Field(default=None, max_length=200, index=True)
    commissioner_ods: str | None = Field(default=None, max_length=10, index=True)
    processor_ods: str | None = Field(default=None, max_length=10, index=True)
    current_version: int = 1
    ended_on: date | None = None
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class RelationshipVersionRow(SQLModel, table=True):
    """Every state a relationship has had; the newest is current. Changes never overwrite."""

    __tablename__ = "relationship_version"
    __table_args__ = (
        UniqueConstraint("relationship_id", "version", name="uq_relationship_version"),
    )
    id: int | None = Field(default=None, primary_key=True)
    relationship_id: int = Field(foreign_key="relationship.id", index=True)
    version: int
    values: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    effective_from: date | None = None
    request_id: int | None = Field(default=None, foreign_key="request.id", index=True)
    source: str = Field(default="", max_length=500)  # "LR-000123" or "import register.xlsx row 7"
    created_at: datetime = Field(sa_column=_utc())


class DigestLogRow(SQLModel, table=True):
    """One staff digest per regional office per day, whatever restarts happen."""

    __tablename__ = "digest_log"
    office: str = Field(primary_key=True, max_length=200)
    day: date = Field(primary_key=True)
    sent_at: datetime = Field(sa_column=_utc())
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")
    items: int = 0


class ApprovalExtensionRow(SQLModel, table=True):
    """The history of an s251 approval's expiry dates."""

    __tablename__ = "approval_extension"
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(foreign_key="approval.reference", index=True, max_length=60)
    previous_expiry: date
    new_expiry: date
    note: str = Field(default="", max_length=2000)
    by: str = Field(default="", max_length=200)
    at: datetime = Field(sa_column=_utc())


class ReminderSentRow(SQLModel, table=True):
    """A reminder before an approval expires: once per (approval, relationship, expiry, offset)."""

    __tablename__ = "reminder_sent"
    __table_args__ = (
        UniqueConstraint(
            "reference", "relationship_id", "expiry", "offset_days", name="uq_reminder_once"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=60, index=True)
    relationship_id: int = Field(foreign_key="relationship.id", index=True)
    expiry: date
    offset_days: int  # days before expiry; 0 for the expiry alert
    sent_at: datetime = Field(sa_column=_utc())
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")


class StaffAlertRow(SQLModel, table=True):
    """A once-only alert to staff (an approval expired today, an office's reminder summary...)."""

    __tablename__ = "staff_alert"
    key: str = Field(primary_key=True, max_length=300)  # e.g. "expired:CAG 7-04(a)/2013:2017-03-31"
    sent_at: datetime = Field(sa_column=_utc())
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")


class StaffAccountRow(SQLModel, table=True):
    """A member of staff who signs in to the web console; the password only as an argon2 hash."""

    __tablename__ = "staff_account"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    offices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    password_hash: str = Field(max_length=300)
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=_utc_null())
    last_login_at: datetime | None = Field(default=None, sa_column=_utc_null())
    created_at: datetime = Field(sa_column=_utc())
    totp_secret: str | None = Field(default=None, max_length=64)
