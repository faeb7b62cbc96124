"""A relationship's history on the fakes: its versions, the events of every request that set it
up, changed or ended it, and the register's and review items' own events on it; never an event
that merely quotes its reference."""

from __future__ import annotations

from datetime import datetime

import pytest

from intake_bot.domain.records import Event, Request
from intake_bot.domain.register import RegisterError
from intake_bot.services.register.history import relationship_history
from tests.fakes import FakeStore
from tests.unit.test_register_service import NOW, approve, values


def _event(store: FakeStore, action: str, note: str, request_id: int | None = None) -> None:
    with store.unit() as unit:
        unit.add(Event(at=NOW, actor="jo", action=action, note=note, request_id=request_id))


def test_the_history_holds_every_request_that_changed_it_and_nothing_quoting_it() -> None:
    store = FakeStore()
    first = approve(store)
    other = approve(store, commissioner_ods="02V")
    approve(store, "end", existing_reference=first.reference, effective_date="2016-03-01")
    # a staff note on another relationship's request that quotes this one's reference
    _event(store, "status", f"see {first.reference}", request_id=2)
    _event(store, "register", f"{other.reference}: see {first.reference} too")
    _event(store, "ods_review", f"ODS-7 {first.reference}: carried over (see {other.reference})")

    found = relationship_history(store, first.reference.lower().replace("-", " "))
    assert found.reference == first.reference and [v.version for v in found.versions] == [1]
    notes = [(e.request, e.action, e.note) for e in found.events]
    assert any(r == "LR-000003" and "ended on" in n for r, a, n in notes)  # the end's request
    assert any(a == "ods_review" for _, a, _ in notes)
    assert not any("see" in n and a != "ods_review" for _, a, n in notes)
    assert all(r != "LR-000002" for r, _, _ in notes)
    # where they belong: on the relationship whose request or register event they are
    theirs = [e.note for e in relationship_history(store, other.reference).events]
    assert f"see {first.reference}" in theirs


def test_the_newest_events_are_shown_and_the_rest_counted() -> None:
    store = FakeStore()
    rel = approve(store)
    for n in range(30):
        _event(store, "register", f"{rel.reference} note {n}")
    found = relationship_history(store, rel.reference, limit=10)
    assert len(found.events) == 10 and found.earlier_events > 0
    assert found.events[-1].note == f"{rel.reference} note 29"


def test_an_unknown_or_malformed_reference_is_named() -> None:
    store = FakeStore()
    with pytest.raises(RegisterError, match="LCR-000009: no such relationship"):
        relationship_history(store, "LCR-000009")
    with pytest.raises(RegisterError, match="not a relationship reference"):
        relationship_history(store, "LCR-00000%")


def test_the_register_history_orders_events_by_time() -> None:
    store = FakeStore()
    rel = approve(store)
    with store.unit() as unit:
        unit.add(
            Event(
                at=datetime(2015, 1, 1, tzinfo=NOW.tzinfo),
                actor="x",
                action="register",
                note=f"{rel.reference} early",
            )
        )
    found = relationship_history(store, rel.reference)
    assert found.events[0].note == f"{rel.reference} early"


def test_a_request_naming_it_is_in_its_history_though_it_was_turned_down() -> None:
    store = FakeStore()
    rel = approve(store)
    with store.unit() as unit:
        turned_down = unit.add(
            Request(
                inbound_id=2,
                source="change.docx",
                status="rejected",
                queue="North/change",
                created_at=NOW,
                updated_at=NOW,
                request_type="change",
                values=values(request_type="change", existing_reference=rel.reference),
            )
        )
        unit.flush()
        unit.add(
            Event(
                at=NOW,
                actor="jo",
                action="status",
                request_id=turned_down.id,
                from_status="triaged",
                to_status="rejected",
                note="not signed",
            )
        )
    found = relationship_history(store, rel.reference)
    assert [(e.request, e.to_status) for e in found.events if e.note == "not signed"] == [
        ("LR-000002", "rejected")
    ]
