"""In-memory fake of the polling repository: cursors, poll status, leases and attempts, kept in
`memory.state` (so a unit that raises rolls them back with everything else)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from intake_bot.domain.polls import PollStatus
from intake_bot.ports import MessageRef
from tests.fakes import Memory


@dataclass
class _Attempt:
    attempts: int = 0
    last_error: str = ""


class FakePolling:
    def __init__(self, memory: Memory) -> None:
        state = memory.state
        self.cursors: dict[str, str] = state.setdefault("cursors", {})
        self.polls: dict[str, PollStatus] = state.setdefault("polls", {})
        self.leases: dict[str, tuple[str, datetime]] = state.setdefault("leases", {})
        self.attempts: dict[tuple[str, str], _Attempt] = state.setdefault("attempts", {})

    def cursor(self, mailbox: str) -> str | None:
        return self.cursors.get(mailbox)

    def set_cursor(self, mailbox: str, cursor: str, now: datetime) -> None:
        self.cursors[mailbox] = cursor

    def record_poll(
        self, mailbox: str, at: datetime, ok: bool, detail: str, seconds: float | None = None
    ) -> None:
        before = self.polls.get(mailbox)
        since = None if ok else (before.failing_since if before and not before.ok else at)
        self.polls[mailbox] = PollStatus(mailbox, at, ok, detail, since, seconds)

    def poll_status(self) -> list[PollStatus]:
        return [self.polls[name] for name in sorted(self.polls)]

    def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        held = self.leases.get(name)
        if held is not None and held[0] != holder and held[1] > now:
            return False
        self.leases[name] = (holder, now + ttl)
        return True

    def release_lease(self, name: str, holder: str, now: datetime) -> None:
        held = self.leases.get(name)
        if held is not None and held[0] == holder:
            self.leases[name] = (holder, now)

    def start_batch(self, refs: Sequence[MessageRef], now: datetime) -> dict[MessageRef, int]:
        for ref in refs:
            self.attempts.setdefault(_key(ref), _Attempt())
        return {ref: a.attempts for ref in refs if (a := self.attempts[_key(ref)]).attempts}

    def record_failure(self, ref: MessageRef, error: str, now: datetime) -> int:
        attempt = self.attempts.setdefault(_key(ref), _Attempt())
        attempt.attempts += 1
        attempt.last_error = error
        return attempt.attempts

    def attempt_error(self, ref: MessageRef) -> str:
        attempt = self.attempts.get(_key(ref))
        return attempt.last_error if attempt else ""


def _key(ref: MessageRef) -> tuple[str, str]:
    return (ref.mailbox, ref.key)
