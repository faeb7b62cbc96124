"""What the ODS use cases hand back to entry points: an import's report and review items."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from intake_bot.domain.organisations import Change, uk


@dataclass(frozen=True)
class FileRead:
    name: str
    format: str
    organisations: int
    successions: int
    left_out: tuple[str, ...] = ()  # records not used, each with why (list kept as it was)


def organisation_name(name: str, code: str) -> str:
    """The name without its code: ODS names a sub-ICB location "NHS WEST YORKSHIRE ICB - 15F",
    so a name shown next to its code would say the code twice."""
    if not code:
        return name.strip()
    pattern = rf"\s*(?:[-\u2013\u2014:]\s*{re.escape(code)}|\(\s*{re.escape(code)}\s*\))\s*$"
    short = re.sub(pattern, "", name, flags=re.IGNORECASE).strip()
    return "" if short.upper() == code.upper() else short


def whole_label(name: str, code: str) -> str:
    """ODS's whole name, with its code once: "NHS WEST YORKSHIRE ICB - 15F" (which a sub-ICB
    location's short label would give as its ICB's name), "NHS LEEDS CCG (02V)"."""
    if not name.strip():
        return code
    return name.strip() if organisation_name(name, code) != name.strip() else f"{name} ({code})"


def organisation_label(name: str, code: str) -> str:
    """ "NHS WEST YORKSHIRE ICB (15F)": each organisation's name and code once; the code alone
    when ODS gives no name."""
    short = organisation_name(name, code)
    return f"{short} ({code})" if short and code else short or code


def decision_day(closed_on: date | None, in_force_from: date | None) -> date | None:
    """The day a decision on a review takes effect: the day after the closure, but never
    before the relationship's version in force began (one set up after the code closed)."""
    if closed_on is None:
        return None
    after = closed_on + timedelta(days=1)
    return max(after, in_force_from) if in_force_from else after


def settled_day(closed_on: date | None, today: date) -> date:
    """The day to follow successions on: today, or the day after a closure still to come."""
    return max(today, closed_on + timedelta(days=1)) if closed_on else today


def ends_first(ended_on: date | None, decided_from: date | None) -> bool:
    """Whether a relationship's set end comes on or before the day a decision on a closure
    would take effect: the closure then changes nothing for it (no review, and no decision
    may move its end later or add terms after it)."""
    return ended_on is not None and decided_from is not None and ended_on <= decided_from


def review_number(text: str) -> int | None:
    """The item number in "ODS-3", "ODS3" or "3" (as staff type it); None for anything else.
    ASCII digits only ("³" and "١" are digits to str.isdigit), short enough for the database."""
    number = text.strip().upper().removeprefix("ODS-").removeprefix("ODS")
    ok = number.isascii() and number.isdigit() and len(number) <= 9
    return int(number) if ok else None


@dataclass(frozen=True)
class ReviewItem:
    """One succession review, as staff see it."""

    id: int
    reference: str  # the relationship's
    party: str  # commissioner | processor
    closed_code: str
    closed_name: str
    closed_on: date | None
    successors: tuple[tuple[str, str], ...]  # (code, name)
    status: str
    closed_already: bool = False  # closed before the day the item was read
    dscro: str = ""
    decided_by: str = ""
    decided_at: datetime | None = None
    note: str = ""
    in_force_from: date | None = None  # when the relationship's version in force began
    contacts_told: bool = True  # False: the register had no address for either contact
    carried_to: tuple[str, str] | None = None  # decided: (code, name) the relationship went to
    effective_on: date | None = None  # decided: the day the carry or the end took effect
    steps: tuple[str, ...] = ()  # open: ODS's own successors, closed since, a carry may name

    @property
    def label(self) -> str:
        return f"ODS-{self.id}"

    @property
    def changes_on(self) -> date | None:
        """The day a decision takes effect: a successor named, or the relationship ended."""
        return decision_day(self.closed_on, self.in_force_from)

    @property
    def after_closure(self) -> bool:
        """Whether that day is the day after the closure (else: when the version began)."""
        return self.closed_on is not None and self.changes_on == self.closed_on + timedelta(days=1)

    def line(self) -> str:
        """ "LCR-000001: commissioner 03G closed on 30/06/2022; successor: 15F" """
        closes = "closed" if self.closed_already else "closes"
        successors = " and ".join(code for code, _ in self.successors) or "none named"
        return (
            f"{self.reference}: {self.party} {self.closed_code} {closes} on "
            f"{uk(self.closed_on)}; successor: {successors}"
        )

    @property
    def closed_label(self) -> str:
        return organisation_label(self.closed_name, self.closed_code)

    @property
    def successor_labels(self) -> tuple[str, ...]:
        return tuple(organisation_label(name, code) for code, name in self.successors)

    @property
    def decision(self) -> str:
        """What a decided item did, as the register records it: "carried over to NHS WEST
        YORKSHIRE ICB (15F) from 01/07/2022", "ended: not in force from 01/07/2022"."""
        if self.status == "carried" and self.carried_to is not None:
            code, name = self.carried_to
            return f"carried over to {organisation_label(name, code)} from {uk(self.effective_on)}"
        if self.status == "ended":
            return f"ended: not in force from {uk(self.effective_on or self.changes_on)}"
        return ""

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "reference": self.reference,
            "party": self.party,
            "closed_code": self.closed_code,
            "closed_name": self.closed_name,
            "closed_on": self.closed_on.isoformat() if self.closed_on else None,
            "successors": [{"code": c, "name": n} for c, n in self.successors],
            "status": self.status,
            "dscro": self.dscro,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "note": self.note,
            "contacts_told": self.contacts_told,
            "carried_to": (
                {"code": self.carried_to[0], "name": self.carried_to[1]}
                if self.carried_to
                else None
            ),
            "effective_on": self.effective_on.isoformat() if self.effective_on else None,
            "steps": list(self.steps),
        }


@dataclass(frozen=True)
class ImportReport:
    """What one `ods import` read and changed, and the review items it opened."""

    files: tuple[FileRead, ...]
    changes: tuple[Change, ...]
    reviews: tuple[ReviewItem, ...]

    @property
    def unchanged(self) -> bool:
        return not self.changes and not self.reviews

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for change in self.changes:
            found[change.what] = found.get(change.what, 0) + 1
        return found

    def summary(self) -> str:
        """ "2 opened, 1 closed, 1 succeeded; 1 review item", or "no changes"."""
        if self.unchanged:
            return "no changes"
        parts = ", ".join(f"{n} {what}" for what, n in self.counts().items())
        parts = parts or "no changes to the list"
        n = len(self.reviews)
        return parts + (f"; {n} review item{'s' if n != 1 else ''}" if n else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "files": [f.__dict__ for f in self.files],
            "changes": [c.as_dict() for c in self.changes],
            "reviews": [r.as_dict() for r in self.reviews],
            "unchanged": self.unchanged,
        }
