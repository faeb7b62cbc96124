"""Sending the outbox, with retries and back-off: SMTP down for hours loses nothing.

An email is sent at most once, except in one window: after the SMTP server accepted it and
before its row is marked sent. A worker killed there (or a connection cut before the server's
"250" reached us, or a database that refuses the mark even after a retry) sends it once more
when its claim lapses. Nothing else resends: a send starts only while the claim has one and a
half sends' worth of time left (`send_limit`, the transport's deadline for one email, with room
to mark it sent), so another worker never takes a row that this one is still sending. Settings
refuse a claim shorter than two sends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from intake_bot.domain.outgoing import SendReport
from intake_bot.ports import (
    Clock,
    CredentialsError,
    MailTransport,
    SendError,
    Store,
    StoreUnavailableError,
)
from intake_bot.services.audit import record

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class _Claimed:
    """What sending one email needs, copied out of the unit that claimed it."""

    outbox_id: int
    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    message_id: str
    attempts: int
    request_id: int | None
    inbound_id: int | None


@dataclass(kw_only=True)
class Sender:
    """Delivers due outbox emails through one transport (opened per job by the caller)."""

    store: Store
    transport: MailTransport
    clock: Clock
    max_attempts: int = 10
    backoff: timedelta = timedelta(seconds=60)
    batch: int = 50
    claim_for: timedelta = timedelta(minutes=5)  # a crashed sender's rows come back after this
    send_limit: timedelta = timedelta(seconds=60)  # the most one send takes (transport deadline)
    # Between tries at marking a sent email sent (the database restarting): then it is resent.
    mark_retry_pause: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.claim_for < self.send_limit * 1.5:  # no send could ever start: refuse to loop
            raise ValueError("an outbox claim must last at least one and a half sends")

    def send_due(self, *, limit: int | None = None) -> SendReport:
        """Send what is due, batch by batch, until nothing is due (however many that is: one
        `run --once` drains any outbox) or `limit` were tried.

        A temporary failure (the server is down or busy) stops the run and hands the rest of
        the batch back, due now; a permanent one (the server refused the message) gives up on
        that email and goes on with the next. Credentials that fail (CredentialsError) are no
        email's fault: the batch goes back untouched, no attempt counted, and the error rises.
        """
        report = SendReport()
        tried = 0
        while limit is None or tried < limit:
            claimed_at = self.clock()
            claimed = self._claim()
            if not claimed:
                break
            for index, item in enumerate(claimed):
                # Not enough of the claim left for one more send: hand the rest back, claim anew.
                if self.clock() - claimed_at + self.send_limit * 1.5 > self.claim_for:
                    self._release(claimed[index:])
                    break
                tried += 1
                try:
                    self.transport.send(
                        sender=item.sender,
                        recipients=item.recipients,
                        raw=item.raw,
                        message_id=item.message_id,
                    )
                except CredentialsError:
                    # The sign-in failed, not this email: all of it goes back untouched.
                    self._release(claimed[index:])
                    raise
                except SendError as exc:
                    self._failed(item, exc, report)
                    if not exc.permanent:
                        self._release(claimed[index + 1 :])
                        return report
                    continue
                self._mark_sent(item.outbox_id)
                report.sent += 1
        return report

    def _claim(self) -> list[_Claimed]:
        with self.store.unit() as unit:
            rows = unit.outbox.claim(self.clock(), self.claim_for, self.batch)
            return [
                _Claimed(
                    outbox_id=r.id,
                    sender=r.sender,
                    recipients=tuple(r.recipients),
                    raw=r.raw,
                    message_id=r.message_id,
                    attempts=r.attempts,
                    request_id=r.request_id,
                    inbound_id=r.inbound_id,
                )
                for r in rows
                if r.id is not None
            ]

    def _failed(self, item: _Claimed, exc: SendError, report: SendReport) -> None:
        attempts = item.attempts + 1
        give_up = exc.permanent or attempts >= self.max_attempts
        delay = min(self.backoff * (2 ** (attempts - 1)), MAX_BACKOFF)
        with self.store.unit() as unit:
            unit.outbox.mark_failed(
                item.outbox_id, str(exc), next_attempt_at=self.clock() + delay, give_up=give_up
            )
            if give_up:  # staff see it in the audit trail and in `intake-bot outbox`
                why = "refused" if exc.permanent else f"failed {attempts} times"
                record(
                    unit,
                    action="email_failed",
                    at=self.clock(),
                    request=item.request_id,
                    inbound=item.inbound_id,
                    outbox=item.outbox_id,
                    note=f"email {item.message_id} not sent, {why}: {exc}",
                )
        if give_up:
            report.failed += 1
        else:
            report.deferred += 1
        report.errors.append(str(exc)[:200])  # a report line, not the stored error
        log.warning(
            "outbox %d: %s (%s)", item.outbox_id, exc, "gave up" if give_up else f"retry in {delay}"
        )

    def _mark_sent(self, outbox_id: int) -> None:
        """Mark an accepted email sent; once more if the database dropped the connection."""
        for tries_left in (1, 0):
            try:
                with self.store.unit() as unit:
                    unit.outbox.mark_sent(outbox_id, self.clock())
                return
            except StoreUnavailableError:
                if not tries_left:
                    raise  # its claim lapses and it is sent again: the one resend window
                log.warning("outbox %d: sent, but not marked yet; trying again", outbox_id)
                self.sleep(self.mark_retry_pause)

    def _release(self, rest: Sequence[_Claimed]) -> None:
        """Hand back the emails claimed after a temporary failure, due now, untouched."""
        if rest:
            with self.store.unit() as unit:
                unit.outbox.release_claims([c.outbox_id for c in rest], self.clock())
