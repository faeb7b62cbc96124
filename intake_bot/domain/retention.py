"""What a retention run purged (or, on a dry run, would purge): `services.retention` fills it in,
the worker logs it and `intake-bot retention run` shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Purged:
    """One message whose raw mail went (or, on a dry run, would go)."""

    inbound_id: int
    reason: str
    bytes: int  # of the raw message and its attachments
    attachments: int
    requests: tuple[str, ...]  # e.g. ("LR-000123",)


@dataclass(frozen=True)
class RetentionReport:
    dry_run: bool
    closed_before: datetime  # requests closed before this had their raw mail purged
    purged: tuple[Purged, ...]

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.purged)
