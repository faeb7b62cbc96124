"""Audit events are written together when the unit next needs them (direct_insert.LaterEvents):
on SQLite and PostgreSQL a query in the same unit sees them, a unit that rolls back leaves
none, and a filed email's events are one statement, in the order they were added."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, text

from intake_bot.bootstrap import App
from intake_bot.domain.records import Event
from intake_bot.mail.maildir import deliver
from intake_bot.samples import DOCX, docx_form, email, new_request
from intake_bot.store.store import Store
from intake_bot.worker import Worker
from tests.conftest import FrozenClock

pytestmark = pytest.mark.integration


def _store(app: App) -> Store:
    assert isinstance(app.store, Store)
    return app.store


@contextmanager
def _statements(app: App) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(" ".join(statement.split()))

    engine = _store(app).engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _event_rows(app: App) -> list[tuple[str, str]]:
    with _store(app).engine.connect() as conn:
        return [(a, n) for a, n in conn.execute(text("SELECT action, note FROM event ORDER BY id"))]


def test_a_query_in_the_unit_sees_the_events_it_added(app: App, clock: FrozenClock) -> None:
    with app.store.unit() as unit:
        for n in range(3):
            unit.add(Event(at=clock.now + timedelta(seconds=n), actor="t", action="a", note=f"{n}"))
        seen = unit.events.for_()
        assert [e.note for e in seen] == ["0", "1", "2"]
        ids = []
        for e in seen:
            assert e.id is not None  # flushed: the query read it back from the database
            ids.append(e.id)
        assert ids == sorted(ids)
        unit.add(Event(at=clock.now, actor="t", action="b", note="after the query"))
    assert _event_rows(app) == [("a", "0"), ("a", "1"), ("a", "2"), ("b", "after the query")]


def test_events_of_a_unit_that_rolls_back_are_not_written(app: App, clock: FrozenClock) -> None:
    with pytest.raises(RuntimeError), app.store.unit() as unit:
        unit.add(Event(at=clock.now, actor="t", action="a", note="lost with the unit"))
        unit.flush()
        raise RuntimeError("the unit fails")
    with pytest.raises(RuntimeError), app.store.unit() as unit:
        unit.add(Event(at=clock.now, actor="t", action="a", note="never written"))
        raise RuntimeError("the unit fails before anything is written")

    assert _event_rows(app) == []


def test_a_filed_emails_events_are_one_statement_in_order(app: App, tmp_path: Path) -> None:
    deliver(tmp_path / "mail", email(attachments=[("a.docx", DOCX, docx_form(new_request(1)))]))

    with _statements(app) as seen:
        Worker(app).poll()

    inserts = [s for s in seen if s.startswith("INSERT INTO event")]
    assert len(inserts) == 1
    assert [action for action, _ in _event_rows(app)] == ["received", "status"]
