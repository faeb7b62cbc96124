"""Polls that read their batches in reader processes (`[limits] parse_workers` > 1).

Real processes (the pool of services/reading.py), a real intake on the in-memory store: the
same filed results as reading in process, in mailbox order; a reader process killed mid-batch
or hung costs only the message that killed it (an attempt, then quarantine), never a loss or a
second filing; a reader's error counts as an attempt as it does in process.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future
from dataclasses import replace
from functools import cache

import pytest

from intake_bot.domain.records import InboundMessage, Outbox, Request
from intake_bot.forms.limits import DEFAULT_LIMITS
from intake_bot.ports import Settlement
from intake_bot.samples import DOCX, XLSX, docx_form, email, new_request, xlsx_request
from intake_bot.services.classify import Contents
from intake_bot.services.reading import InProcess, Pooled, ReadOptions, reader
from tests.fakes.intake import Rig, make_rig
from tests.unit.test_polling_service import FakeSource, _poller


def crash_on_markers(options: ReadOptions, raw: bytes) -> Contents:
    """A reader process that dies on one sender, hangs on another, raises on a third."""
    if b"dies@nhs.net" in raw:
        os._exit(1)  # killed: the kernel's OOM killer, a crash in a C library
    if b"hangs@nhs.net" in raw:
        time.sleep(60)
    if b"bug@nhs.net" in raw:
        raise RuntimeError("a bug in a reader")
    return options.read(raw)


@cache
def _mail(i: int, sender: str) -> bytes:
    request = new_request(i)
    if i % 3 == 2:
        return email(sender=sender, attachments=[("r.xlsx", XLSX, xlsx_request(request))])
    return email(sender=sender, attachments=[("f.docx", DOCX, docx_form(request))])


def _mailbox(senders: list[str]) -> FakeSource:
    source = FakeSource()
    for i, sender in enumerate(senders):
        source.deliver(_mail(i, sender))
    return source


def _filed(rig: Rig) -> list[tuple[str, str, str]]:
    """(location, outcome, sender) of every archived message, in the order filed."""
    messages = sorted(rig.store.memory.all(InboundMessage), key=lambda m: m.id or 0)
    return [(m.location, m.outcome, m.from_addr) for m in messages]


def _pooled(work: object = None, **options: object) -> Pooled:
    pool = Pooled(2, **options)  # type: ignore[arg-type]
    if work is not None:
        pool.work = work  # type: ignore[assignment]
    return pool


def test_one_worker_reads_in_process_and_more_read_in_a_pool() -> None:
    assert isinstance(reader(1), InProcess)
    assert isinstance(reader(3), Pooled)
    assert isinstance(reader(0), Pooled if len(os.sched_getaffinity(0)) > 1 else InProcess)


def test_a_pool_files_what_reading_in_process_files_in_mailbox_order() -> None:
    senders = [f"user{i}@nhs.net" for i in range(12)]
    results = []
    for read_with in (None, InProcess(), _pooled()):
        rig = make_rig()
        report = _poller(rig, _mailbox(senders), reader=read_with, fetch_batch=5).poll()
        requests = sorted(rig.store.memory.all(Request), key=lambda r: r.id or 0)
        replies = sorted(rig.store.memory.all(Outbox), key=lambda o: o.id or 0)
        results.append(
            (
                report.outcomes,
                report.errors,
                _filed(rig),
                [(r.sender_email, r.status, r.queue, r.values) for r in requests],
                [(o.kind, o.recipients, o.subject) for o in replies],
            )
        )
        if isinstance(read_with, Pooled):
            read_with.close()
    assert results[0] == results[1] == results[2]
    assert [location for location, _, _ in results[2][2]] == [str(i) for i in range(1, 13)]
    assert results[2][0] == {"filed": 12}


class _BreaksAtOnce(Pooled):
    """A pool that, handed the email that kills its reader, waits until the pool is broken:
    the order a fast crash gives, made certain (the next hand-over then finds it broken)."""

    def submit(self, options: ReadOptions, raw: bytes) -> Future[Contents]:
        future = super().submit(options, raw)
        if b"dies@nhs.net" in raw:
            deadline = time.monotonic() + 20
            while not getattr(self._pool, "_broken", False) and time.monotonic() < deadline:
                time.sleep(0.01)
        return future


@pytest.mark.parametrize("pool_class", [Pooled, _BreaksAtOnce])
def test_a_reader_process_killed_mid_batch_costs_only_its_own_message(
    pool_class: type[Pooled],
) -> None:
    senders = ["a@nhs.net", "b@nhs.net", "dies@nhs.net", "c@nhs.net", "d@nhs.net"]
    rig, source = make_rig(), _mailbox(senders)
    pool = pool_class(2, work=crash_on_markers)
    poller = _poller(rig, source, reader=pool, max_attempts=2)
    try:
        first = poller.poll()
        assert first.errors == 1 and first.outcomes == {"filed": 4}
        assert [sender for _, _, sender in _filed(rig)] == [s for s in senders if "dies" not in s]
        assert "3" not in source.settled  # left in the mailbox for the next poll

        second = poller.poll()  # killed its reader again: a second attempt
        third = poller.poll()  # over max_attempts: quarantined for staff, not read again
    finally:
        pool.close()
    assert second.errors == 1 and third.outcomes == {"quarantined": 1}
    (held,) = [m for m in rig.store.memory.all(InboundMessage) if m.outcome == "quarantined"]
    assert held.location == "3" and "ReaderDiedError" in held.note
    assert source.settled["3"] is Settlement.QUARANTINED
    assert len(rig.store.memory.all(Request)) == 4  # nothing filed twice
    assert len({m.location for m in rig.store.memory.all(InboundMessage)}) == 5


def test_a_reader_that_hangs_is_killed_and_counted_as_an_attempt() -> None:
    limits = replace(DEFAULT_LIMITS, message_seconds=0.5)
    rig, source = make_rig(), _mailbox(["a@nhs.net", "hangs@nhs.net", "b@nhs.net"])
    pool = _pooled(crash_on_markers, limits=limits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("intake_bot.services.reading.GRACE_SECONDS", 0.5)
        try:
            report = _poller(rig, source, reader=pool).poll()
        finally:
            pool.close()
    assert report.errors == 1 and report.outcomes == {"filed": 2}
    assert sorted(source.settled) == ["1", "3"]


def test_a_reader_error_in_a_pool_counts_as_an_attempt_as_in_process() -> None:
    senders = ["a@nhs.net", "bug@nhs.net", "b@nhs.net"]
    rig, source, pool = make_rig(), _mailbox(senders), _pooled(crash_on_markers)
    poller = _poller(rig, source, reader=pool, max_attempts=1)
    try:
        first = poller.poll()
        second = poller.poll()
    finally:
        pool.close()
    assert first.errors == 1 and first.outcomes == {"filed": 2}
    assert second.outcomes == {"quarantined": 1}
    (held,) = [m for m in rig.store.memory.all(InboundMessage) if m.outcome == "quarantined"]
    assert "RuntimeError" in held.note


def test_a_stopped_poll_leaves_the_rest_of_a_read_batch_unfiled() -> None:
    rig, source, pool = make_rig(), _mailbox([f"u{i}@nhs.net" for i in range(6)]), _pooled()
    done: list[int] = []
    try:
        report = _poller(rig, source, reader=pool).poll(
            progress=lambda n, total: done.append(n), stop=lambda: len(done) >= 2
        )
        rest = _poller(rig, source, reader=pool).poll()
    finally:
        pool.close()
    assert report.interrupted and report.filed == 2
    assert rest.filed == 4 and len(rig.store.memory.all(Request)) == 6
