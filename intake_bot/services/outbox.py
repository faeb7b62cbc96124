"""The outbox as staff see it: what is waiting, sent or failed, why it failed, and retrying."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from intake_bot.domain.records import Outbox, saved_id
from intake_bot.domain.triage import request_reference
from intake_bot.ports import Clock, Store

STATUSES = ("pending", "sending", "sent", "failed")


@dataclass(frozen=True)
class OutboxFailure:
    """An email that failed: given up (`failed`) or waiting for its next attempt (`pending`)."""

    outbox_id: int
    kind: str  # the template: ack_valid, status_update, digest...
    recipients: tuple[str, ...]
    subject: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    next_attempt_at: datetime | None  # None once given up
    request: str | None  # the request it is about, e.g. "LR-000123"


@dataclass(frozen=True)
class OutboxStatus:
    counts: Mapping[str, int]  # emails by status, every status present (0 when none)
    failures: tuple[OutboxFailure, ...]  # the newest first


@dataclass(kw_only=True)
class OutboxAdmin:
    """What `intake-bot outbox` shows and does."""

    store: Store
    clock: Clock

    def status(self, *, failures: int = 10) -> OutboxStatus:
        """Counts by status, and the newest `failures` emails that failed with their last error."""
        with self.store.unit() as unit:
            counts = unit.outbox.counts()
            recent = unit.outbox.recent_failures(failures)
            return OutboxStatus(
                counts={s: counts.get(s, 0) for s in (*STATUSES, *sorted(counts))},
                failures=tuple(_failure(row) for row in recent),
            )

    def retry(self) -> int:
        """Put every failed email back in the queue, due now (once staff fixed the cause)."""
        with self.store.unit() as unit:
            return unit.outbox.retry_failed(self.clock())


def _failure(row: Outbox) -> OutboxFailure:
    return OutboxFailure(
        outbox_id=saved_id(row),
        kind=row.kind,
        recipients=tuple(row.recipients),
        subject=row.subject,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=None if row.status == "failed" else row.next_attempt_at,
        request=request_reference(row.request_id) if row.request_id else None,
    )
