"""A regional office's daily digest: which open items go in which section, in which order.

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
class Digest:
    """An office's open items for one day, split into sections; each item appears once."""

    office: str
    day: date
    since: datetime | None  # when the previous digest went out; None if there was none
    overdue: tuple[DigestItem, ...]
    new: tuple[DigestItem, ...]
    waiting: tuple[DigestItem, ...]

    @property
    def total(self) -> int:
        return len(self.overdue) + len(self.new) + len(self.waiting)

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
    office: str, items: Iterable[DigestItem], *, today: date, since: datetime | None
) -> Digest:
    """Sort `items` into sections.

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
    )


def _age_key(item: DigestItem) -> tuple[datetime, str]:
    return item.received, item.reference
