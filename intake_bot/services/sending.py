"""send_due: deliver the outbox, with retries and back-off. SMTP down for hours loses nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from intake_bot.ports import Clock, MailTransport, SendError
from intake_bot.store.store import Store

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Sender:
    store: Store
    transport: MailTransport
    clock: Clock
    max_attempts: int = 10
    backoff: timedelta = timedelta(seconds=60)
    batch: int = 50
    claim_for: timedelta = timedelta(minutes=5)  # a crashed sender's rows come back after this

    def send_due(self, *, limit: int = 10_000) -> SendReport:
        """Send what is due, batch by batch, until nothing is due or `limit` were tried."""
        report = SendReport()
        tried = 0
        while tried < limit:
            with self.store.unit() as unit:
                rows = unit.claim_outbox(self.clock(), self.claim_for, self.batch)
                claimed = [
                    (r.id, r.sender, list(r.recipients), r.raw, r.message_id, r.attempts)
                    for r in rows
                ]
            if not claimed:
                break
            for outbox_id, sender, recipients, raw, message_id, attempts in claimed:
                assert outbox_id is not None
                tried += 1
                try:
                    self.transport.send(
                        sender=sender, recipients=recipients, raw=raw, message_id=message_id
                    )
                except SendError as exc:
                    self._failed(outbox_id, attempts, exc, report)
                    if not exc.permanent:
                        # The server is down or busy: leave the rest of the batch for later.
                        self._release_rest(claimed, outbox_id)
                        return report
                    continue
                with self.store.unit() as unit:
                    unit.mark_sent(outbox_id, self.clock())
                report.sent += 1
        return report

    def _failed(self, outbox_id: int, attempts: int, exc: SendError, report: SendReport) -> None:
        attempts += 1
        give_up = exc.permanent or attempts >= self.max_attempts
        delay = min(self.backoff * (2 ** (attempts - 1)), MAX_BACKOFF)
        with self.store.unit() as unit:
            unit.mark_send_failed(
                outbox_id, str(exc), next_attempt_at=self.clock() + delay, give_up=give_up
            )
        if give_up:
            report.failed += 1
        else:
            report.deferred += 1
        report.errors.append(str(exc)[:200])
        log.warning(
            "outbox %d: %s (%s)", outbox_id, exc, "gave up" if give_up else f"retry in {delay}"
        )

    def _release_rest(self, claimed: Sequence[tuple[object, ...]], failed_id: int) -> None:
        """Hand back the rows claimed after the failure, due now, untouched."""
        seen = False
        ids = []
        for row in claimed:
            if seen:
                ids.append(int(str(row[0])))
            seen = seen or row[0] == failed_id
        if ids:
            with self.store.unit() as unit:
                unit.release_claims(ids, self.clock())
