"""The watcher of a push source (services/watching.py) and the worker's one-poll-at-a-time turn,
with a fake source: news -> a poll; a fault -> back-off, logged once; stop -> it ends."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import cast

import pytest

from intake_bot.application import Application
from intake_bot.domain.polls import PollReport, Progress
from intake_bot.ports import Changes, MailboxError, MessageRef, Settlement
from intake_bot.services.watching import Watcher
from intake_bot.worker import Worker

QUICK = 0.01  # a wait slice and the first back-off, in seconds


class FakeSource:
    """A push source whose `wait` answers from a script: True (news), False (nothing yet),
    or an exception (the connection dropped). Past the script it waits quietly."""

    def __init__(self, script: list[bool | Exception], *, push: bool = True) -> None:
        self.script = script
        self.push = push
        self.name = "box"
        self.closed = False

    def wait(self, timeout: float) -> bool:
        if not self.script:
            time.sleep(timeout)
            return False
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    def changes(self, cursor: str | None) -> Changes:
        return Changes([])

    def fetch(self, refs: Sequence[MessageRef]) -> Iterator[tuple[MessageRef, bytes]]:
        return iter(())

    def settle(self, refs: Sequence[MessageRef], outcome: Settlement) -> None:
        return None

    def close(self) -> None:
        self.closed = True


class Rig:
    """A watcher over a series of fake sources (one per connection), in a thread of its own."""

    def __init__(
        self,
        sources: list[FakeSource],
        max_backoff: float = 0.08,
        polled_at: Callable[[], float | None] = lambda: None,  # the last poll that got through
    ) -> None:
        self.sources = sources
        self.opened: list[float] = []  # when each connection was opened (monotonic)
        self.news = 0
        self.stop = threading.Event()
        self.watcher = Watcher(
            "box",
            self._open,
            self._on_news,
            self.stop,
            slice_seconds=QUICK,
            first_backoff=QUICK,
            max_backoff=max_backoff,
            polled_at=polled_at,
        )
        self.thread = threading.Thread(target=self.watcher.run, daemon=True)

    def _open(self) -> FakeSource:
        self.opened.append(time.monotonic())
        index = len(self.opened) - 1
        return self.sources[index] if index < len(self.sources) else FakeSource([])

    def _on_news(self) -> None:
        self.news += 1

    def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "the watcher never got there"
            time.sleep(0.002)

    def stop_and_join(self) -> float:
        started = time.monotonic()
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()
        return time.monotonic() - started


def test_news_runs_the_poll_and_quiet_waits_do_not() -> None:
    source = FakeSource([False, True, False, False, True, True])
    rig = Rig([source])
    rig.thread.start()
    rig.until(lambda: not source.script)
    rig.stop_and_join()
    assert rig.news == 3
    assert len(rig.opened) == 1 and source.closed


def test_a_drop_is_retried_with_doubling_back_off_told_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drop = MailboxError("idle failed on 127.0.0.1:143: ConnectionResetError")
    failing = [FakeSource([drop]) for _ in range(5)]
    healed = FakeSource([True])
    rig = Rig([*failing, healed], max_backoff=0.04)
    with caplog.at_level(logging.DEBUG, logger="intake_bot.services.watching"):
        rig.thread.start()
        rig.until(lambda: rig.news == 1)
        rig.stop_and_join()

    gaps = [b - a for a, b in zip(rig.opened, rig.opened[1:], strict=False)]
    # 0.01, 0.02, 0.04, then capped at 0.04 (timers only ever run late, so a lower bound each)
    for gap, least in zip(gaps, [0.01, 0.02, 0.04, 0.04, 0.04], strict=True):
        assert gap >= least * 0.9, gaps
    assert all(source.closed for source in failing)
    told = [r for r in caplog.records if r.levelno >= logging.INFO]
    # Polls failing too warn of the fault themselves: no warning here, just the news.
    assert [(r.levelname, r.getMessage().split(" (")[0]) for r in told] == [
        ("INFO", "mailbox box: watching for news failed"),
        ("INFO", "mailbox box: watching for news again"),
    ]


@pytest.mark.parametrize("poll_after_the_drop", [True, False])
def test_a_fault_of_the_watch_alone_is_warned_of_once(
    caplog: pytest.LogCaptureFixture, poll_after_the_drop: bool
) -> None:
    """A warning once a poll got through after the outage began (a poll from before it proves
    nothing: the server may have gone since)."""
    drop = MailboxError("idle failed on 127.0.0.1:143: too many connections")
    before = time.monotonic()
    rig = Rig(
        [*[FakeSource([drop]) for _ in range(5)], FakeSource([True])],
        polled_at=time.monotonic if poll_after_the_drop else lambda: before,
    )
    with caplog.at_level(logging.INFO, logger="intake_bot.services.watching"):
        rig.thread.start()
        rig.until(lambda: rig.news == 1)
        rig.stop_and_join()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == (1 if poll_after_the_drop else 0)
    assert all("its polls work but watching for news keeps failing" in w for w in warnings)


def test_back_off_starts_over_after_a_wait_that_worked() -> None:
    drop = MailboxError("dropped")
    sources = [FakeSource([drop]) for _ in range(5)]  # back-off has grown to 0.32 s by now
    sources.append(FakeSource([False, drop]))  # a wait worked, then it dropped again
    sources.append(FakeSource([True]))
    rig = Rig(sources, max_backoff=1.0)
    rig.thread.start()
    rig.until(lambda: rig.news == 1)
    rig.stop_and_join()
    last_gap = rig.opened[6] - rig.opened[5]
    assert last_gap < 0.3, f"back-off not reset: {last_gap:.3f} s (0.64 s if not)"


def test_stop_ends_the_watcher_promptly_even_during_back_off() -> None:
    rig = Rig([FakeSource([MailboxError("down")])], max_backoff=30)
    rig.watcher.first_backoff = 30  # it would sleep this long unless told to stop
    rig.thread.start()
    rig.until(lambda: len(rig.opened) == 1)
    time.sleep(0.05)
    assert rig.stop_and_join() < 1.0
    assert len(rig.opened) == 1


def test_a_stopped_mailbox_is_not_connected_to_until_its_credentials_change() -> None:
    paused = [True]
    rig = Rig([FakeSource([True])])
    rig.watcher.paused = lambda: paused[0]
    rig.thread.start()
    time.sleep(0.3)  # several back-off periods: no connection, so no token request
    assert rig.opened == [] and rig.news == 0
    paused[0] = False  # new credentials
    rig.until(lambda: rig.news == 1)
    assert len(rig.opened) == 1
    rig.stop_and_join()


def test_a_source_that_turns_out_to_have_no_push_ends_the_watcher() -> None:
    source = FakeSource([False], push=False)
    rig = Rig([source])
    rig.thread.start()
    rig.thread.join(5)
    assert not rig.thread.is_alive() and not rig.stop.is_set()
    assert rig.news == 0 and len(rig.opened) == 1 and source.closed


def test_a_failing_poll_does_not_stop_the_watching(caplog: pytest.LogCaptureFixture) -> None:
    source = FakeSource([True, True])
    rig = Rig([source])
    calls: list[int] = []

    def broken_poll() -> None:
        calls.append(1)
        raise RuntimeError("a bug in the poll")

    rig.watcher.on_news = broken_poll
    with caplog.at_level(logging.ERROR, logger="intake_bot.services.watching"):
        rig.thread.start()
        rig.until(lambda: len(calls) == 2)
        rig.stop_and_join()
    assert len(rig.opened) == 1  # not taken for a dropped connection
    assert sum("the poll on news failed" in r.getMessage() for r in caplog.records) == 2


class SlowPolls(Worker):
    """A worker whose polls take a while and count how many run at once."""

    def __init__(self) -> None:
        super().__init__(cast(Application, None))
        self.polls = 0
        self.running = 0
        self.most_at_once = 0
        self.in_poll = threading.Event()
        self.lock = threading.Lock()

    def poll_mailbox(self, name: str, progress: Progress | None = None) -> PollReport | None:
        with self.lock:
            self.polls += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.in_poll.set()
        time.sleep(0.1)
        with self.lock:
            self.running -= 1
        return None


def test_news_during_a_poll_polls_once_more_after_it_never_alongside() -> None:
    worker = SlowPolls()
    first = threading.Thread(target=worker.poll_soon, args=["box"])
    first.start()
    assert worker.in_poll.wait(5)
    # Three pieces of news while the first poll runs: they return at once, and one more poll
    # follows (the first may have looked before the mail came).
    started = time.monotonic()
    for _ in range(3):
        worker.poll_soon("box")
    assert time.monotonic() - started < 0.05
    first.join(5)
    assert worker.polls == 2 and worker.most_at_once == 1
