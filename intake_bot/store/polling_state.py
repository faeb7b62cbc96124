"""Where each mailbox's poll stands (`ports.PollingRepository`): cursors, leases, attempts.

Cursors are kept as the mail source gave them: only the source reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from intake_bot.domain.polls import PollStatus
from intake_bot.ports import MessageRef
from intake_bot.store.mapping import fit
from intake_bot.store.tables import Lease, MailboxCursor, ProcessingAttempt

_DETAIL = 1000  # MailboxCursor.poll_detail
_ERROR = 2000


class SqlPolling:
    """The polling repository inside one unit of work (one transaction)."""

    def __init__(self, session: Session, is_postgres: bool) -> None:
        self.session = session
        self.is_postgres = is_postgres

    # -- cursors and poll status ----------------------------------------------------------------
    def cursor(self, mailbox: str) -> str | None:
        row = self.session.get(MailboxCursor, mailbox)
        return row.cursor if row else None

    def set_cursor(self, mailbox: str, cursor: str, now: datetime) -> None:
        row = self._state(mailbox, now)
        if row.cursor != cursor:
            row.cursor, row.updated_at = cursor, now

    def record_poll(
        self, mailbox: str, at: datetime, ok: bool, detail: str, seconds: float | None = None
    ) -> None:
        row = self._state(mailbox, at)
        row.poll_seconds = seconds
        if ok:
            row.failing_since = None
        elif row.poll_ok is not False or row.failing_since is None:
            row.failing_since = at
        row.polled_at, row.poll_ok, row.poll_detail = at, ok, fit(detail, _DETAIL)

    def poll_status(self) -> list[PollStatus]:
        rows = self.session.exec(
            select(MailboxCursor)
            .where(col(MailboxCursor.polled_at).is_not(None))
            .order_by(col(MailboxCursor.mailbox))
        )
        return [
            PollStatus(
                mailbox=row.mailbox,
                polled_at=row.polled_at,
                ok=bool(row.poll_ok),
                detail=row.poll_detail,
                failing_since=row.failing_since,
                seconds=row.poll_seconds,
            )
            for row in rows
            if row.polled_at is not None
        ]

    def _state(self, mailbox: str, now: datetime) -> MailboxCursor:
        row = self.session.get(MailboxCursor, mailbox)
        if row is None:
            row = MailboxCursor(mailbox=mailbox, updated_at=now)
            self.session.add(row)
        return row

    # -- leases ---------------------------------------------------------------------------------
    def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        row = self.session.get(Lease, name, with_for_update=self.is_postgres)
        if row is None:
            self.session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
            return True
        if row.holder != holder and row.expires_at > now:
            return False
        row.holder, row.expires_at = holder, now + ttl
        return True

    def release_lease(self, name: str, holder: str, now: datetime) -> None:
        # Expire, not delete: a kept row is locked FOR UPDATE by the next taker, whereas two
        # workers inserting a missing row at once would collide.
        row = self.session.get(Lease, name)
        if row is not None and row.holder == holder:
            row.expires_at = now

    # -- attempts at messages -------------------------------------------------------------------
    # A row is made when a message is first taken in hand (attempts 0: the marker a restart
    # ignores) and counts only the attempts that raised. Rows from before that rule counted
    # kills too and carry no error: they count as no failure.
    def start_batch(self, refs: Sequence[MessageRef], now: datetime) -> dict[MessageRef, int]:
        if not refs:
            return {}
        mailboxes = {ref.mailbox for ref in refs}
        if len(mailboxes) != 1:
            raise ValueError("a batch comes from one mailbox")
        by_key = {ref.key: ref for ref in refs}
        rows = self.session.exec(
            select(ProcessingAttempt).where(
                col(ProcessingAttempt.mailbox) == refs[0].mailbox,
                col(ProcessingAttempt.location).in_(list(by_key)),
            )
        ).all()
        known = {row.location: row for row in rows}
        for key, ref in by_key.items():
            if key not in known:
                self.session.add(
                    ProcessingAttempt(mailbox=ref.mailbox, location=key, attempts=0, updated_at=now)
                )
        return {
            by_key[row.location]: row.attempts for row in rows if row.attempts and row.last_error
        }

    def record_failure(self, ref: MessageRef, error: str, now: datetime) -> int:
        row = self.session.get(ProcessingAttempt, (ref.mailbox, ref.key))
        if row is None:
            row = ProcessingAttempt(
                mailbox=ref.mailbox, location=ref.key, attempts=0, updated_at=now
            )
            self.session.add(row)
        elif not row.last_error:
            row.attempts = 0  # a row from before kills stopped counting
        row.attempts += 1
        row.last_error = fit(error, _ERROR) or "error"
        row.updated_at = now
        return row.attempts

    def attempt_error(self, ref: MessageRef) -> str:
        row = self.session.get(ProcessingAttempt, (ref.mailbox, ref.key))
        return row.last_error if row else ""
