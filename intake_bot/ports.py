"""The small interfaces that adapters implement and services depend on."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from intake_bot.errors import DatabaseUnavailableError, OperatorError

# The mail side's ports live in ports_mail; named here too, where the services look for them.
from intake_bot.ports_mail import (
    Candidate,
    Changes,
    Credential,
    CredentialsError,
    MailboxError,
    MailSource,
    MailTransport,
    MessageRef,
    SendError,
    Settlement,
    TokenProvider,
)

# The records and views only name types here: importing them would make every command that
# needs a port build their classes too (about half a millisecond each at start-up).
if TYPE_CHECKING:
    from intake_bot.domain.outgoing import Composed, Letter, Rendered
    from intake_bot.domain.polls import PollStatus
    from intake_bot.domain.queue_views import RequestQuery
    from intake_bot.domain.records import (
        Approval,
        ApprovalExtension,
        Attachment,
        DigestLog,
        Event,
        InboundMessage,
        Organisation,
        Outbox,
        Relationship,
        RelationshipVersion,
        ReminderSent,
        Request,
        StaffAccount,
        StaffAlert,
    )
    from intake_bot.ports_ods import OrganisationRepository

__all__ = [
    "Candidate",
    "Changes",
    "Credential",
    "CredentialsError",
    "MailSource",
    "MailTransport",
    "MailboxError",
    "MessageRef",
    "SendError",
    "Settlement",
    "TokenProvider",
]

R = TypeVar("R")

Clock = Callable[[], datetime]  # returns an aware UTC datetime


# -- outgoing mail: a template filled in (Renderer), made into an email (Composer) --------------


class Renderer(Protocol):
    def render(self, kind: str, context: Mapping[str, Any]) -> Rendered: ...


class Composer(Protocol):
    def compose(self, letter: Letter) -> Composed:
        """The MIME message with a new Message-ID, threaded, marked as automatic (RFC 3834)."""
        ...


# -- the store ---------------------------------------------------------------------------------
# Repositories take and return domain records (`domain/records.py`). Records that a service
# changes inside a unit are written when the unit commits; `Unit.add` stages a new one and
# `Unit.flush` gives every staged record its id. A fake keeps them in memory (tests/fakes.py).


class StoreError(OperatorError):
    """The database refused or could not be reached."""


class DuplicateError(StoreError):
    """A unique constraint fired: someone filed the same thing first (another worker)."""


class StoreUnavailableError(StoreError, DatabaseUnavailableError):
    """The database could not be reached or is locked; try again later."""


class MessageRepository(Protocol):
    """Inbound email, archived whole, and its attachments."""

    def find(self, ref: MessageRef, dedupe_key: str | None = None) -> InboundMessage | None:
        """The message filed from this location, or with this Message-ID/hash, if any."""
        ...

    def get(self, inbound_id: int) -> InboundMessage | None: ...

    def link_request(self, message: InboundMessage, request_id: int | None) -> None:
        """Set `message.request_id` (the first request filed from it), written at once; None
        (nothing was filed) leaves it as it is."""
        ...

    def raw(self, inbound_id: int) -> bytes: ...

    def in_queue(self, queue: str, limit: int = 1000) -> list[InboundMessage]:
        """Messages in a staff queue that no request took over (enquiries, quarantine)."""
        ...

    def replies_to(self, request_id: int) -> list[InboundMessage]:
        """Emails threaded onto a request after the one that filed it."""
        ...

    def attachments(self, inbound_id: int) -> list[Attachment]: ...

    # Raw mail due to go (ids, oldest first): closed quarantine holds whose note names `hold`;
    # messages whose every request went to a `closed` status before `before`. Never purged ones.
    def purgeable(self, hold: str, closed: Sequence[str], before: datetime) -> list[int]: ...

    def purge(self, inbound_id: int) -> int: ...  # bytes freed: the raw mail, the attachments

    def outcome_counts(self) -> dict[str, int]:
        """Every message ever taken, by outcome (filed, enquiry, quarantined…)."""
        ...


class RequestRepository(Protocol):
    def get(self, request_id: int) -> Request | None: ...

    def matching(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Request]: ...

    def for_inbound(self, inbound_id: int) -> list[Request]: ...

    def queue_summary(
        self, open_statuses: Sequence[str], today: date
    ) -> list[tuple[str, int, int]]:
        """(queue, open requests, of which overdue on `today`), by queue."""
        ...

    def browse(self, query: RequestQuery) -> tuple[list[Request], int]:
        """One page of the requests `query` names, in its order, and how many match in all."""
        ...

    def queue_counts(self, open_statuses: Sequence[str]) -> list[tuple[str, int]]:
        """(queue, number of open requests and of messages without one), by queue."""
        ...

    def for_outgoing(self, message_ids: Sequence[str]) -> int | None:
        """The request one of our emails (by Message-ID) was about, if any."""
        ...

    def naming(self, reference: str) -> list[int]:
        """The ids of the requests whose form names relationship `reference` (LCR-000123) as
        the one to change or end, whatever became of them, oldest first."""
        ...


class EventRepository(Protocol):
    def for_(
        self, *, request_id: int | None = None, inbound_id: int | None = None
    ) -> list[Event]: ...

    def mentioning(self, text: str, actions: Sequence[str]) -> list[Event]:
        """The events of `actions` whose note holds `text` (a relationship's reference), oldest
        first."""
        ...


class OutboxRepository(Protocol):
    def for_(
        self, *, request_id: int | None = None, inbound_id: int | None = None
    ) -> list[Outbox]: ...

    def get(self, outbox_id: int) -> Outbox | None: ...

    def emails_answered_since(
        self, recipient: str, since: datetime, *, besides: int | None = None
    ) -> int:
        """How many emails `recipient` was sent automatic replies to since `since`, other than
        inbound email `besides`: the replies to one email (one per form of a bulk sheet) count
        once."""
        ...

    def claim(self, now: datetime, lease: timedelta, limit: int) -> list[Outbox]:
        """Due rows, marked `sending` until now+lease so that no other worker takes them."""
        ...

    def raw(self, outbox_id: int) -> bytes: ...

    def mark_sent(self, outbox_id: int, now: datetime) -> None: ...

    def mark_failed(
        self, outbox_id: int, error: str, *, next_attempt_at: datetime, give_up: bool
    ) -> None: ...

    def release_claims(self, outbox_ids: Sequence[int], now: datetime) -> None: ...

    def retry_failed(self, now: datetime) -> int:
        """Put every failed email back in the queue (after staff fixed the cause)."""
        ...

    def counts(self) -> dict[str, int]:
        """Emails by status (pending, sending, sent, failed)."""
        ...

    def recent_failures(self, limit: int = 10) -> list[Outbox]:
        """The newest failed or retrying emails, with their last error."""
        ...


class ReferenceRepository(Protocol):
    """Organisations and section 251 approvals."""

    def organisations(self) -> list[Organisation]: ...

    def known_ods(self) -> frozenset[str]: ...

    def organisation_contacts(self, ods_codes: Sequence[str]) -> set[str]:
        """The registered contacts (lower-cased) of these organisations."""
        ...

    def upsert_organisation(self, org: Organisation) -> None: ...

    def approvals(self) -> list[Approval]: ...

    def approval(self, reference: str) -> Approval | None: ...

    def count_approvals(self) -> int: ...

    def extensions(self, reference: str) -> list[ApprovalExtension]: ...

    def expired_approvals(self, today: date) -> list[Approval]: ...


class RegisterRepository(Protocol):
    """Relationships and their versions."""

    def get(self, relationship_id: int) -> Relationship | None: ...

    def by_reference(self, reference: str) -> Relationship | None: ...

    def current_version(self, relationship: Relationship) -> RelationshipVersion: ...

    def versions(self, relationship_id: int) -> list[RelationshipVersion]: ...

    def version_for_request(self, request_id: int) -> RelationshipVersion | None: ...

    def with_current(self) -> list[tuple[Relationship, RelationshipVersion]]:
        """Every relationship with its current version, by reference."""
        ...

    def active_with_current(self, today: date) -> list[tuple[Relationship, RelationshipVersion]]:
        """Every relationship in force on `today` with its current version, by reference."""
        ...

    def next_reference_number(self) -> int: ...

    def lock_references(self) -> None:
        """Hold the reference counter until the unit ends (two workers never pick one number)."""
        ...

    def contacts_for(self, relationship: Relationship) -> set[str]:
        """The addresses that may ask to change or end `relationship`, lower-cased."""
        ...


class NoticeRepository(Protocol):
    """What was sent once and must not be sent twice: digests, reminders, staff alerts."""

    def last_digest(self, office: str, up_to: date) -> DigestLog | None: ...

    def reminders_sent(self, reference: str, expiry: date) -> dict[int, set[int]]:
        """The offsets already sent for an approval's expiry date, by relationship id."""
        ...

    def reminders_sent_between(
        self, start: datetime, end: datetime
    ) -> list[tuple[ReminderSent, Relationship, list[str]]]: ...

    def staff_alert(self, key: str) -> StaffAlert | None: ...


class StaffRepository(Protocol):
    """The web console's staff accounts (added with `Unit.add`)."""

    def by_email(self, email: str) -> StaffAccount | None:
        """The account signed in as `email` (lower-cased), disabled ones included."""
        ...

    def all(self) -> list[StaffAccount]:
        """Every account, by email."""
        ...


class PollingRepository(Protocol):
    """Each mailbox's cursor, lease and last poll, and its messages' failures: `start_batch`
    marks a batch in hand (a kill counts nothing) and gives the failures of each so far."""

    def cursor(self, mailbox: str) -> str | None: ...

    def set_cursor(self, mailbox: str, cursor: str, now: datetime) -> None: ...

    def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool: ...

    def release_lease(self, name: str, holder: str, now: datetime) -> None: ...

    def start_batch(self, refs: Sequence[MessageRef], now: datetime) -> dict[MessageRef, int]: ...

    def record_failure(self, ref: MessageRef, error: str, now: datetime) -> int: ...  # it raised

    def attempt_error(self, ref: MessageRef) -> str: ...  # the last failure's, "" if none

    def record_poll(
        self, mailbox: str, at: datetime, ok: bool, detail: str, seconds: float | None = None
    ) -> None: ...

    def poll_status(self) -> list[PollStatus]: ...  # every mailbox polled so far, by name


class Unit(Protocol):
    """One transaction: committed when the `with` block ends, rolled back if it raises."""

    # Read-only properties, so that an adapter may hold its own repository classes.
    @property
    def messages(self) -> MessageRepository: ...

    @property
    def requests(self) -> RequestRepository: ...

    @property
    def events(self) -> EventRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def reference(self) -> ReferenceRepository: ...

    @property
    def register(self) -> RegisterRepository: ...

    @property
    def notices(self) -> NoticeRepository: ...

    @property
    def polling(self) -> PollingRepository: ...

    @property
    def staff(self) -> StaffRepository: ...

    @property
    def organisations(self) -> OrganisationRepository: ...

    def add(self, record: R) -> R:
        """Stage a new record; it is written (and gets its id) at the next flush or commit. An
        audit event's id is never read: an adapter may leave it unset."""
        ...

    def flush(self) -> None: ...


class Store(Protocol):
    def unit(self) -> AbstractContextManager[Unit]: ...


class Schema(Protocol):
    """The database's schema and its migrations."""

    @property
    def embedded(self) -> bool:
        """The built-in SQLite: brought up to date without asking the operator."""
        ...

    def current(self) -> str | None: ...

    def head(self) -> str | None: ...

    def upgrade(self) -> None: ...
