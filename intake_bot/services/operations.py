"""How the service is doing, for operators: `intake-bot status` and `intake-bot health`.

`status` gathers in one read what an operator looks at first: each mailbox's last poll, the
staff backlog, the outbox (pending, failed, the last errors), the quarantine and the messages
held there for patient data. `health` answers one question for Docker's HEALTHCHECK: is the
database reachable and has every mailbox been polled within three of its intervals?
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from intake_bot.domain.metrics import Metrics
from intake_bot.domain.polls import MailboxState
from intake_bot.domain.status import OPEN
from intake_bot.errors import OperatorError
from intake_bot.ports import Clock, Store
from intake_bot.services.mailboxes import Mailboxes
from intake_bot.services.outbox import OutboxAdmin, OutboxFailure
from intake_bot.services.retention import PATIENT_DATA_NOTE

QUARANTINE = "quarantine"
STALE_INTERVALS = 3  # a mailbox not polled for this many of its intervals is unhealthy
_HOLDS_SCANNED = 100_000


@dataclass(frozen=True)
class OperationsStatus:
    mailboxes: tuple[MailboxState, ...]
    backlog: int  # open requests and messages waiting for staff, quarantine included
    outbox: dict[str, int]  # emails by status
    outbox_failures: tuple[OutboxFailure, ...]  # the newest, with their last error
    quarantine: int  # messages in the quarantine queue
    patient_data_holds: int  # of which held because they carried patient data


@dataclass(frozen=True)
class Health:
    problems: tuple[str, ...]  # empty: healthy

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(kw_only=True)
class Operations:
    store: Store
    clock: Clock
    mailboxes: Mailboxes
    outbox: OutboxAdmin

    def status(self, *, failures: int = 5) -> OperationsStatus:
        """Everything `intake-bot status` shows, read from the database (no mailbox is opened)."""
        mailboxes = tuple(self.mailboxes.status())
        outbox = self.outbox.status(failures=failures)
        with self.store.unit() as unit:
            counts = dict(unit.requests.queue_counts(sorted(s.value for s in OPEN)))
            held = unit.messages.in_queue(QUARANTINE, limit=_HOLDS_SCANNED)
        return OperationsStatus(
            mailboxes=mailboxes,
            backlog=sum(counts.values()),
            outbox=dict(outbox.counts),
            outbox_failures=outbox.failures,
            quarantine=counts.get(QUARANTINE, 0),
            patient_data_holds=sum(PATIENT_DATA_NOTE in m.note.lower() for m in held),
        )

    def metrics(self) -> Metrics:
        """The figures `/metrics` exposes, read from the database at each scrape."""
        with self.store.unit() as unit:
            messages = unit.messages.outcome_counts()
            queues = dict(unit.requests.queue_counts(sorted(s.value for s in OPEN)))
            outbox = unit.outbox.counts()
        return Metrics(
            messages=messages,
            queues=queues,
            outbox=outbox,
            mailboxes=tuple(self.mailboxes.status()),
            now=self.clock(),
        )

    def health(self) -> Health:
        """Unhealthy when the database cannot be read or a mailbox is overdue for its poll."""
        try:
            mailboxes = self.mailboxes.status()
        except OperatorError as exc:  # StoreUnavailableError, a missing schema…
            return Health((f"database: {' '.join(str(exc).split()) or type(exc).__name__}",))
        except Exception as exc:  # e.g. the tables are not there: still an answer, not a crash
            return Health((f"database: {type(exc).__name__}",))
        now = self.clock()
        problems = []
        for box in mailboxes:
            allowed = timedelta(seconds=box.poll_interval_seconds * STALE_INTERVALS)
            if box.last is None:
                problems.append(f"mailbox {box.name}: never polled")
            elif now - box.last.polled_at > allowed:
                late = int((now - box.last.polled_at).total_seconds())
                problems.append(f"mailbox {box.name}: last polled {late} s ago")
        return Health(tuple(problems))
