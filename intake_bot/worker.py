"""The recurring jobs (APScheduler). Each job is one use-case call that logs and carries on.

Every mailbox is its own job, on its own interval, so one that hangs or fails never delays
another; a thread each keeps them apart. A mailbox whose source can tell news as it comes (IMAP
IDLE) also has a watcher thread that polls it at once on news; the interval poll stays as the
safety net.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from intake_bot.application import Application
from intake_bot.config import ConfigError
from intake_bot.domain.outgoing import SendReport
from intake_bot.domain.polls import PollReport, Progress
from intake_bot.domain.reminders import ReminderReport
from intake_bot.domain.retention import RetentionReport
from intake_bot.domain.workflow_views import DigestReport
from intake_bot.mail.sources import check_sources
from intake_bot.ports import CredentialsError, StoreUnavailableError

log = logging.getLogger(__name__)

OTHER_JOBS = 6  # send, digests, reminders, credentials, retention, and one spare
OUTGOING = "outgoing"  # the outgoing server's name, where credentials are concerned
WATCHER_STOP_SECONDS = 60.0  # a watcher's poll in hand finishes its message, then it ends


@dataclass
class _Turn:
    """One mailbox's polls: one at a time, and a wish for another made while one runs."""

    wanted: threading.Event = field(default_factory=threading.Event)
    polling: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Worker:
    app: Application
    stopping: threading.Event = field(default_factory=threading.Event)
    _send_wanted: threading.Event = field(default_factory=threading.Event, init=False)
    _sending: threading.Lock = field(default_factory=threading.Lock, init=False)
    _send_fault: str = field(default="", init=False)  # as last logged
    _turns: dict[str, _Turn] = field(default_factory=dict, init=False)
    _turns_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def check(self) -> None:
        """Every mailbox can be built from the settings (nothing is connected). ConfigError."""
        check_sources(self.app.settings)

    def poll(self, progress: Progress | None = None) -> PollReport | None:
        """Every mailbox once; their reports added up. None if no mailbox could be polled.

        A failing mailbox is logged (once) and skipped; a database outage is retried next time.
        """
        try:
            return self.app.mailboxes.poll_all(progress=progress, stop=self.stopping.is_set)
        except StoreUnavailableError as exc:
            log.warning("poll failed, will retry: %s", exc)
            return None

    def poll_mailbox(self, name: str, progress: Progress | None = None) -> PollReport | None:
        """One poll of mailbox `name` (one scheduled job)."""
        try:
            report = self.app.mailboxes.poll(name, progress=progress, stop=self.stopping.is_set)
        except StoreUnavailableError as exc:
            log.warning("mailbox %s: poll failed, will retry: %s", name, exc)
            return None
        if report is not None and (report.examined or report.errors):
            log.info("mailbox %s: %s, %d replies queued", name, report.summary(), report.replies)
        return report

    def poll_soon(self, name: str) -> None:
        """Poll mailbox `name` now, then send what it queued, unless it is being polled: that
        poll then goes once more. The interval job and the watcher both come through here, so
        news is never lost to a poll that had already looked, and no two polls of a mailbox
        run side by side in this worker (the database lease keeps other workers out)."""
        with self._turns_lock:
            turn = self._turns.setdefault(name, _Turn())
        turn.wanted.set()
        # As in send_soon: the holder looks for a wish only after letting go.
        while (
            turn.wanted.is_set()
            and not self.stopping.is_set()
            and turn.polling.acquire(blocking=False)
        ):
            try:
                turn.wanted.clear()
                report = self.poll_mailbox(name)
                if report is not None and report.replies and not self.stopping.is_set():
                    self.send_soon()  # acknowledgements go out now, not at the next tick
            finally:
                turn.polling.release()

    def watch(self, name: str) -> None:
        """Poll mailbox `name` whenever its source tells news, until stopping (a thread's job)."""
        self.app.mailboxes.watch(name, on_news=lambda: self.poll_soon(name), stop=self.stopping)

    def send(self) -> SendReport | None:
        if self.app.credentials.stopped(OUTGOING) is not None:
            return None  # no token requests until the operator changes the credentials
        try:
            transport = self.app.open_transport()
            try:
                report = self.app.sender(transport).send_due()
            finally:
                transport.close()
        except StoreUnavailableError as exc:
            log.warning("send failed, will retry: %s", exc)
            return None
        except CredentialsError as exc:  # the outbox is untouched: no email lost an attempt
            if exc.permanent:
                self.app.credentials.refused(OUTGOING, exc)  # logged and alerted, once
            elif self._send_fault != str(exc):
                log.warning("send: no token, will retry: %s", exc)
            self._send_fault = str(exc)
            return None
        self._send_fault = ""
        if report.sent or report.deferred or report.failed:
            log.info(
                "send: %d sent, %d deferred, %d failed", report.sent, report.deferred, report.failed
            )
        return report

    def send_soon(self) -> None:
        """Send what is due now, unless another job is sending: that one then goes once more.

        Polls of several mailboxes may queue replies at once; none waits for the sender's next
        tick, and no two sends run side by side.
        """
        self._send_wanted.set()
        # A holder checks for wishes only after letting go, so none is lost between the two.
        while self._send_wanted.is_set() and self._sending.acquire(blocking=False):
            try:
                self._send_wanted.clear()
                self.send()
            finally:
                self._sending.release()

    def digests(self) -> DigestReport | None:
        """Today's staff digests; the database keeps it to one per office per day."""
        try:
            report = self.app.digests.send()
        except StoreUnavailableError as exc:
            log.warning("digests failed, not sent until the next scheduled run: %s", exc)
            return None
        log.info(
            "digests: %d queued, %d already sent today, %d with nothing open",
            len(report.sent),
            len(report.skipped_already_sent),
            len(report.skipped_empty),
        )
        return report

    def credentials(self) -> list[str] | None:
        """Warn of secrets and certificates that expire within 30 or 7 days (each once)."""
        try:
            return self.app.credentials.warn_expiring()
        except StoreUnavailableError as exc:
            log.warning("credential expiry check failed, will run again tomorrow: %s", exc)
            return None

    def reminders(self) -> ReminderReport | None:
        """Today's s251 reminders and staff alerts; the database keeps each to once."""
        try:
            return self.app.s251.send_reminders()
        except StoreUnavailableError as exc:
            # What was not sent stays due: the next run sends the most recent missed reminder.
            log.warning("s251 reminders failed, will catch up on the next run: %s", exc)
            return None

    def retention(self) -> RetentionReport | None:
        """Purge the raw mail that is due (the daily job); what is left waits for the next run."""
        try:
            report = self.app.retention.run()
        except StoreUnavailableError as exc:
            log.warning("retention failed, will run again at its next time: %s", exc)
            return None
        log.info(
            "retention: raw mail of %d message(s) purged, %d bytes",
            len(report.purged),
            report.bytes,
        )
        return report

    def run_once(
        self, progress: Progress | None = None
    ) -> tuple[PollReport | None, SendReport | None]:
        """Poll every mailbox once, then send what is due. ConfigError on a bad mailbox."""
        self.check()
        return self.poll(progress), self.send()

    def run_forever(self) -> None:
        """Poll and send on their intervals until SIGTERM/SIGINT, finishing the message in hand."""
        self.check()
        settings = self.app.settings
        pool = ThreadPoolExecutor(len(settings.mailboxes) + OTHER_JOBS)
        scheduler = BlockingScheduler(timezone=settings.timezone, executors={"default": pool})
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 300}

        intervals = {box.name: box.poll_interval_seconds for box in settings.mailboxes}

        def poll_then_wake_sender(name: str) -> None:
            try:
                self.poll_soon(name)
            finally:
                schedule_poll(name, intervals[name])

        def schedule_poll(name: str, after_seconds: int) -> None:
            # Each poll sets the next when it ends: one that hangs until its timeout never piles
            # up runs (nor logs a warning a tick), and one that starts late still runs.
            if self.stopping.is_set():
                return
            scheduler.add_job(
                poll_then_wake_sender,
                "date",
                run_date=_now() + timedelta(seconds=after_seconds),
                args=[name],
                id=f"poll:{name}",
                replace_existing=True,
                misfire_grace_time=None,
            )

        for name in intervals:
            schedule_poll(name, 0)
        scheduler.add_job(
            self.send_soon,
            "interval",
            seconds=settings.outgoing.send_interval_seconds,
            id="send",
            next_run_time=_now(),
            **common,
        )
        if settings.digest.enabled:
            scheduler.add_job(
                self.digests,
                _cron(settings.digest.cron, settings.timezone, "digest.cron"),
                id="digests",
                **common,
            )
        if settings.reminders.enabled:
            scheduler.add_job(
                self.reminders,
                _cron(settings.reminders.cron, settings.timezone, "reminders.cron"),
                id="reminders",
                # Also at start: a worker that was down at the cron time catches up today, and
                # the database keeps a restart from sending anything twice.
                next_run_time=_now(),
                **common,
            )
        scheduler.add_job(
            self.credentials,
            _cron(settings.reminders.cron, settings.timezone, "reminders.cron"),
            id="credentials",
            next_run_time=_now(),  # and at start
            **common,
        )
        if settings.retention.enabled:
            scheduler.add_job(
                self.retention,
                _cron(settings.retention.cron, settings.timezone, "retention.cron"),
                id="retention",
                **common,
            )

        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: stopping after the message in hand", signum)
            self.stopping.set()
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        watchers = [
            threading.Thread(target=self.watch, args=[name], name=f"watch:{name}", daemon=True)
            for name in intervals
            if self.app.mailboxes.pushes(name)
        ]
        for watcher in watchers:
            watcher.start()
        names = ", ".join(box.name for box in settings.mailboxes)
        log.info("worker %s started; mailboxes: %s", self.app.worker_id, names)
        scheduler.start()
        for watcher in watchers:
            watcher.join(WATCHER_STOP_SECONDS)
        log.info("worker stopped")


def _now() -> datetime:
    return datetime.now(UTC)


def _cron(expression: str, timezone: str, setting: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expression, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"{setting}: not a cron expression ({exc})") from exc
