"""The recurring jobs (APScheduler). Each job is one service call that logs and carries on."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from intake_bot.bootstrap import App
from intake_bot.config import ConfigError
from intake_bot.ports import MailboxError
from intake_bot.services.digests import DigestReport, send_digests
from intake_bot.services.polling import PollReport, Progress
from intake_bot.services.reminders import ReminderReport, send_reminders
from intake_bot.services.sending import SendReport
from intake_bot.store.store import StoreUnavailableError

log = logging.getLogger(__name__)


@dataclass
class Worker:
    app: App
    stopping: threading.Event = field(default_factory=threading.Event)

    def poll(self, progress: Progress | None = None) -> PollReport | None:
        """One poll of the mailbox; a mailbox or database outage is logged and retried next time."""
        try:
            mailbox = self.app.open_mailbox()
            try:
                report = self.app.poller(mailbox).poll(progress=progress, stop=self.stopping.is_set)
            finally:
                mailbox.close()
        except (MailboxError, StoreUnavailableError) as exc:
            log.warning("poll failed, will retry: %s", exc)
            return None
        if report.examined or report.errors:
            log.info(
                "poll: %d new, %d not ours, %s, %d replies queued, %d errors",
                report.examined,
                report.not_ours,
                report.outcomes or "nothing filed",
                report.replies,
                report.errors,
            )
        return report

    def send(self) -> SendReport | None:
        try:
            transport = self.app.open_transport()
            try:
                report = self.app.sender(transport).send_due()
            finally:
                transport.close()
        except StoreUnavailableError as exc:
            log.warning("send failed, will retry: %s", exc)
            return None
        if report.sent or report.deferred or report.failed:
            log.info(
                "send: %d sent, %d deferred, %d failed", report.sent, report.deferred, report.failed
            )
        return report

    def digests(self) -> DigestReport | None:
        """Today's staff digests; the database keeps it to one per office per day."""
        settings = self.app.settings
        try:
            report = send_digests(
                store=self.app.store,
                notifier=self.app.intake.notifier,
                offices=settings.dscro,
                now=self.app.clock(),
                tz=settings.timezone,
            )
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

    def reminders(self) -> ReminderReport | None:
        """Today's s251 reminders and staff alerts; the database keeps each to once."""
        settings = self.app.settings
        try:
            return send_reminders(
                store=self.app.store,
                notifier=self.app.intake.notifier,
                offices=settings.dscro,
                offsets=settings.reminders.offsets_days,
                now=self.app.clock(),
                tz=settings.timezone,
            )
        except StoreUnavailableError as exc:
            # What was not sent stays due: the next run sends the most recent missed reminder.
            log.warning("s251 reminders failed, will catch up on the next run: %s", exc)
            return None

    def run_once(
        self, progress: Progress | None = None
    ) -> tuple[PollReport | None, SendReport | None]:
        return self.poll(progress), self.send()

    def run_forever(self) -> None:
        """Poll and send on their intervals until SIGTERM/SIGINT, finishing the message in hand."""
        settings = self.app.settings
        scheduler = BlockingScheduler(timezone="Europe/London")
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 300}

        def poll_then_wake_sender() -> None:
            report = self.poll()
            if report is not None and report.replies and not self.stopping.is_set():
                # Acknowledgements go out now, not at the sender's next tick.
                scheduler.modify_job("send", next_run_time=_now())

        scheduler.add_job(
            poll_then_wake_sender,
            "interval",
            seconds=settings.mailbox.poll_interval_seconds,
            id="poll",
            next_run_time=_now(),
            **common,
        )
        scheduler.add_job(
            self.send,
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

        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: stopping after the message in hand", signum)
            self.stopping.set()
            threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        log.info("worker %s started", self.app.worker_id)
        scheduler.start()
        log.info("worker stopped")


def _now() -> datetime:
    return datetime.now(UTC)


def _cron(expression: str, timezone: str, setting: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expression, timezone=timezone)
    except ValueError as exc:
        raise ConfigError(f"{setting}: not a cron expression ({exc})") from exc
