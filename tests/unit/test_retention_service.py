"""Retention on the in-memory fakes: what is purged, what stays, and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime

from intake_bot.domain.records import Attachment, Event, InboundMessage
from intake_bot.services.retention import PURGED, Retention
from tests.fakes import FakeStore
from tests.retention_cases import seed

NOW = datetime(2020, 6, 1, 2, 30, tzinfo=UTC)


def _raw(store: FakeStore) -> dict[int | None, bytes]:
    return {m.id: m.raw for m in store.memory.all(InboundMessage)}


def test_purges_reviewed_holds_and_long_closed_requests_and_keeps_the_rest() -> None:
    store = FakeStore()
    cases = seed(store, NOW)

    report = Retention(store=store, clock=lambda: NOW).run()

    assert {p.inbound_id for p in report.purged} == set(cases.purge.values())
    raw = _raw(store)
    assert all(raw[i] == b"" for i in cases.purge.values())
    assert all(raw[i] != b"" for i in cases.keep.values())
    attachments = {a.inbound_id: a.data for a in store.memory.all(Attachment)}
    assert all(attachments[i] == b"" for i in cases.purge.values())
    assert all(attachments[i] == b"form" for i in cases.keep.values())
    assert len(store.memory.all(InboundMessage)) == len(cases.purge) + len(cases.keep)


def test_each_purge_is_an_audit_event_on_the_message_and_its_request() -> None:
    store = FakeStore()
    cases = seed(store, NOW)

    Retention(store=store, clock=lambda: NOW).run()

    events = [e for e in store.memory.all(Event) if e.action == PURGED]
    assert {e.inbound_id for e in events} == set(cases.purge.values())
    on_request = [e for e in events if e.request_id == cases.requests["closed_long_ago"]]
    assert len(on_request) == 2  # the filing message and the reply threaded onto it
    (hold,) = [e for e in events if e.inbound_id == cases.purge["hold_reviewed"]]
    assert hold.request_id is None and "patient data" in hold.note and "bytes" in hold.note


def test_a_dry_run_changes_nothing_and_a_second_run_finds_nothing() -> None:
    store = FakeStore()
    cases = seed(store, NOW)
    retention = Retention(store=store, clock=lambda: NOW)

    dry = retention.run(dry_run=True)
    assert {p.inbound_id for p in dry.purged} == set(cases.purge.values())
    assert all(raw for raw in _raw(store).values())
    assert not [e for e in store.memory.all(Event) if e.action == PURGED]

    assert retention.run().bytes == dry.bytes > 0
    assert retention.run().purged == ()


def test_the_period_is_the_setting() -> None:
    store = FakeStore()
    cases = seed(store, NOW, closed_days=30)

    report = Retention(store=store, clock=lambda: NOW, closed_days=30).run()

    assert {p.inbound_id for p in report.purged} == set(cases.purge.values())
    assert report.closed_before == datetime(2020, 5, 2, 2, 30, tzinfo=UTC)
