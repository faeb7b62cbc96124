"""The figures the console exposes to Prometheus (`/metrics`): aggregates, never a reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from intake_bot.domain.polls import MailboxState


@dataclass(frozen=True)
class Metrics:
    messages: dict[str, int]  # every message taken, by outcome
    queues: dict[str, int]  # what waits now, by queue
    outbox: dict[str, int]  # emails by status
    mailboxes: tuple[MailboxState, ...]
    now: datetime
