"""Poller: one pass over one mail source: find new request emails, file each, then settle them.

Order matters for invariant 1: the database commit comes first, the source is told second
(flag/move), and the cursor moves last. A crash between any two steps replays: the message is
seen again, recognised as filed, and only settled.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from itertools import islice
from typing import Protocol

from intake_bot.domain.polls import PollReport, Progress
from intake_bot.domain.subject import looks_like_bounce, subject_matches
from intake_bot.ports import (
    Candidate,
    Clock,
    DuplicateError,
    MailSource,
    MessageRef,
    Settlement,
    Store,
    StoreUnavailableError,
)
from intake_bot.services.classify import Contents, Kind
from intake_bot.services.held import returns_our_mail
from intake_bot.services.intake import IngestResult
from intake_bot.services.reading import Reader, Reading

__all__ = ["Filing", "PollReport", "Poller", "Progress", "ingest_message"]

log = logging.getLogger(__name__)


class Filing(Protocol):
    """What a poll needs of intake (`services.intake.Intake`)."""

    store: Store
    own_addresses: tuple[str, ...]  # whose Message-IDs are ours, to know our bounced emails

    def refresh_reference_data(self) -> None: ...

    def ingest(
        self,
        raw: bytes,
        ref: MessageRef,
        *,
        now: datetime | None = None,
        default_office: str | None = None,
        contents: Contents | None = None,
    ) -> IngestResult:
        """File one email, all in one transaction; a message filed before is a DUPLICATE.
        `contents`: the email as read already (by a reader process), else it is read here."""
        ...

    def quarantine(
        self, raw: bytes, ref: MessageRef, reason: str, *, now: datetime | None = None
    ) -> int | None:
        """Archive a message that failed too often, for staff."""
        ...


def ingest_message(
    raw: bytes,
    ref: MessageRef,
    *,
    intake: Filing,
    now: datetime,
    default_office: str | None = None,
    contents: Contents | None = None,
) -> IngestResult:
    """File one email. The one call a poll makes per message (tests make it fail here)."""
    if contents is None:
        return intake.ingest(raw, ref, now=now, default_office=default_office)
    return intake.ingest(raw, ref, now=now, default_office=default_office, contents=contents)


class Settled(Enum):
    FILED = "filed"  # in the database: settled with its batch
    QUARANTINED = "quarantined"  # moved to the quarantine folder already
    RETRY = "retry"  # failed: left where it is for the next poll
    LEFT = "left"  # not ours after all (someone else's bounce): left as it is


@dataclass
class Poller:
    """One pass over one mailbox. `mailbox` is its mail source; its name keys lease and cursor."""

    mailbox: MailSource
    intake: Filing
    clock: Clock
    watched_subject: str
    max_attempts: int = 3
    fetch_batch: int = 25
    worker_id: str = "worker"
    # Renewed with every batch, so a crashed poller's lease lapses soon after it died.
    lease_ttl: timedelta = timedelta(minutes=2)
    # The regional office for a request from this mailbox that names none; intake does not
    # take it yet (`Intake.ingest` has no such argument), so it is carried here and unused.
    default_office: str | None = None
    # Reads each batch ahead of filing it (services/reading.py: a pool of processes); None:
    # each message is read as it is filed.
    reader: Reader | None = None

    @property
    def lease(self) -> str:
        return f"poll:{self.mailbox.name}"

    def poll(
        self, *, progress: Progress | None = None, stop: Callable[[], bool] = lambda: False
    ) -> PollReport:
        """One pass over the new messages. MailboxError/StoreUnavailableError: retry later."""
        report = PollReport()
        store = self.intake.store
        try:
            with store.unit() as unit:
                taken = unit.polling.take_lease(
                    self.lease, self.worker_id, self.clock(), self.lease_ttl
                )
        except DuplicateError:  # another worker created the lease row at the same moment
            taken = False
        if not taken:
            report.skipped = True
            return report
        try:
            self._poll(report, progress, stop)
        finally:
            with store.unit() as unit:
                unit.polling.release_lease(self.lease, self.worker_id, self.clock())
        return report

    def _poll(
        self, report: PollReport, progress: Progress | None, stop: Callable[[], bool]
    ) -> None:
        source, name = self.mailbox, self.mailbox.name
        self.intake.refresh_reference_data()
        with self.intake.store.unit() as unit:
            cursor = unit.polling.cursor(name)
        changes = source.changes(cursor)
        report.examined = len(changes.candidates)
        ours: list[Candidate] = []
        others: list[MessageRef] = []
        # A bounce keeps our subject only now and then: read it, to see whose email it returns.
        bounces: set[MessageRef] = set()
        for candidate in changes.candidates:
            if subject_matches(candidate.subject, self.watched_subject):
                ours.append(candidate)
            elif looks_like_bounce(candidate.subject):
                ours.append(candidate)
                bounces.add(candidate.ref)
            else:
                others.append(candidate.ref)
        self._leave(others, report)
        done, safe = 0, True  # safe: every message so far is settled, so the cursor may move
        for batch in _chunks(ours, self.fetch_batch):
            settled_to: str | None = None  # the cursor past the last message settled in order
            filed: list[MessageRef] = []
            after = {c.ref: c.cursor_after for c in batch}
            with self.intake.store.unit() as unit:  # in hand: a marker, not an attempt
                failures = unit.polling.start_batch(list(after), self.clock())
            fetched: Iterable[tuple[MessageRef, bytes]] = source.fetch(list(after))
            reading = None
            if self.reader is not None and self.reader.ahead:  # the whole batch in hand
                in_hand = list(fetched)
                theirs = {r for r, raw in in_hand if r in bounces and not self._ours(raw)}
                reading = self._read_ahead(in_hand, theirs, failures)
                fetched = in_hand
            # Else streamed: one message in memory at a time, and a fetch that fails part way
            # leaves the messages before it filed.
            for index, (ref, raw) in enumerate(fetched):
                if stop():
                    report.interrupted = True
                    break
                if ref in bounces and not self._ours(raw):
                    self._leave([ref], report)  # someone else's bounce: theirs to read
                    settled = Settled.LEFT
                else:
                    read = partial(reading.contents, index) if reading else None
                    settled = self._handle(ref, raw, report, failures.get(ref, 0), read)
                if settled is Settled.FILED:
                    filed.append(ref)
                safe = safe and settled is not Settled.RETRY
                if safe:
                    settled_to = after[ref] or settled_to
                done += 1
                if progress:
                    progress(done, len(ours))
            if reading is not None:
                reading.close()
            # Settle the batch only now, every message in it already committed (invariant 1).
            source.settle(filed, Settlement.FILED)
            self._advance(settled_to)
            if report.interrupted:
                return
        if safe and changes.cursor not in (None, cursor):
            self._advance(changes.cursor)

    def _ours(self, bounce: bytes) -> bool:
        return returns_our_mail(bounce, self.intake.own_addresses)

    def _read_ahead(
        self,
        fetched: list[tuple[MessageRef, bytes]],
        theirs: set[MessageRef],
        failures: dict[MessageRef, int],
    ) -> Reading | None:
        """Begin reading the batch (None: each message is read as it is filed). Not read: a
        bounce of someone else's mail, and a message to quarantine for failing too often."""
        if self.reader is None:
            return None
        return self.reader.start(
            [
                None if ref in theirs or failures.get(ref, 0) >= self.max_attempts else raw
                for ref, raw in fetched
            ]
        )

    def _leave(self, refs: list[MessageRef], report: PollReport) -> None:
        """Messages that are not ours: left as they are (the cursor moves past them)."""
        if refs:
            self.mailbox.settle(refs, Settlement.NOT_OURS)
            report.not_ours += len(refs)

    def _advance(self, cursor: str | None) -> None:
        """Move the cursor past what is settled, and hold on to the mailbox for another batch."""
        now = self.clock()
        with self.intake.store.unit() as unit:
            unit.polling.take_lease(self.lease, self.worker_id, now, self.lease_ttl)
            if cursor is not None:
                unit.polling.set_cursor(self.mailbox.name, cursor, now)

    def _handle(
        self,
        ref: MessageRef,
        raw: bytes,
        report: PollReport,
        failures: int,
        read: Callable[[], Contents] | None = None,
    ) -> Settled:
        """File one message (it is settled with its batch), or quarantine it, or say retry.

        `failures`: how often processing it raised before. Only a raise counts: a worker killed
        while the message was in hand leaves no count, so a kill never quarantines anything.
        `read`: its contents as read ahead (a reader's error is raised here, and counts).
        """
        if failures >= self.max_attempts:
            return self._quarantine_poison(ref, raw, failures, report)
        try:
            result = ingest_message(
                raw,
                ref,
                intake=self.intake,
                now=self.clock(),
                default_office=self.default_office,
                contents=read() if read is not None else None,
            )
        except Exception as exc:  # a bug in a reader or the store: count it, move on
            if isinstance(exc, StoreUnavailableError):
                raise  # the database's fault, not the message's: not an attempt
            log.error("could not file %s %s: %s", ref.mailbox, ref.key, type(exc).__name__)
            # Where, not what: an exception's text may quote the message.
            log.debug("filing failure at:\n%s", "".join(traceback.format_tb(exc.__traceback__)))
            with self.intake.store.unit() as unit:
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
                unit.polling.record_failure(ref, error, self.clock())
            report.errors += 1
            return Settled.RETRY
        reply = result.outcome is Kind.REPLY
        report.count(result.outcome.value, result.references, result.replies, reply=reply)
        log.info(
            "%s %s: %s %s", ref.mailbox, ref.key, result.outcome.value, " ".join(result.references)
        )
        if result.move_to_quarantine:
            self.mailbox.settle([ref], Settlement.QUARANTINED)
            return Settled.QUARANTINED
        return Settled.FILED

    def _quarantine_poison(
        self, ref: MessageRef, raw: bytes, failures: int, report: PollReport
    ) -> Settled:
        with self.intake.store.unit() as unit:
            filed = unit.messages.find(ref) is not None
            last_error = unit.polling.attempt_error(ref)
        if filed:  # filed after all (it raised only after its commit): just settle it
            return Settled.FILED
        reason = f"failed {failures} times; last error: {last_error}"
        self.intake.quarantine(raw, ref, reason, now=self.clock())
        self.mailbox.settle([ref], Settlement.QUARANTINED)
        report.outcomes["quarantined"] = report.outcomes.get("quarantined", 0) + 1
        log.warning("quarantined %s %s after %d attempts", ref.mailbox, ref.key, failures)
        return Settled.QUARANTINED


def _chunks(items: Sequence[Candidate], size: int) -> list[list[Candidate]]:
    it = iter(items)
    out = []
    while chunk := list(islice(it, size)):
        out.append(chunk)
    return out
