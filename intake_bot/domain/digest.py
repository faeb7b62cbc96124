"""A regional office's daily digest: which open items go in which section, in which order, and
the ODS review items that wait for a decision.

Pure: the service gathers the items and sends the email; this module only sorts them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Section(StrEnum):
    OVERDUE = "overdue"  # due date passed
    NEW = "new"  # arrived since the office's previous digest
    WAITING = "waiting"  # everything else still awaiting action


# An NHS reorganisation can open hundreds of review items at once: the digest lists the oldest
# and counts the rest, which the register page lists in full.
REVIEWS_SHOWN = 50

SECTION_TITLES = {
    Section.OVERDUE: "Overdue",
    Section.NEW: "New since the last digest",
    Section.WAITING: "Awaiting action",
}


@dataclass(frozen=True)
class DigestItem:
    """One open request, or one message awaiting staff, as a digest lists it."""

    reference: str
    kind: str
    status: str
    organisation: str
    received: datetime  # aware
    due_on: date | None = None
    assigned_to: str = ""
    problems: int = 0

    def is_overdue(self, today: date) -> bool:
        return self.due_on is not None and self.due_on < today


@dataclass(frozen=True)
class DigestReview:
    """One open ODS review item: an organisation a relationship names has closed, and staff
    must carry the relationship over to the successor or end it. Not a request: no due date,
    no assignee."""

    number: int  # ODS-<number>
    relationship: str  # LCR-000123
    party: str  # commissioner | processor
    closed: str  # the organisation that closed, "NHS LEEDS NORTH CCG (02V)"
    closed_on: date | None
    closed_already: bool  # False: ODS publishes a closure still to come
    successors: tuple[str, ...]  # as ODS names them, "NHS WEST YORKSHIRE ICB (15F)"
    waiting_since: datetime  # aware: when an import opened the item
    no_office: bool = False  # the relationship names no regional office: in every office's digest


@dataclass(frozen=True)
class Digest:
    """An office's open items for one day, split into sections; each item appears once. The
    review items are apart from the requests: they are counted and listed on their own."""

    office: str
    day: date
    since: datetime | None  # when the previous digest went out; None if there was none
    overdue: tuple[DigestItem, ...]
    new: tuple[DigestItem, ...]
    waiting: tuple[DigestItem, ...]
    reviews: tuple[DigestReview, ...] = ()  # oldest first

    @property
    def open_count(self) -> int:
        """The open requests (and messages awaiting staff) in the office's queues."""
        return len(self.overdue) + len(self.new) + len(self.waiting)

    @property
    def total(self) -> int:
        """Everything the digest reports: none, and no digest is sent."""
        return self.open_count + len(self.reviews)

    @property
    def reviews_shown(self) -> tuple[DigestReview, ...]:
        return self.reviews[:REVIEWS_SHOWN]

    @property
    def reviews_cut(self) -> tuple[DigestReview, ...]:
        """The newest review items, counted but not listed."""
        return self.reviews[REVIEWS_SHOWN:]

    def sections(self) -> list[tuple[Section, tuple[DigestItem, ...]]]:
        """The sections in the order staff read them: overdue first."""
        return [
            (Section.OVERDUE, self.overdue),
            (Section.NEW, self.new),
            (Section.WAITING, self.waiting),
        ]

    def title(self, section: Section) -> str:
        if section is Section.NEW and self.since is None:
            return "New"  # the office's first digest: there is no "last" one
        return SECTION_TITLES[section]

    def ordered(self) -> list[DigestItem]:
        return [item for _, items in self.sections() for item in items]


def build_digest(
    office: str,
    items: Iterable[DigestItem],
    *,
    today: date,
    since: datetime | None,
    reviews: Iterable[DigestReview] = (),
) -> Digest:
    """Sort `items` into sections, and `reviews` oldest first.

    Overdue: oldest due date first. New (received after `since`, or everything when there was no
    earlier digest): oldest first. Awaiting action: soonest due first, then oldest; items without
    a due date (incomplete, awaiting the requester) last.
    """
    overdue: list[DigestItem] = []
    new: list[DigestItem] = []
    waiting: list[DigestItem] = []
    for item in items:
        if item.is_overdue(today):
            overdue.append(item)
        elif since is None or item.received > since:
            new.append(item)
        else:
            waiting.append(item)
    return Digest(
        office=office,
        day=today,
        since=since,
        overdue=tuple(sorted(overdue, key=lambda i: (i.due_on or date.max, *_age_key(i)))),
        new=tuple(sorted(new, key=_age_key)),
        waiting=tuple(sorted(waiting, key=lambda i: (i.due_on or date.max, *_age_key(i)))),
        reviews=tuple(sorted(reviews, key=lambda r: (r.waiting_since, r.number))),
    )


def _age_key(item: DigestItem) -> tuple[datetime, str]:
    return item.received, item.reference
