"""What polling a mailbox tells: one pass's report, and how each mailbox's last poll went.

Pure: the polling use case fills these in; the worker logs them and `intake-bot status` shows
them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

Progress = Callable[[int, int], None]  # (done, total) of the messages in a poll

DUPLICATE = "duplicate"  # the outcome of a message that was filed before: not counted as filed


@dataclass
class PollReport:
    """One pass over one mailbox (or, added up, over several)."""

    examined: int = 0  # new messages looked at
    not_ours: int = 0  # other subjects, left untouched
    outcomes: dict[str, int] = field(default_factory=dict)
    references: list[str] = field(default_factory=list)  # the requests filed
    threaded: list[str] = field(default_factory=list)  # the requests replies were about
    replies: int = 0
    errors: int = 0
    skipped: bool = False  # another worker holds this mailbox
    interrupted: bool = False

    def count(
        self, outcome: str, references: Sequence[str] = (), replies: int = 0, *, reply: bool = False
    ) -> None:
        """One message dealt with. `reply`: it answered a request, the first of `references`
        (the others, forms further in it, were filed anew)."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if reply and references:
            self.threaded.append(references[0])
            references = references[1:]
        self.references.extend(references)
        self.replies += replies

    def add(self, other: PollReport) -> None:
        """Add another mailbox's report to this one."""
        self.examined += other.examined
        self.not_ours += other.not_ours
        for outcome, n in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + n
        self.references.extend(other.references)
        self.threaded.extend(other.threaded)
        self.replies += other.replies
        self.errors += other.errors
        self.skipped = self.skipped and other.skipped
        self.interrupted = self.interrupted or other.interrupted

    @property
    def filed(self) -> int:
        return sum(n for k, n in self.outcomes.items() if k != DUPLICATE)

    def summary(self) -> str:
        """One line for the log and for `intake-bot status`."""
        dealt = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())) or "none filed"
        text = f"{self.examined} new ({dealt}), {self.not_ours} not ours"
        return text + (f", {self.errors} error(s)" if self.errors else "")


@dataclass(frozen=True)
class PollStatus:
    """How a mailbox's last poll went, as the store keeps it."""

    mailbox: str
    polled_at: datetime
    ok: bool
    detail: str  # what the poll found, or the fault in one line
    failing_since: datetime | None = None  # the first failed poll of the current fault
    seconds: float | None = None  # how long it took


@dataclass(frozen=True)
class MailboxState:
    """A configured mailbox and how its last poll went (None: not polled yet)."""

    name: str
    poll_interval_seconds: int
    last: PollStatus | None

    @property
    def result(self) -> str:
        """ "ok: …", "failing: …" or "not polled yet", in one line."""
        if self.last is None:
            return "not polled yet"
        return f"{'ok' if self.last.ok else 'failing'}: {self.last.detail}"
