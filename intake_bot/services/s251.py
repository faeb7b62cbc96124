"""The section 251 (CAG) approvals as staff and the worker use them: the register of approvals
(services/approvals.py) and the reminders before they expire (services/reminders.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from intake_bot.config import Dscro
from intake_bot.domain.approvals import (
    ApprovalListing,
    Extension,
    ReminderLine,
    Reminders,
    next_reminder,
)
from intake_bot.domain.reminders import ReminderReport
from intake_bot.ports import Clock, Store
from intake_bot.services.approvals import add_approval, extend_approval, list_approvals
from intake_bot.services.notify import Notifier
from intake_bot.services.reminders import send_reminders


class S251:
    """Listing, adding and extending approvals; the daily reminder job."""

    def __init__(
        self,
        *,
        store: Store,
        notifier: Notifier,
        clock: Clock,
        offices: Sequence[Dscro],
        offsets: Sequence[int],
        timezone: str,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.clock = clock
        self.offices = tuple(offices)  # who hears of expiries and gets the daily summaries
        self.offsets = tuple(offsets)  # days before expiry to remind at
        self.timezone = timezone

    def today(self) -> date:
        """The day the approvals are judged on (in the configured time zone)."""
        return self.clock().astimezone(ZoneInfo(self.timezone)).date()

    def list(self) -> list[ApprovalListing]:
        """Every approval, by reference: its expiry, days left, who relies on it, its history."""
        return list_approvals(self.store, today=self.today())

    def reminders(self, *, days: int = 90) -> Reminders:
        """The reminders sent in the last `days` days, and each approval's next one."""
        today = self.today()
        now = self.clock()
        with self.store.unit() as unit:
            since, until = now - timedelta(days=days), now + timedelta(seconds=1)  # now included
            rows = unit.notices.reminders_sent_between(since, until)
            sent = tuple(
                ReminderLine(
                    s.reference, rel.reference, s.expiry, s.offset_days, s.sent_at, tuple(to)
                )
                for s, rel, to in rows
            )
        listing = list_approvals(self.store, today=today)
        due: dict[str, date | None] = {}
        for a in listing:
            done = {
                r.offset_days for r in sent if (r.approval, r.expiry) == (a.reference, a.expires)
            }
            left = [offset for offset in self.offsets if offset not in done]
            due[a.reference] = next_reminder(a.expires, left, today) if a.relationships else None
        return Reminders(sent, due)

    def add(
        self, *, reference: str, title: str, purposes: Sequence[str], expires: date, by: str
    ) -> str:
        """Put a new approval on the register; its canonical reference. Raises ApprovalError."""
        return add_approval(
            self.store,
            reference=reference,
            title=title,
            purposes=purposes,
            expires=expires,
            by=by,
            now=self.clock(),
        )

    def extend(self, reference: str, *, until: date, note: str = "", by: str) -> Extension:
        """Move an approval's expiry to the later `until`; reminders follow the new date.
        Raises ApprovalError."""
        return extend_approval(
            self.store, reference, until=until, note=note, by=by, now=self.clock()
        )

    def send_reminders(self) -> ReminderReport:
        """Queue today's reminders, expiry alerts and office summaries, each once (however
        often, and by however many workers, it runs). Raises StoreUnavailableError when the
        database cannot be reached: what was not sent stays due for the next run."""
        return send_reminders(
            store=self.store,
            notifier=self.notifier,
            offices=self.offices,
            offsets=self.offsets,
            now=self.clock(),
            tz=self.timezone,
        )
