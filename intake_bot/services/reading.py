"""Reading a batch of fetched emails ahead of filing them, in other processes when there are CPUs.

Reading an email (parse it, read every form, look for NHS numbers: `classify.read_message`)
needs no database and costs about half of a poll's time. A poll files one message at a time, in
mailbox order, each in its own transaction (DESIGN invariant 1); so while it files one message,
a pool of processes reads the next ones. Filing, settling and the cursor stay where they were:
in the poller, in order. `parse_workers = 1` reads in the poller's own process, as before.

A reader process that dies (a crash in a C library, the kernel's out-of-memory killer) or that
takes longer than the email's time budget allows (`limits.message_seconds`; the readers check
it themselves, this catches what cannot be interrupted) takes the pool with it. The messages in
hand are then read again in a fresh pool, the one that was being waited for on its own: if it
kills its reader again it fails with `ReaderDiedError`, which the poller counts as an attempt
like any error in a reader (quarantined for staff after `max_attempts`); the others are read as
usual. Nothing is filed from a reading that did not finish, so nothing is lost or filed twice.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Protocol

from intake_bot.forms.limits import DEFAULT_LIMITS, ReadLimits
from intake_bot.services.classify import Contents, read_message

log = logging.getLogger(__name__)

# Past the email's own time budget, how long to wait for a reader before it counts as hung.
GRACE_SECONDS = 30.0


# Imported once in the server that forks the readers, so that no reader pays for an import
# out of an email's time budget (some readers import what they need only when first needed).
_PRELOAD = ["intake_bot.services.classify", "intake_bot.forms.xlsx", "intake_bot.forms.docx"]


class ReaderDiedError(Exception):
    """The process reading one email died or hung while reading it, twice running."""


class Reading(Protocol):
    """The batch being read: each message's contents, in the order it was given."""

    def contents(self, index: int) -> Contents:
        """Message `index` read; raises what reading it raised (the poller counts it)."""
        ...

    def close(self) -> None:
        """Give up on what is not yet asked for (a stopped poll)."""
        ...


class Reader(Protocol):
    """What the poller reads a batch with: `InProcess`, or `Pooled` over several processes."""

    # True: the whole batch must be in hand before reading starts. False: the poller streams
    # the fetch and reads each email as it files it (one email in memory at a time).
    ahead: bool

    def start(self, raws: Sequence[bytes | None]) -> Reading:
        """Begin reading each email of a batch; None: one the poller will not read."""
        ...


@dataclass(frozen=True)
class ReadOptions:
    """How each email is read: the same in every process."""

    own_addresses: tuple[str, ...] = ()
    limits: ReadLimits = DEFAULT_LIMITS

    def read(self, raw: bytes) -> Contents:
        return read_message(raw, own_addresses=self.own_addresses, limits=self.limits)


@dataclass
class InProcess:
    """Each email read when the poller asks for it, in the poller's own process."""

    own_addresses: tuple[str, ...] = ()
    limits: ReadLimits = DEFAULT_LIMITS
    ahead: bool = False

    def start(self, raws: Sequence[bytes | None]) -> Reading:
        return _Lazy(ReadOptions(self.own_addresses, self.limits), list(raws))


@dataclass
class _Lazy:
    options: ReadOptions
    raws: list[bytes | None]

    def contents(self, index: int) -> Contents:
        raw = self.raws[index]
        if raw is None:
            raise ValueError(f"message {index} was not to be read")
        return self.options.read(raw)

    def close(self) -> None:
        self.raws.clear()


def read_in_worker(options: ReadOptions, raw: bytes) -> Contents:
    """What a reader process runs for one email."""
    return options.read(raw)


ReadInWorker = Callable[[ReadOptions, bytes], Contents]  # a module-level function: pickled


@dataclass
class Pooled:
    """A pool of `workers` reader processes, started at the first batch and kept for the next
    polls. Even a batch of one goes to the pool: a message that kills its reader must never be
    read in the poller's own process, where it would take the poller with it."""

    workers: int
    own_addresses: tuple[str, ...] = ()
    limits: ReadLimits = DEFAULT_LIMITS
    work: ReadInWorker = read_in_worker  # tests crash a reader process with their own
    ahead: bool = True
    _pool: ProcessPoolExecutor | None = field(default=None, init=False, repr=False)

    def start(self, raws: Sequence[bytes | None]) -> Reading:
        return _Ahead(self, ReadOptions(self.own_addresses, self.limits), list(raws))

    def submit(self, options: ReadOptions, raw: bytes) -> Future[Contents]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=_context())
        try:
            return self._pool.submit(self.work, options, raw)
        except BrokenProcessPool as exc:
            # A reader died since the pool was last asked (often the email just handed to it,
            # killing its reader at once): this one is read again when its turn comes.
            failed: Future[Contents] = Future()
            failed.set_exception(exc)
            return failed

    def restart(self) -> None:
        """Kill the pool's processes (one may hang) and begin again at the next submit."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            if process.is_alive():
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        self.restart()

    def process_ids(self) -> list[int]:
        """The reader processes running now (a benchmark reads their peak memory)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.pid is not None]


@dataclass
class _Ahead:
    """A batch handed to the pool at once; its results taken in order."""

    reader: Pooled
    options: ReadOptions
    raws: list[bytes | None]
    futures: list[Future[Contents] | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.futures = [self._submit(raw) for raw in self.raws]

    def contents(self, index: int) -> Contents:
        future, raw = self.futures[index], self.raws[index]
        if future is None or raw is None:
            raise ValueError(f"message {index} was not to be read")
        try:
            return future.result(timeout=self._patience())
        except (BrokenProcessPool, FutureTimeout) as exc:
            log.warning("a reader process %s: reading again", _what(exc))
        self.reader.restart()
        try:
            return self._submit_alone(raw).result(timeout=self._patience())
        except (BrokenProcessPool, FutureTimeout) as exc:
            self.reader.restart()
            raise ReaderDiedError(f"the process reading it {_what(exc)}, twice") from None
        finally:
            self.futures[index + 1 :] = [self._submit(r) for r in self.raws[index + 1 :]]

    def close(self) -> None:
        for future in self.futures:
            if future is not None:
                future.cancel()

    def _submit(self, raw: bytes | None) -> Future[Contents] | None:
        return None if raw is None else self.reader.submit(self.options, raw)

    def _submit_alone(self, raw: bytes) -> Future[Contents]:
        self.futures = [None] * len(self.futures)  # the rest wait in a fresh pool
        return self.reader.submit(self.options, raw)

    def _patience(self) -> float:
        return self.options.limits.message_seconds + GRACE_SECONDS


def _what(exc: BaseException) -> str:
    return "hung" if isinstance(exc, FutureTimeout) else "died"


def _context() -> multiprocessing.context.BaseContext:
    """Fork from a clean server process where there is one (Linux): cheap to start, and no copy
    of the poller's threads, locks and database connections. Spawn elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def reader(
    workers: int, *, own_addresses: tuple[str, ...] = (), limits: ReadLimits = DEFAULT_LIMITS
) -> Reader:
    """`workers` reader processes (0: one per CPU); 1 reads in the poller's own process."""
    count = workers or _cpus()
    if count <= 1:
        return InProcess(own_addresses, limits)
    return Pooled(count, own_addresses, limits)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
