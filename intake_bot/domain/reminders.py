"""When to remind people that a section 251 (CAG) approval is about to expire. Pure: no I/O.

Reminders go out at offsets before an approval's expiry (90, 60, 30, 14, 7 and 1 days by
default) and, on the expiry day itself, once more as the expiry notice (offset 0). What was
already sent is kept per (approval, relationship, expiry date, offset), so a new expiry date
after an extension starts a fresh schedule and the old date's pending reminders fall away.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from intake_bot.domain.approvals import has_expired

EXPIRY_NOTICE = 0  # the offset that stands for the notice on (or after) the expiry day


def reminder_offsets(offsets: Iterable[int]) -> list[int]:
    """The configured offsets that make sense, soonest-to-expiry last: positive, each once."""
    return sorted({n for n in offsets if n > 0}, reverse=True)


def days_left(today: date, expiry: date) -> int:
    """Days from `today` to the expiry date: 0 on the day itself, negative after it."""
    return (expiry - today).days


def due_offset(
    today: date, expiry: date, offsets: Iterable[int], sent: Collection[int]
) -> int | None:
    """The one reminder due today for one relationship and one expiry date, if any.

    Before the expiry day it is the most recent offset whose day has come
    (`expiry - offset <= today`); on or after the expiry day it is the expiry notice
    (`EXPIRY_NOTICE`). `sent` holds the offsets already sent for this expiry date. Nothing is due
    when that offset, or a more recent one, was already sent: after downtime only the latest
    missed reminder goes out, never the older ones, and never twice.
    """
    due = _latest_reached(today, expiry, reminder_offsets(offsets))
    if due is None:
        return None
    if any(done <= due for done in sent):
        return None
    return due


def _latest_reached(today: date, expiry: date, offsets: list[int]) -> int | None:
    if has_expired(today, expiry):
        return EXPIRY_NOTICE
    left = days_left(today, expiry)
    reached = [n for n in offsets if n >= left]
    return min(reached) if reached else None


# --- what a run of the reminder job did ---------------------------------------------------------


@dataclass(frozen=True)
class SentReminder:
    """One reminder email (or, without addresses, one recorded reminder) of a run."""

    reference: str  # the approval
    expiry: date
    offset_days: int  # days before expiry; 0 for the expiry notice
    relationships: tuple[str, ...]  # LCR references
    recipients: tuple[str, ...]  # empty: no address on the register, so nobody was emailed

    def as_dict(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "expiry": self.expiry.isoformat(),
            "offset_days": self.offset_days,
            "relationships": list(self.relationships),
            "recipients": list(self.recipients),
        }


@dataclass(frozen=True)
class ReminderReport:
    """What one run of the reminder job did."""

    day: date
    sent: tuple[SentReminder, ...] = ()
    already_sent: int = 0  # reminders another worker recorded first
    expiry_alerts: tuple[str, ...] = ()  # the once-only staff alerts written
    summaries: Mapping[str, int] = field(default_factory=dict)  # office → reminders listed
    unrouted: tuple[str, ...] = ()  # relationships of no configured office: no staff told

    @property
    def emails(self) -> int:
        """Reminder emails queued (reminders without an address are recorded, not emailed)."""
        return sum(1 for s in self.sent if s.recipients)

    def as_dict(self) -> dict[str, object]:
        """Ready for JSON: ISO dates."""
        return {
            "day": self.day.isoformat(),
            "sent": [s.as_dict() for s in self.sent],
            "already_sent": self.already_sent,
            "expiry_alerts": list(self.expiry_alerts),
            "summaries": dict(self.summaries),
            "unrouted": list(self.unrouted),
        }
