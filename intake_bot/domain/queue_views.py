"""What the staff queues list: the items waiting, a page of them, and how many wait in each
queue. Pure: no I/O. Apart from the rest of the staff's views (`workflow_views`), so that
`intake-bot queue` builds only these classes (each frozen dataclass costs about half a
millisecond to make at start-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class QueueItem:
    queue: str
    reference: str  # LR-000123, or MSG-123 for a message that holds no request
    kind: str
    status: str
    summary: str  # who it is about; never message content
    sender: str
    received: datetime
    age_days: int
    problems: int = 0
    flags: int = 0
    due_on: date | None = None
    overdue: bool = False
    assigned_to: str = ""
    legal_basis_expired: tuple[str, ...] = ()  # s251 approvals past expiry


@dataclass(frozen=True)
class QueueListing:
    """The items waiting in the queues asked for (every queue when `asked` is None)."""

    asked: str | None
    queues: tuple[str, ...]  # the queues the name matched; () for every queue
    items: tuple[QueueItem, ...]
    reviews_waiting: int = 0  # ODS succession reviews waiting for staff (every queue's listing)


@dataclass(frozen=True)
class RequestQuery:
    """Which open requests a page lists: one queue or some offices' queues, a text to look for
    (reference, organisation, ODS code or sender), an order and a page of them."""

    statuses: tuple[str, ...]
    queue: str | None = None  # exactly this queue ("north/new")
    offices: tuple[str, ...] | None = None  # queue prefixes ("north"); None: every queue
    text: str = ""
    order: str = "received"  # received | due | assignee
    offset: int = 0
    limit: int = 100


@dataclass(frozen=True)
class QueueCount:
    queue: str
    waiting: int
    overdue: int


@dataclass(frozen=True)
class QueuePage:
    items: tuple[QueueItem, ...]
    total: int  # how many match, over every page
    offset: int
    limit: int
