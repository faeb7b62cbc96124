"""Section 251 (CAG) approvals: their references as people write them, and the register entries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple


class ApprovalError(Exception):
    """The approvals register cannot change as asked; the message says why."""


@dataclass(frozen=True)
class Approval:
    """One approval on the register, keyed by its canonical reference (`CAG 7-04(a)/2013`)."""

    reference: str
    title: str
    purposes: tuple[str, ...]
    expires: date  # the last day on which the approval may be relied on

    def covers(self, purpose: str) -> bool:
        """Whether the approval names `purpose` (compared without regard to case)."""
        wanted = purpose.casefold()
        return any(p.casefold() == wanted for p in self.purposes)

    def expired_on(self, day: date) -> bool:
        """Whether the approval can no longer be relied on on `day` (see `has_expired`)."""
        return has_expired(day, self.expires)


def has_expired(today: date, expiry: date) -> bool:
    """Whether an approval's expiry day has come by `today`.

    From its expiry day on: that is the day staff are alerted and relationships flagged
    "legal basis expired" (domain/legal_basis.py), so a new request cannot rely on it that day
    either.
    """
    return today >= expiry


@dataclass(frozen=True)
class Extension:
    """One move of an approval's expiry date."""

    previous_expiry: date
    new_expiry: date
    note: str
    by: str
    at: datetime

    def as_dict(self) -> dict[str, str]:
        """Ready for JSON: ISO dates, and the time with its offset."""
        return {
            "previous_expiry": self.previous_expiry.isoformat(),
            "new_expiry": self.new_expiry.isoformat(),
            "note": self.note,
            "by": self.by,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class ApprovalListing:
    """An approval as listed: its entry, how long it has left, who relies on it, its history."""

    reference: str
    title: str
    purposes: tuple[str, ...]
    expires: date
    days_left: int  # 0 on the expiry day, negative after it
    expired: bool  # the expiry day has come
    relationships: tuple[str, ...]  # the active relationships relying on it (LCR references)
    extensions: tuple[Extension, ...]

    def as_dict(self) -> dict[str, object]:
        """Ready for JSON: ISO dates."""
        return {
            "reference": self.reference,
            "title": self.title,
            "purposes": list(self.purposes),
            "expires": self.expires.isoformat(),
            "days_left": self.days_left,
            "expired": self.expired,
            "relationships": list(self.relationships),
            "extensions": [e.as_dict() for e in self.extensions],
        }


def approvals_for_purpose(approvals: Iterable[Approval], purpose: str) -> list[Approval]:
    """The approvals that cover `purpose`, in the order given."""
    return [a for a in approvals if a.covers(purpose)]


class CagRefs(NamedTuple):
    """What a piece of text held: canonical references, and the pieces that were not references."""

    refs: list[str]
    unparsed: list[str]


# Letters after the number: `(a)`, `(a-c)`, `(a, b)`, `(a) - (c)`, `(a),(b)`, `(a) and (b)`.
_SEP = r"(?:-|–|—|\bto\b|,|\band\b|&)"
_GROUP = rf"\(\s*[a-z](?:\s*{_SEP}\s*[a-z])*\s*\)"
_REF = re.compile(
    rf"""
    (?:\bcag\s*)?
    (?P<major>\d{{1,2}})\s*[-–]\s*(?P<minor>\d{{1,2}})(?!\d)
    \s*(?P<letters>{_GROUP}(?:\s*{_SEP}?\s*{_GROUP})*)?
    \s*/\s*(?P<year>\d{{4}}|\d{{2}})(?!\d)
    """,
    re.IGNORECASE | re.VERBOSE,
)
# What may stand between references without being worth a word to the sender.
_BETWEEN = re.compile(r"[,;\n\r]+|\band\b|&", re.IGNORECASE)


def parse_cag_refs(text: str) -> CagRefs:
    """Read CAG references from free text into canonical form, keeping what could not be read.

    `CAG 7-04(a)/2013`, `CAG 7-04 (a)/2013`, `7-04(a)/2013` and `cag 7-04(a) / 2013` are one
    reference; `CAG 7-07 (a) - (c) /2013` and `CAG 7-07(a),(b)/2013` are several. References may be
    separated by commas, semicolons, new lines or "and". Duplicates are dropped, order is kept.
    """
    refs: list[str] = []
    unparsed: list[str] = []
    end = 0
    for match in _REF.finditer(text):
        unparsed += _leftovers(text[end : match.start()])
        end = match.end()
        expanded = _expand(match)
        if expanded is None:
            unparsed.append(" ".join(match.group().split()))
            continue
        refs += [r for r in expanded if r not in refs]
    unparsed += _leftovers(text[end:])
    return CagRefs(refs, unparsed)


def normalise_cag_refs(text: str) -> list[str]:
    """The canonical references in `text` (see `parse_cag_refs`), ignoring anything else."""
    return parse_cag_refs(text).refs


def _expand(match: re.Match[str]) -> list[str] | None:
    major, minor = int(match["major"]), int(match["minor"])
    year = int(match["year"])
    if year < 100:  # a two-digit year is this century's
        year += 2000
    stem = f"CAG {major}-{minor:02d}"
    if not match["letters"]:
        return [f"{stem}/{year}"]
    letters = _letters(match["letters"])
    if letters is None:
        return None
    return [f"{stem}({letter})/{year}" for letter in letters]


def _letters(group: str) -> list[str] | None:
    """`(a) - (c)` -> a, b, c; `(a),(b)` -> a, b. None for a backwards range such as `(c)-(a)`."""
    text = re.sub(r"\band\b|&|[()]", ",", group.casefold())
    text = re.sub(r"\bto\b|[–—]", "-", text)
    text = re.sub(r"[\s,]*-[\s,]*", "-", text)
    letters: list[str] = []
    for item in re.split(r"[\s,]+", text):
        if not item:
            continue
        first, _, last = item.partition("-")
        last = last or first
        if first > last:
            return None
        letters += [chr(c) for c in range(ord(first), ord(last) + 1) if chr(c) not in letters]
    return letters


def _leftovers(text: str) -> list[str]:
    pieces = (p.strip() for p in _BETWEEN.split(text))
    return [" ".join(p.split()) for p in pieces if re.search(r"\w", p)]


@dataclass(frozen=True)
class ReminderLine:
    """A reminder that went out before an approval's expiry."""

    approval: str
    relationship: str  # LCR-000123
    expiry: date  # the expiry it was about (an extension starts a new schedule)
    offset_days: int  # days before the expiry (0: the expiry alert)
    sent_at: datetime
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Reminders:
    """What the approvals page shows of reminders: those sent lately, and each approval's next."""

    sent: tuple[ReminderLine, ...]
    next_due: dict[str, date | None]  # by approval reference; None: none left before expiry


def next_reminder(expires: date, offsets_days: Sequence[int], today: date) -> date | None:
    """The next day a reminder is due before `expires`, from `today` on; None if none is left."""
    days = (expires - timedelta(days=offset) for offset in offsets_days)
    return min((day for day in days if day >= today), default=None)
