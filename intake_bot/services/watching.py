"""Watching a push source for news, so that a request is answered in seconds, not at the next poll.

The watcher keeps a source of its own (one connection that does nothing but wait) and calls
`on_news` whenever the source says so; the interval poll goes on regardless, as a safety net.
A dropped connection is opened again with back-off, its fault logged once per outage: as news
(INFO), since most faults also stop the polls, which warn of them; with a warning only when a
poll got through after the outage began and the watch still fails (a fault of its own: new mail
then waits for the interval poll).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from intake_bot.config import ConfigError
from intake_bot.ports import MailboxError, MailSource

log = logging.getLogger(__name__)

SLICE_SECONDS = 1.0  # how long one wait lasts: the stop flag is looked at in between
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0


@dataclass
class Watcher:
    """Waits for news of mailbox `name` until `stop` is set or the source turns out to have
    no push. `on_news` runs in the watcher's thread (the caller keeps polls from overlapping)."""

    name: str
    open_source: Callable[[], MailSource]  # a fresh, unconnected source
    on_news: Callable[[], None]
    stop: threading.Event
    slice_seconds: float = SLICE_SECONDS
    first_backoff: float = FIRST_BACKOFF_SECONDS
    max_backoff: float = MAX_BACKOFF_SECONDS
    # When (time.monotonic) the mailbox's last poll got through; None while its polls fail.
    polled_at: Callable[[], float | None] = lambda: None
    # True while the mailbox is stopped (refused credentials): no connection is tried.
    paused: Callable[[], bool] = lambda: False
    _backoff: float = field(default=0.0, init=False)
    _fault: str | None = field(default=None, init=False)  # the outage in progress, as logged
    _since: float = field(default=0.0, init=False)  # when it began
    _warned: bool = field(default=False, init=False)

    def run(self) -> None:
        """Until stopping; returns at once for a source without push."""
        self._backoff = self.first_backoff
        while not self.stop.is_set():
            if self.paused():
                if self.stop.wait(self.max_backoff):
                    return
                continue
            try:
                source = self.open_source()
                try:
                    if not self._watch(source):
                        return  # no push after all: the interval poll does it all
                finally:
                    source.close()
            except (MailboxError, ConfigError) as exc:  # ConfigError: e.g. a secret file gone
                self._failed(exc)
                if self.stop.wait(self._backoff):
                    return
                self._backoff = min(self._backoff * 2, self.max_backoff)

    def _watch(self, source: MailSource) -> bool:
        """Wait and tell news until stopping (True) or the source has no push (False).
        MailboxError when the connection fails."""
        while not self.stop.is_set():
            news = source.wait(self.slice_seconds)
            self._worked()
            if news:
                self._tell()
            elif not source.push:
                log.debug("mailbox %s: no push; watching ends", self.name)
                return False
        return True

    def _tell(self) -> None:
        try:
            self.on_news()
        except Exception:  # a poll's bug is not the connection's fault: keep watching
            log.exception("mailbox %s: the poll on news failed", self.name)

    def _failed(self, exc: Exception) -> None:
        fault = " ".join(str(exc).split()) or type(exc).__name__
        polled = self.polled_at()
        if self._fault is None:
            self._since = time.monotonic()
            log.info(
                "mailbox %s: watching for news failed (%s); trying again with back-off, "
                "polled on its interval meanwhile",
                self.name,
                fault,
            )
        elif not self._warned and polled is not None and polled > self._since:
            log.warning(
                "mailbox %s: its polls work but watching for news keeps failing (%s), so new "
                "mail waits for the interval poll: check that the server allows one more "
                "connection for this user",
                self.name,
                fault,
            )
            self._warned = True
        else:
            log.debug("mailbox %s: still cannot watch: %s", self.name, fault)
        self._fault = fault

    def _worked(self) -> None:
        """A wait went through: the outage (if any) is over and the next starts afresh."""
        self._backoff = self.first_backoff
        if self._fault is not None:
            self._fault, self._warned = None, False
            log.info("mailbox %s: watching for news again", self.name)
