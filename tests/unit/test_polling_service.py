"""Polling on the in-memory fakes: a tiny mail source, the fake store and a real intake.

What is proved here holds for any mail source, because polling only sees the port: settling
after the commit, one settle a batch, the opaque cursor, poison messages, the lease, and
several mailboxes where one failing is logged once and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from functools import cache

import pytest

from intake_bot.config import MailboxSettings
from intake_bot.domain.records import InboundMessage, Request
from intake_bot.ports import (
    Candidate,
    Changes,
    MailboxError,
    MessageRef,
    Settlement,
)
from intake_bot.samples import DOCX, SUBJECT, docx_form, email, new_request
from intake_bot.services.intake import IngestResult, Intake
from intake_bot.services.mailboxes import Mailboxes
from intake_bot.services.polling import Poller
from tests.fakes import FakeStore
from tests.fakes.intake import Rig, make_rig


class FakeSource:
    """A mail source in memory. Keys are "1", "2"…; the cursor is the last key seen."""

    def __init__(self, name: str = "enquiries", *, cursors: bool = True) -> None:
        self.name = name
        self.cursors = cursors
        self.messages: dict[str, tuple[str, bytes]] = {}
        self.settled: dict[str, Settlement] = {}
        self.settle_calls: list[tuple[Settlement, list[str]]] = []
        self.cursors_given: list[str | None] = []
        self.fault: str | None = None
        self.on_settle: list[object] = []
        self.closed = 0

    def deliver(self, raw: bytes, subject: str = SUBJECT) -> str:
        key = str(len(self.messages) + 1)
        self.messages[key] = (subject, raw)
        return key

    def changes(self, cursor: str | None) -> Changes:
        self.cursors_given.append(cursor)
        if self.fault:
            raise MailboxError(self.fault)
        after = int(cursor) if cursor else 0
        new = [k for k in self.messages if int(k) > after and k not in self.settled]
        candidates = [
            Candidate(
                MessageRef(self.name, k),
                self.messages[k][0],
                len(self.messages[k][1]),
                cursor_after=k if self.cursors else None,
            )
            for k in new
        ]
        last = str(len(self.messages)) if self.cursors and self.messages else None
        return Changes(candidates, last)

    def fetch(self, refs: Sequence[MessageRef]) -> Iterator[tuple[MessageRef, bytes]]:
        for ref in refs:
            assert ref.mailbox == self.name
            yield ref, self.messages[ref.key][1]

    def settle(self, refs: Sequence[MessageRef], outcome: Settlement) -> None:
        for check in self.on_settle:
            check(refs, outcome)  # type: ignore[operator]
        self.settle_calls.append((outcome, [r.key for r in refs]))
        for ref in refs:
            self.settled[ref.key] = outcome

    push = False

    def wait(self, timeout: float) -> bool:
        return False

    def close(self) -> None:
        self.closed += 1


class CrashOn:
    """The intake, except that a message holding `marker` crashes it (a bug in a reader)."""

    def __init__(self, intake: Intake, marker: bytes) -> None:
        self.intake, self.marker = intake, marker
        self.store = intake.store

    def refresh_reference_data(self) -> None:
        self.intake.refresh_reference_data()

    def ingest(
        self,
        raw: bytes,
        ref: MessageRef,
        *,
        now: datetime | None = None,
        default_office: str | None = None,
    ) -> IngestResult:
        if self.marker in raw:
            raise RuntimeError("a bug in a reader")
        return self.intake.ingest(raw, ref, now=now)

    def quarantine(
        self, raw: bytes, ref: MessageRef, reason: str, *, now: datetime | None = None
    ) -> int | None:
        return self.intake.quarantine(raw, ref, reason, now=now)


@cache
def _form(i: int, sender: str = "aisha.khan@nhs.net") -> bytes:
    return email(sender=sender, attachments=[("f.docx", DOCX, docx_form(new_request(i)))])


def _poller(rig: Rig, source: FakeSource, **options: object) -> Poller:
    return Poller(
        mailbox=source,
        intake=options.pop("intake", rig.intake),  # type: ignore[arg-type]
        clock=rig.clock,
        watched_subject=SUBJECT,
        **options,  # type: ignore[arg-type]
    )


def _cursor(store: FakeStore, mailbox: str) -> str | None:
    with store.unit() as unit:
        return unit.polling.cursor(mailbox)


def test_a_poll_files_ours_settles_the_batch_once_and_leaves_the_rest() -> None:
    rig, source = make_rig(), FakeSource()
    for i in range(3):
        source.deliver(_form(i, sender=f"user{i}@nhs.net"))
    source.deliver(b"Subject: Team lunch\r\n\r\nPizza.\r\n", subject="Team lunch")

    report = _poller(rig, source).poll()

    assert (report.examined, report.not_ours, report.filed, report.errors) == (4, 1, 3, 0)
    assert len(rig.store.memory.all(Request)) == 3
    # Others first (left alone), then ours: one settle for the whole batch.
    assert source.settle_calls == [
        (Settlement.NOT_OURS, ["4"]),
        (Settlement.FILED, ["1", "2", "3"]),
    ]
    assert _cursor(rig.store, "enquiries") == "4"


def test_a_message_is_settled_only_after_it_was_committed() -> None:
    rig, source = make_rig(), FakeSource()
    for i in range(3):
        source.deliver(_form(i, sender=f"user{i}@nhs.net"))
    committed: list[list[str]] = []

    def in_the_store(refs: Sequence[MessageRef], outcome: Settlement) -> None:
        with rig.store.unit() as unit:
            committed.append([r.key for r in refs if unit.messages.find(r) is not None])

    source.on_settle.append(in_the_store)
    _poller(rig, source).poll()

    assert committed == [["1", "2", "3"]]


def test_the_cursor_is_handed_back_as_given_and_a_second_poll_finds_nothing() -> None:
    rig, source = make_rig(), FakeSource()
    source.deliver(_form(0))
    poller = _poller(rig, source)

    poller.poll()
    again = poller.poll()

    assert source.cursors_given == [None, "1"]
    assert again.examined == 0 and len(rig.store.memory.all(InboundMessage)) == 1


def test_a_source_without_a_cursor_keeps_its_own_state() -> None:
    rig, source = make_rig(), FakeSource(cursors=False)
    source.deliver(_form(0))

    _poller(rig, source).poll()

    assert _cursor(rig.store, "enquiries") is None
    assert source.settled == {"1": Settlement.FILED}


def test_a_replay_after_a_crash_files_nothing_twice_and_settles_again() -> None:
    rig, source = make_rig(), FakeSource()
    source.deliver(_form(0))
    _poller(rig, source).poll()
    source.settled.clear()  # as if the worker died between the commit and the settle
    with rig.store.unit() as unit:
        unit.polling.set_cursor("enquiries", "0", rig.clock())

    report = _poller(rig, source).poll()

    assert report.outcomes == {"duplicate": 1} and report.filed == 0
    assert source.settled == {"1": Settlement.FILED}
    assert len(rig.store.memory.all(Request)) == 1


def test_a_crashing_message_is_retried_then_quarantined_and_never_holds_up_the_others() -> None:
    rig, source = make_rig(), FakeSource()
    source.deliver(_form(9, sender="poison@nhs.net"))
    source.deliver(_form(1))
    poller = _poller(rig, source, intake=CrashOn(rig.intake, b"poison@nhs.net"), max_attempts=3)

    reports = [poller.poll() for _ in range(4)]

    assert [r.errors for r in reports] == [1, 1, 1, 0]
    assert reports[0].filed == 1  # the good one did not wait
    assert reports[-1].outcomes == {"quarantined": 1}
    assert source.settled == {"1": Settlement.QUARANTINED, "2": Settlement.FILED}
    # The cursor stayed before the poison until it was settled.
    assert _cursor(rig.store, "enquiries") == "2"
    (held,) = [m for m in rig.store.memory.all(InboundMessage) if m.outcome == "quarantined"]
    assert "RuntimeError" in held.note


class Killed(BaseException):
    """The process dying mid-message: nothing after it runs, not even `except Exception`."""


class KillOn(CrashOn):
    """The intake, except that the worker dies while `marker`'s message is in hand."""

    def ingest(
        self,
        raw: bytes,
        ref: MessageRef,
        *,
        now: datetime | None = None,
        default_office: str | None = None,
    ) -> IngestResult:
        if self.marker in raw:
            raise Killed
        return self.intake.ingest(raw, ref, now=now)


def test_a_worker_killed_mid_message_is_not_an_attempt_however_often() -> None:
    rig, source = make_rig(), FakeSource()
    for i in range(3):
        source.deliver(_form(i, sender=f"user{i}@nhs.net"))
    killer = _poller(rig, source, intake=KillOn(rig.intake, b"user1@nhs.net"), max_attempts=3)

    for _ in range(5):  # more kills than max_attempts, each with the whole batch in hand
        with pytest.raises(Killed):
            killer.poll()
        with rig.store.unit() as unit:  # a dead worker's lease lapses
            unit.polling.release_lease("poll:enquiries", "worker", rig.clock())
    report = _poller(rig, source, max_attempts=3).poll()

    assert report.outcomes == {"filed": 2, "duplicate": 1} and report.errors == 0
    assert set(source.settled.values()) == {Settlement.FILED}
    assert not [m for m in rig.store.memory.all(InboundMessage) if m.outcome == "quarantined"]


def test_kills_between_failures_do_not_add_to_them() -> None:
    rig, source = make_rig(), FakeSource()
    source.deliver(_form(9, sender="poison@nhs.net"))
    crash = _poller(rig, source, intake=CrashOn(rig.intake, b"poison@nhs.net"), max_attempts=3)
    kill = _poller(rig, source, intake=KillOn(rig.intake, b"poison@nhs.net"), max_attempts=3)

    crash.poll()
    for _ in range(4):
        with pytest.raises(Killed):
            kill.poll()
        with rig.store.unit() as unit:
            unit.polling.release_lease("poll:enquiries", "worker", rig.clock())
    reports = [crash.poll() for _ in range(3)]

    assert [r.errors for r in reports] == [1, 1, 0]  # two more raises, then quarantined
    assert reports[-1].outcomes == {"quarantined": 1}
    (held,) = [m for m in rig.store.memory.all(InboundMessage) if m.outcome == "quarantined"]
    assert "failed 3 times" in held.note and "RuntimeError" in held.note


def test_a_failed_message_holds_the_cursor_back_until_it_is_settled() -> None:
    rig, source = make_rig(), FakeSource()
    source.deliver(_form(1))
    source.deliver(_form(9, sender="poison@nhs.net"))
    source.deliver(_form(2))
    poller = _poller(rig, source, intake=CrashOn(rig.intake, b"poison@nhs.net"), fetch_batch=1)

    poller.poll()

    assert _cursor(rig.store, "enquiries") == "1"  # past the first, not past the poison


def test_a_mailbox_leased_by_another_worker_is_skipped() -> None:
    rig, source = make_rig(), FakeSource()
    source.deliver(_form(0))
    with rig.store.unit() as unit:
        unit.polling.take_lease("poll:enquiries", "other", rig.clock(), timedelta(minutes=2))

    report = _poller(rig, source, worker_id="me").poll()

    assert report.skipped and source.cursors_given == [] and source.settle_calls == []
    rig.clock.now += timedelta(minutes=3)  # the other worker died: its lease lapsed
    assert _poller(rig, source, worker_id="me").poll().filed == 1


def test_a_stop_request_settles_what_was_filed_and_ends_the_poll() -> None:
    rig, source = make_rig(), FakeSource()
    for i in range(4):
        source.deliver(_form(i, sender=f"user{i}@nhs.net"))
    seen: list[int] = []

    report = _poller(rig, source).poll(
        progress=lambda done, total: seen.append(done), stop=lambda: len(seen) >= 2
    )

    assert report.interrupted and report.filed == 2
    assert source.settle_calls == [(Settlement.FILED, ["1", "2"])]
    assert _cursor(rig.store, "enquiries") == "2"


# -- several mailboxes ------------------------------------------------------------------------


def _mailboxes(rig: Rig, sources: dict[str, FakeSource]) -> Mailboxes:
    return Mailboxes(
        intake=rig.intake,
        clock=rig.clock,
        worker_id="me",
        boxes=[MailboxSettings(name=name) for name in sources],
        open_source=lambda box: sources[box.name],
    )


def test_a_failing_mailbox_is_logged_once_and_never_stops_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = make_rig()
    broken, good = FakeSource("broken"), FakeSource("good")
    broken.fault = "scan failed on mail.example:993: LoginError: authentication failed"
    good.deliver(_form(0))
    mailboxes = _mailboxes(rig, {"broken": broken, "good": good})

    with caplog.at_level(logging.INFO, logger="intake_bot.services.mailboxes"):
        reports = [mailboxes.poll_all() for _ in range(3)]
        broken.fault = None
        mailboxes.poll_all()
        mailboxes.poll_all()

    assert reports[0] is not None and reports[0].filed == 1
    assert good.settled == {"1": Settlement.FILED}
    assert broken.closed == 5 and good.closed == 5  # opened and closed on every poll
    # Only the mailbox fault log: other loggers' levels depend on what ran before.
    messages = [r.getMessage() for r in caplog.records if r.name == "intake_bot.services.mailboxes"]
    assert messages == [
        "mailbox broken: scan failed on mail.example:993: LoginError: authentication failed",
        "mailbox broken: working again",
    ]


def test_status_names_the_failing_mailbox_with_its_fault_and_since_when() -> None:
    rig = make_rig()
    broken, good = FakeSource("broken"), FakeSource("good")
    broken.fault = "scan failed on mail.example:993: TimeoutError: timed out"
    mailboxes = _mailboxes(rig, {"good": good, "broken": broken, "never": FakeSource("never")})
    started = rig.clock()

    mailboxes.poll("good")
    mailboxes.poll("broken")
    rig.clock.now += timedelta(minutes=1)
    mailboxes.poll("broken")

    by_name = {s.name: s for s in mailboxes.status()}
    assert list(by_name) == ["good", "broken", "never"]  # the order of the settings
    assert by_name["good"].result == "ok: 0 new (none filed), 0 not ours"
    last = by_name["broken"].last
    assert last is not None and not last.ok
    assert last.detail == broken.fault and last.failing_since == started
    assert last.polled_at == started + timedelta(minutes=1)
    assert by_name["never"].last is None and by_name["never"].result == "not polled yet"


def test_poll_all_is_none_only_when_no_mailbox_could_be_polled() -> None:
    rig = make_rig()
    only = FakeSource("only")
    only.fault = "scan failed: [Errno 111] Connection refused"
    assert _mailboxes(rig, {"only": only}).poll_all() is None
