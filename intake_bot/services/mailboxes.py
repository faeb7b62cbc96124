"""Mailboxes: every watched mailbox polled on its own, its faults told once, its state kept.

A mailbox that fails (wrong password, unreachable host, missing folder) fails alone: its poll
returns None, the others go on. Its fault is logged when it starts and again when it clears,
not on every poll, and the store keeps each mailbox's last poll for `intake-bot status`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from intake_bot.config import ConfigError, MailboxSettings
from intake_bot.domain.polls import MailboxState, PollReport, Progress
from intake_bot.ports import (
    Clock,
    CredentialsError,
    MailboxError,
    MailSource,
    StoreUnavailableError,
)
from intake_bot.services.credentials import Credentials
from intake_bot.services.polling import Filing, Poller
from intake_bot.services.reading import Reader
from intake_bot.services.watching import Watcher

log = logging.getLogger(__name__)


@dataclass
class Mailboxes:
    """The watched mailboxes (`[[mailbox]]` in the settings), each polled with its own lease."""

    intake: Filing
    clock: Clock
    worker_id: str
    boxes: Sequence[MailboxSettings]
    open_source: Callable[[MailboxSettings], MailSource]  # not yet connected
    # Credentials refused for good stop a mailbox until they change (services/credentials).
    credentials: Credentials | None = None
    # Reads each batch ahead of filing (a pool of processes, kept from one poll to the next).
    reader: Reader | None = None
    # The fault each failing mailbox is in, as last logged; shared by the worker's jobs.
    _faults: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    # When (monotonic) each mailbox's last poll got through; gone while its polls fail.
    _worked_at: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    @property
    def names(self) -> list[str]:
        return [box.name for box in self.boxes]

    def box(self, name: str) -> MailboxSettings:
        for box in self.boxes:
            if box.name == name:
                return box
        raise KeyError(f"no mailbox named {name!r}")

    def poller(self, box: MailboxSettings, source: MailSource) -> Poller:
        return Poller(
            mailbox=source,
            intake=self.intake,
            clock=self.clock,
            watched_subject=box.subject,
            max_attempts=box.max_attempts,
            fetch_batch=box.fetch_batch,
            worker_id=self.worker_id,
            lease_ttl=timedelta(seconds=box.lease_seconds),
            default_office=box.default_office,
            reader=self.reader,
        )

    def poll(
        self,
        name: str,
        *,
        progress: Progress | None = None,
        stop: Callable[[], bool] = lambda: False,
    ) -> PollReport | None:
        """One poll of mailbox `name`; None when the mailbox failed (its fault is recorded).

        StoreUnavailableError (the database is down) is not the mailbox's fault: it propagates.
        """
        box = self.box(name)
        started = time.monotonic()
        held = self.credentials.stopped(name) if self.credentials else None
        if held is not None:  # no token requests until the operator changes the credentials
            log.debug("mailbox %s: still stopped: %s", name, held)
            return None
        try:
            source = self.open_source(box)
            try:
                report = self.poller(box, source).poll(progress=progress, stop=stop)
            finally:
                source.close()
        except (MailboxError, ConfigError) as exc:  # ConfigError: e.g. a password file gone
            if isinstance(exc, CredentialsError) and exc.permanent and self.credentials:
                self.credentials.refused(name, exc)  # says it, once: not said again below
                self._faults[name] = " ".join(str(exc).split())
            self._failed(name, exc, time.monotonic() - started)
            return None
        if not report.skipped:
            self._worked(name, report, time.monotonic() - started)
        return report

    def poll_all(
        self, *, progress: Progress | None = None, stop: Callable[[], bool] = lambda: False
    ) -> PollReport | None:
        """Every mailbox once, in order; their reports added up. None if none could be polled."""
        total: PollReport | None = None
        for name in self.names:
            if stop():
                break
            report = self.poll(name, progress=progress, stop=stop)
            if report is None:
                continue
            if total is None:
                total = report
            else:
                total.add(report)
        return total

    def pushes(self, name: str) -> bool:
        """Whether mailbox `name` can tell news as it comes (nothing is connected to find out)."""
        source = self.open_source(self.box(name))
        try:
            return source.push
        finally:
            source.close()

    def watch(self, name: str, *, on_news: Callable[[], None], stop: threading.Event) -> None:
        """Wait for news of mailbox `name` on a connection of its own, calling `on_news` on each,
        until `stop` is set (or at once, for a source without push). Faults are logged once."""
        box = self.box(name)
        Watcher(
            name,
            lambda: self.open_source(box),
            on_news,
            stop,
            polled_at=lambda: self._worked_at.get(name),
            # Refused credentials: no token requests from the watcher either, until they change.
            paused=lambda: bool(self.credentials and self.credentials.stopped(name)),
        ).run()

    def status(self) -> list[MailboxState]:
        """Every configured mailbox with its last poll, in the order of the settings."""
        with self.intake.store.unit() as unit:
            last = {s.mailbox: s for s in unit.polling.poll_status()}
        return [
            MailboxState(box.name, box.poll_interval_seconds, last.get(box.name))
            for box in self.boxes
        ]

    def _failed(self, name: str, exc: Exception, seconds: float) -> None:
        fault = " ".join(str(exc).split()) or type(exc).__name__  # one line
        self._worked_at.pop(name, None)
        if self._faults.get(name) != fault:
            log.warning("mailbox %s: %s", name, fault)
        else:
            log.debug("mailbox %s: still %s", name, fault)
        self._faults[name] = fault
        try:
            self._record(name, ok=False, detail=fault, seconds=seconds)
        except StoreUnavailableError as store_down:
            log.debug("mailbox %s: poll status not kept: %s", name, store_down)

    def _worked(self, name: str, report: PollReport, seconds: float) -> None:
        self._worked_at[name] = time.monotonic()
        if self._faults.pop(name, None) is not None:
            log.info("mailbox %s: working again", name)
        self._record(name, ok=True, detail=report.summary(), seconds=seconds)

    def _record(self, name: str, *, ok: bool, detail: str, seconds: float) -> None:
        with self.intake.store.unit() as unit:
            unit.polling.record_poll(name, self.clock(), ok, detail, round(seconds, 3))
