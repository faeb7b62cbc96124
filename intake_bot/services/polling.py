"""poll_mailbox: find new request emails, file each one, then flag or move it on the server.

Order matters for invariant 1: the database commit comes first, the server-side flag/move second,
and the UID cursor last. A crash between any two steps replays: the message is seen again,
recognised as filed, and only flagged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from itertools import islice

from intake_bot.domain.subject import subject_matches
from intake_bot.ports import Candidate, Clock, Mailbox, MessageRef
from intake_bot.services.intake import (
    IngestResult,
    Intake,
    Outcome,
    ingest_message,
    quarantine_poison,
)
from intake_bot.store.store import DuplicateError, StoreUnavailableError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)


class Settled(Enum):
    FILED = "filed"  # in the database: flag/move it with its batch
    QUARANTINED = "quarantined"  # moved to the quarantine folder already
    RETRY = "retry"  # failed: left where it is for the next poll


@dataclass
class PollReport:
    examined: int = 0  # new messages looked at
    not_ours: int = 0  # other subjects, left untouched
    outcomes: dict[str, int] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)
    replies: int = 0
    errors: int = 0
    skipped: bool = False  # another worker holds this mailbox
    interrupted: bool = False

    def count(self, result: IngestResult) -> None:
        self.outcomes[result.outcome.value] = self.outcomes.get(result.outcome.value, 0) + 1
        self.references.extend(result.references)
        self.replies += result.replies

    @property
    def filed(self) -> int:
        return sum(n for k, n in self.outcomes.items() if k != Outcome.DUPLICATE.value)


@dataclass
class Poller:
    mailbox: Mailbox
    intake: Intake
    clock: Clock
    watched_subject: str
    max_attempts: int = 3
    fetch_batch: int = 25
    worker_id: str = "worker"
    # Renewed with every message, so a crashed poller's lease lapses soon after it died.
    lease_ttl: timedelta = timedelta(minutes=2)

    def poll(
        self, *, progress: Progress | None = None, stop: Callable[[], bool] = lambda: False
    ) -> PollReport:
        """One pass over the new messages. MailboxError/StoreUnavailableError: retry later."""
        report = PollReport()
        store = self.intake.store
        lease = f"poll:{self.mailbox.name}"
        try:
            with store.unit() as unit:
                taken = unit.take_lease(lease, self.worker_id, self.clock(), self.lease_ttl)
        except DuplicateError:  # another worker created the lease row at the same moment
            taken = False
        if not taken:
            report.skipped = True
            return report
        try:
            self._poll(report, progress, stop)
        finally:
            with store.unit() as unit:
                unit.release_lease(lease, self.worker_id, self.clock())
        return report

    def _poll(
        self, report: PollReport, progress: Progress | None, stop: Callable[[], bool]
    ) -> None:
        store = self.intake.store
        self.intake.refresh_reference_data()
        with store.unit() as unit:
            cursor = unit.cursor(self.mailbox.name)
        scan = self.mailbox.scan(
            uidvalidity=cursor.uidvalidity if cursor else None,
            after_uid=cursor.last_uid if cursor else 0,
        )
        report.examined = len(scan.candidates)
        ours: list[Candidate] = []
        for cand in scan.candidates:
            if subject_matches(cand.subject, self.watched_subject):
                ours.append(cand)
            else:
                self.mailbox.leave(cand.ref)
                report.not_ours += 1
        done, safe = 0, True  # safe: every message so far is settled, so the cursor may move
        for batch in _chunks(ours, self.fetch_batch):
            last_settled: MessageRef | None = None
            filed: list[MessageRef] = []
            refs = [c.ref for c in batch]
            with store.unit() as unit:  # counted before we try, so that a crash counts too
                counted = unit.start_batch(refs, self.clock())
            for ref, raw in self.mailbox.fetch(refs):
                if stop():
                    report.interrupted = True
                    break
                settled = self._handle(ref, raw, report, counted=counted)
                if settled is Settled.FILED:
                    filed.append(ref)
                safe = safe and settled is not Settled.RETRY
                if safe:
                    last_settled = ref
                done += 1
                if progress:
                    progress(done, len(ours))
            # Flag the batch only now, every message in it already committed (invariant 1).
            self.mailbox.mark_processed(filed)
            self._advance(scan.uidvalidity, last_settled)
            if report.interrupted:
                return
        if safe and scan.high_uid:
            with store.unit() as unit:
                unit.set_cursor(self.mailbox.name, scan.uidvalidity, scan.high_uid, self.clock())

    def _advance(self, uidvalidity: int, ref: MessageRef | None) -> None:
        """Move the cursor past what is settled, and hold on to the mailbox for another batch."""
        now = self.clock()
        with self.intake.store.unit() as unit:
            unit.take_lease(f"poll:{self.mailbox.name}", self.worker_id, now, self.lease_ttl)
            # Maildir keeps its own state (new/ vs cur/ and the processed folder): no cursor.
            if ref is not None and ref.uid.isdigit():
                unit.set_cursor(self.mailbox.name, uidvalidity, int(ref.uid), now)

    def _handle(self, ref: MessageRef, raw: bytes, report: PollReport, *, counted: bool) -> Settled:
        """File one message (it is flagged with its batch), or quarantine it, or say retry.

        `counted`: this attempt is already on record (a fresh batch); otherwise it is recorded
        here, alone, before anything else happens.
        """
        store = self.intake.store
        now = self.clock()
        attempts = 1
        if not counted:
            with store.unit() as unit:
                attempts = unit.record_attempt(ref, now)
                if attempts > self.max_attempts and unit.find_inbound(ref) is not None:
                    attempts = 1  # filed already (a replay): just flag it with its batch
        if attempts > self.max_attempts:
            with store.unit() as unit:
                last_error = unit.attempt_error(ref)
            reason = (
                f"failed {attempts - 1} times; last error: {last_error or 'the worker stopped'}"
            )
            quarantine_poison(store, raw, ref, reason, now)
            self.mailbox.quarantine(ref)
            report.outcomes["quarantined"] = report.outcomes.get("quarantined", 0) + 1
            log.warning(
                "quarantined %s uid %s after %d attempts", ref.mailbox, ref.uid, attempts - 1
            )
            return Settled.QUARANTINED
        try:
            result = ingest_message(raw, ref, intake=self.intake, now=now)
        except Exception as exc:  # a bug in a reader or the store: count it, move on
            if isinstance(exc, StoreUnavailableError):
                raise
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
            log.error("could not file %s uid %s: %s", ref.mailbox, ref.uid, type(exc).__name__)
            log.debug("filing failure", exc_info=True)
            with store.unit() as unit:
                unit.note_attempt_error(ref, error)
            report.errors += 1
            return Settled.RETRY
        report.count(result)
        log.info(
            "%s uid %s: %s %s",
            ref.mailbox,
            ref.uid,
            result.outcome.value,
            " ".join(result.references),
        )
        if result.move_to_quarantine:
            self.mailbox.quarantine(ref)
            return Settled.QUARANTINED
        return Settled.FILED


def _chunks(items: Sequence[Candidate], size: int) -> list[list[Candidate]]:
    it = iter(items)
    out = []
    while chunk := list(islice(it, size)):
        out.append(chunk)
    return out
