"""What the queue listing reads, as a port of its own (`Queues.items`).

Every `ports.Unit` has all of it. It is named apart so that a light read-only adapter can serve
it alone: on SQLite, `store/sqlite_reads.py` reads it with the standard library's driver, and
`intake-bot queue` starts without importing SQLAlchemy and the ORM mapping (~0.3 s).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from intake_bot.domain.records import Approval, InboundMessage, Request


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


class QueueReads(Protocol):
    """One read-only transaction's view of the queues."""

    @property
    def requests(self) -> OpenRequestReads: ...

    @property
    def messages(self) -> QueuedMessageReads: ...

    @property
    def reference(self) -> ApprovalReads: ...


# Opens one read-only transaction (`Store.unit` is one).
OpenQueueReads = Callable[[], AbstractContextManager[QueueReads]]
