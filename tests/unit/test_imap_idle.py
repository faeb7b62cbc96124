"""IDLE (mail/imap_idle.py) with a fake connection: what counts as news, renewal before the
server's 30 minutes, a server without IDLE, a dropped connection. The real server is in
tests/integration/test_idle.py."""

from __future__ import annotations

import imaplib
from dataclasses import dataclass, field
from typing import Any

import pytest

from intake_bot.mail.imap_idle import Idle

Response = tuple[Any, ...]


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeConnection:
    """Answers `idle_check` from a script: each entry is what one check returns; the clock moves
    by the whole timeout when nothing comes (as a quiet server would)."""

    clock: FakeClock
    checks: list[list[Response]] = field(default_factory=list)
    capabilities: tuple[str, ...] = ("IDLE",)
    exists: int = 3
    done_responses: list[Response] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    fail_done: bool = False

    def has_capability(self, capability: str) -> bool:
        return capability in self.capabilities

    def select_folder(self, folder: str, readonly: bool = False) -> dict[bytes, Any]:
        self.log.append(f"EXAMINE {folder}" if readonly else f"SELECT {folder}")
        return {b"EXISTS": self.exists, b"RECENT": 0}

    def idle(self) -> None:
        self.log.append("IDLE")

    def idle_check(self, timeout: float | None = None) -> list[Response]:
        if self.checks:
            return self.checks.pop(0)
        self.clock.now += timeout or 0.0
        return []

    def idle_done(self) -> tuple[bytes, list[Response]]:
        self.log.append("DONE")
        if self.fail_done:
            raise imaplib.IMAP4.abort("socket error: EOF")
        responses, self.done_responses = self.done_responses, []
        return b"Idle completed", responses

    def logout(self) -> None:
        self.log.append("LOGOUT")

    def shutdown(self) -> None:
        self.log.append("SHUTDOWN")


def _idle(conn: FakeConnection, renew_after: float = 29 * 60) -> tuple[Idle, list[int]]:
    connects: list[int] = []

    def connect() -> FakeConnection:
        connects.append(1)
        return conn

    return Idle(connect, "INBOX", renew_after=renew_after, clock=conn.clock), connects


def test_a_new_connection_is_news_then_it_idles_quietly_until_the_timeout() -> None:
    conn = FakeConnection(FakeClock())
    idle, _ = _idle(conn)
    assert idle.wait(5) is True  # mail may have come while nothing watched
    assert conn.log == ["EXAMINE INBOX"]  # read-only: no flag changes
    assert idle.wait(5) is False
    assert idle.wait(5) is False
    assert conn.log == ["EXAMINE INBOX", "IDLE"]  # one IDLE across calls, no DONE
    assert conn.clock.now == 10


def test_a_bigger_folder_is_news_but_our_own_moves_are_not() -> None:
    conn = FakeConnection(FakeClock(), exists=3)
    idle, _ = _idle(conn)
    idle.wait(1)
    # The poll moved two messages out (EXPUNGE twice); the server may then restate the count.
    conn.checks = [[(3, b"EXPUNGE"), (2, b"EXPUNGE"), (1, b"EXISTS"), (b"OK", b"Still here")]]
    assert idle.wait(1) is False
    conn.checks = [[(2, b"EXISTS"), (1, b"RECENT")]]
    assert idle.wait(1) is True
    conn.checks = [[(1, b"FETCH", (b"FLAGS", (b"$IntakeBotFiled",)))]]
    assert idle.wait(1) is False


def test_the_idle_is_renewed_before_the_servers_timeout() -> None:
    conn = FakeConnection(FakeClock())
    idle, _ = _idle(conn, renew_after=100)
    idle.wait(1)
    assert idle.wait(250) is False
    assert conn.log == ["EXAMINE INBOX", "IDLE", "DONE", "IDLE", "DONE", "IDLE"]


def test_news_told_as_the_idle_ends_is_not_lost() -> None:
    conn = FakeConnection(FakeClock())
    idle, _ = _idle(conn, renew_after=100)
    idle.wait(1)
    conn.done_responses = [(4, b"EXISTS")]
    assert idle.wait(150) is True
    assert conn.clock.now == 100


def test_a_server_without_idle_is_told_at_once_and_never_asked_again() -> None:
    conn = FakeConnection(FakeClock(), capabilities=())
    idle, connects = _idle(conn)
    assert idle.offered is True  # not known before connecting
    assert idle.wait(600) is False
    assert idle.offered is False and conn.clock.now == 0
    assert conn.log == ["LOGOUT"]
    assert idle.wait(600) is False and len(connects) == 1


def test_bye_drops_the_connection_and_the_next_wait_reconnects() -> None:
    conn = FakeConnection(FakeClock())
    idle, connects = _idle(conn)
    idle.wait(1)
    conn.checks = [[(b"BYE", b"Disconnected", b"by", b"admin")]]
    with pytest.raises(ConnectionAbortedError):
        idle.wait(1)
    assert conn.log[-1] == "SHUTDOWN"
    assert idle.wait(1) is True and len(connects) == 2


def test_a_silent_wake_up_is_checked_by_ending_the_idle() -> None:
    conn = FakeConnection(FakeClock())
    idle, _ = _idle(conn)
    idle.wait(1)
    conn.checks = [[]]  # readable at once, nothing to read: the server closed the socket
    conn.fail_done = True
    with pytest.raises(imaplib.IMAP4.abort):
        idle.wait(10)
    assert conn.log[-2:] == ["DONE", "SHUTDOWN"]


def test_close_ends_the_idle_and_logs_out() -> None:
    conn = FakeConnection(FakeClock())
    idle, _ = _idle(conn)
    idle.wait(1)
    idle.wait(1)
    idle.close()
    assert conn.log[-2:] == ["DONE", "LOGOUT"]
