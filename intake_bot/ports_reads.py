"""What the queue listing (`Queues.items`) and a preview (`Intake.parse`) read, as ports of
their own.

Every `ports.Unit` has all of it. It is named apart so that a light read-only adapter can serve
it alone: on SQLite, `store/sqlite_reads.py` and `store/sqlite_parse_reads.py` read it with the
standard library's driver, and `intake-bot queue` and `parse` start without importing
SQLAlchemy and the ORM mapping (~0.3 s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from intake_bot.domain.records import Approval, InboundMessage, Organisation, Relationship, Request


class OpenRequestReads(Protocol):
    def matching(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Request]: ...

    def queue_counts(self, open_statuses: Sequence[str]) -> list[tuple[str, int]]:
        """(queue, open requests + messages awaiting staff) for every queue in use, by name."""
        ...


class QueuedMessageReads(Protocol):
    def in_queue(self, queue: str, limit: int = 1000) -> list[InboundMessage]:
        """The messages awaiting staff in `queue` (no request), oldest first."""
        ...


class ApprovalReads(Protocol):
    def approvals(self) -> list[Approval]: ...


class ReviewCounts(Protocol):
    def count_reviews(self, status: str) -> int:
        """How many ODS succession reviews are in `status` ("open": waiting for staff)."""
        ...


class QueueReads(Protocol):
    """One read-only transaction's view of the queues."""

    @property
    def requests(self) -> OpenRequestReads: ...

    @property
    def messages(self) -> QueuedMessageReads: ...

    @property
    def reference(self) -> ApprovalReads: ...

    @property
    def organisations(self) -> ReviewCounts: ...


# Opens one read-only transaction (`Store.unit` is one).
OpenQueueReads = Callable[[], AbstractContextManager[QueueReads]]


# --- what `intake-bot parse` reads (`Intake.parse`): reference data, threads, the register ---


class ReferenceReads(Protocol):
    def organisations(self) -> list[Organisation]: ...

    def approvals(self) -> list[Approval]: ...


class OrganisationIndexReads(Protocol):
    def index(self, config_codes: frozenset[str]) -> frozenset[str]: ...


class ThreadReads(Protocol):
    """What `classify.examine` looks up to thread a reply onto its request."""

    def get(self, request_id: int) -> Request | None: ...

    def for_outgoing(self, message_ids: Sequence[str]) -> int | None: ...


class RelationshipReads(Protocol):
    """What `filing.check` looks up for a change or an end of a relationship."""

    def by_reference(self, reference: str) -> Relationship | None: ...

    def contacts_for(self, relationship: Relationship) -> set[str]: ...


class ParseReads(Protocol):
    """One read-only transaction's view of what a preview reads; every `ports.Unit` has it."""

    @property
    def reference(self) -> ReferenceReads: ...

    @property
    def organisations(self) -> OrganisationIndexReads: ...

    @property
    def requests(self) -> ThreadReads: ...

    @property
    def register(self) -> RelationshipReads: ...


OpenParseReads = Callable[[], AbstractContextManager[ParseReads]]
